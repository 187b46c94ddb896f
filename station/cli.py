"""`cx-station`: run the station, check its config, report KPIs, simulate data, diagnose."""
from __future__ import annotations

import argparse
import json
import logging
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from station.config import ConfigError, load_config
from station.period import add_period_arguments, parse_when

EXIT_CONFIG = 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cx-station", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="start every service of the station and supervise them")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--for", dest="duration", type=float, default=None, metavar="SECONDS",
                   help="stop by itself after this long (tests, demos)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("config", help="config file tools")
    csub = p.add_subparsers(dest="config_command", required=True)
    c = csub.add_parser("check", help="validate a station config file")
    c.add_argument("file", type=Path)
    c.set_defaults(func=cmd_config_check)
    c = csub.add_parser("cameras", help="print the id of each camera, one a line (install.sh "
                                        "enables a cx-vision@ID service per camera)")
    c.add_argument("file", type=Path)
    c.set_defaults(func=cmd_config_cameras)

    p = sub.add_parser("handcount", help="check the people counter against a hand count "
                                         "(a clicker at the entrance) and correct it")
    hsub = p.add_subparsers(dest="handcount_command", required=True)
    c = hsub.add_parser("add", help="store a hand count of entries for a past period")
    c.add_argument("--config", required=True, type=Path)
    c.add_argument("--start", required=True, help="local date and time, e.g. 2026-11-01T10:00")
    c.add_argument("--end", required=True, help="local date and time, e.g. 2026-11-01T11:00")
    c.add_argument("--count", required=True, type=int, help="entries counted by hand")
    c.add_argument("--who", default=None, help="who counted (kept with the check)")
    c.set_defaults(func=cmd_handcount_add)
    c = hsub.add_parser("list", help="every check: hand count, camera count, errors, factor")
    c.add_argument("--config", required=True, type=Path)
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.set_defaults(func=cmd_handcount_list)
    c = hsub.add_parser("remove", help="take back a hand count entered by mistake")
    c.add_argument("--config", required=True, type=Path)
    c.add_argument("id")
    c.set_defaults(func=cmd_handcount_remove)
    c = hsub.add_parser("correction", help="apply the factor to entries, participation and "
                                           "conversion (on), or show the camera's own (off)")
    c.add_argument("state", choices=("on", "off"))
    c.add_argument("--config", required=True, type=Path)
    c.add_argument("--who", default=None)
    c.set_defaults(func=cmd_handcount_correction)

    p = sub.add_parser("report", help="KPI report for a period")
    p.add_argument("--config", required=True, type=Path)
    add_period_arguments(p)             # default: the 30 days up to now
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("alerts", help="the station's unresolved alerts (detractors, KPIs "
                                       "below target, camera, sync, disk, database, kiosk)")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--evaluate", action="store_true",
                   help="check every KPI against its target first (raise or resolve its alert); "
                        "a timer or a service runs this every few minutes")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_alerts)

    p = sub.add_parser("pos", help="point-of-sale counts: the numerator of conversion")
    psub = p.add_subparsers(dest="pos_command", required=True)
    c = psub.add_parser("import", help="import a POS CSV export (hour or timestamp, "
                                       "transactions, optional revenue); re-importing the same "
                                       "hours replaces them")
    c.add_argument("file", type=Path)
    c.add_argument("--config", required=True, type=Path)
    c.set_defaults(func=cmd_pos_import)

    p = sub.add_parser("simulate", help="write realistic synthetic data through the store API")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--responses", type=int, required=True)
    p.add_argument("--visits", type=int, default=0)
    p.add_argument("--days", type=float, default=14)
    p.add_argument("--seed", type=int, default=None)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("doctor", help="check config, database, models, broker and camera")
    p.add_argument("--config", type=Path, default=Path("/etc/cx-station/station.toml"))
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("prune", help="apply the retention policy: drop old raw vision rows "
                                      "and outbox rows HQ has acknowledged")
    p.add_argument("--config", required=True, type=Path)
    p.set_defaults(func=cmd_prune)

    p = sub.add_parser("pin-hash", help="hash an admin PIN for [kiosk] admin_pin_hash")
    p.add_argument("--pin", help="the PIN (default: ask without echo)")
    p.set_defaults(func=cmd_pin_hash)

    from station import weights
    weights.add_cli(sub)          # `cx-station models fetch | verify`

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        return args.func(args) or 0
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG


def cmd_config_check(args) -> int:
    config = load_config(args.file)
    print(f"{args.file}: OK (station {config.station.path}, database {config.database.path})")
    return 0


def cmd_config_cameras(args) -> int:
    for camera in load_config(args.file).vision.cameras:
        print(camera.id)
    return 0


def cmd_handcount_add(args) -> int:
    config = load_config(args.config)
    start, end = (_parse_time(getattr(args, key), key, config) for key in ("start", "end"))
    store = _open_store(config)
    try:
        store.add_hand_count(start, end, args.count, who=args.who)
    except ValueError as exc:
        print(f"cx-station handcount add: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return _print_calibration(store, config, as_json=False)


def cmd_handcount_list(args) -> int:
    config = load_config(args.config)
    return _print_calibration(_open_store(config), config, args.json)


def cmd_handcount_remove(args) -> int:
    from station.store import StoreError
    store = _open_store(load_config(args.config))
    try:
        store.remove_hand_count(args.id)
    except StoreError as exc:
        print(f"cx-station handcount remove: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_handcount_correction(args) -> int:
    config = load_config(args.config)
    store = _open_store(config)
    store.set_count_correction(args.state == "on", who=args.who)
    return _print_calibration(store, config, as_json=False)


def _parse_time(text: str, key: str, config) -> float:
    try:
        return parse_when(text, config.tz)
    except ValueError as exc:
        raise ConfigError(f"--{key}", str(exc)) from None


def _print_calibration(store, config, as_json: bool) -> int:
    from station.handcount import calibration, render_checks
    cal = calibration(store)
    if as_json:
        print(json.dumps(cal.as_dict()))
    else:
        print(render_checks(cal, config.tz))
    return 0


def _open_store(config):
    from station.store import Store, StoreError
    try:
        return Store.open(config)
    except StoreError as exc:
        print(f"database error: {exc}", file=sys.stderr)
        raise SystemExit(1)


def _parse_period(args, config, now: float) -> tuple[float, float]:
    """(since, until) of --since/--until; default the 30 days up to now."""
    bounds = {}
    for name, end in (("since", False), ("until", True)):
        try:
            bounds[name] = parse_when(getattr(args, name), config.tz, end=end)
        except ValueError as exc:
            raise ConfigError(f"--{name}", str(exc)) from None
    until = now if bounds["until"] is None else bounds["until"]
    since = until - 30 * 86400 if bounds["since"] is None else bounds["since"]
    return since, until


def cmd_report(args) -> int:
    from station.report import build_report, render_text
    config = load_config(args.config)
    now = time.time()
    since, until = _parse_period(args, config, now)
    if since >= until:
        raise ConfigError("--since", "must be before --until")
    store = _open_store(config)
    report = build_report(store, config, since, until)
    print(json.dumps(report, ensure_ascii=False) if args.json else render_text(report))
    return 0


def cmd_alerts(args) -> int:
    from station.alerts import evaluate_targets
    from station.report import alert_lines, unresolved_alerts
    config = load_config(args.config)
    store = _open_store(config)
    below = evaluate_targets(store, config, time.time()) if args.evaluate else None
    alerts = unresolved_alerts(store, config)
    if args.json:
        print(json.dumps({"below_target": below, "alerts": alerts}, ensure_ascii=False))
    else:
        if below is not None:
            print(f"below target: {', '.join(below) or 'none'}")
        print("\n".join(alert_lines(alerts)) if alerts else "no unresolved alerts")
    return 0


def cmd_pos_import(args) -> int:
    from station.pos import PosFileError, read_pos_csv
    config = load_config(args.config)
    try:
        hours = read_pos_csv(args.file, config.tz)
    except PosFileError as exc:
        print(f"POS file refused, nothing imported: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    store = _open_store(config)
    counts = store.import_pos(hours, source=args.file.name)
    print(f"imported {args.file}: {len(hours)} hours ({counts['new']} new, "
          f"{counts['replaced']} replaced, {counts['unchanged']} unchanged)")
    return 0


def cmd_simulate(args) -> int:
    from station.simulate import simulate
    config = load_config(args.config)
    if args.responses < 0 or args.visits < 0 or args.days <= 0:
        raise ConfigError("simulate", "--responses and --visits must be >= 0 and --days > 0")
    store = _open_store(config)
    store.apply_config_targets(config.targets.targets())
    result = simulate(store, config, responses=args.responses, visits=args.visits,
                      days=args.days, seed=args.seed)
    from station.alerts import evaluate_targets
    below = evaluate_targets(store, config, time.time())
    print(f"simulated {result['responses']} responses, {result['visits']} visits, "
          f"{result['cases']} detractor cases ({result['cases_resolved']} resolved), "
          f"{result['pos_hours']} hours of POS counts, {result['complaints']} complaints, "
          f"{result['occupancy_minutes']} minutes of occupancy "
          f"into {config.database.path}" +
          (f"; below target: {', '.join(below)}" if below else ""))
    return 0


def cmd_prune(args) -> int:
    config = load_config(args.config)
    store = _open_store(config)
    r = config.retention
    counts = store.prune(time.time(), raw_vision_days=r.raw_vision_days,
                         acked_outbox_days=r.acked_outbox_days, rollup_days=r.rollup_days,
                         comment_days=r.comment_days,
                         complaint_contact_days=r.complaint_contact_days)
    print("pruned " + ", ".join(f"{n} {table}" for table, n in counts.items()))
    return 0


def cmd_pin_hash(args) -> int:
    import getpass
    from station.pin import hash_pin
    pin = args.pin or getpass.getpass("Admin PIN (4-12 digits): ")
    try:
        print(hash_pin(pin))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    return 0


def cmd_doctor(args) -> int:
    from station.doctor import run_checks
    results = run_checks(args.config)
    width = max(len(name) for name, _, _ in results)
    for name, ok, reason in results:
        print(f"{'OK  ' if ok else 'FAIL'} {name:<{width}}  {reason}")
    return 0 if all(ok for _, ok, _ in results) else 1


def cmd_run(args) -> int:
    from station.status import StatusLine
    from station.supervisor import PortTaken, Supervisor, plan_services
    config = load_config(args.config)
    logging.getLogger().setLevel(config.logging.level)
    try:
        services, notes = plan_services(config, args.config.resolve())
    except PortTaken as exc:
        print(f"cx-station: {exc}", file=sys.stderr)
        return 1
    store = _open_store(config)       # migrate once, before the services open it
    for kpi in store.apply_config_targets(config.targets.targets()):
        print(f"note: target on {kpi} set from the config")
    for note in notes:
        print(f"note: {note}")
    if config.vision.enabled:
        camera_note = describe_camera(config)
        if camera_note:
            print(f"note: {camera_note}")
    stop = {"flag": False}

    def on_signal(signum, frame):
        stop["flag"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    deadline = time.monotonic() + args.duration if args.duration else None
    status = StatusLine(store, config)
    supervisor = Supervisor(services, log=lambda m: print(f"\n[cx-station] {m}", flush=True))
    print(f"CX Station {config.station.path}: starting {', '.join(s.name for s in services)}; "
          f"Ctrl-C stops everything.", flush=True)
    supervisor.run(lambda: stop["flag"] or (deadline is not None and time.monotonic() > deadline),
                   tick=status.tick)
    print()
    _final_report(store, config, args.config)
    return 0


def describe_camera(config) -> str:
    """Why a camera counts nothing, one clause per such camera ('' when every one can)."""
    how = ("set its source ([vision] camera, or source in [[vision.cameras]]) to a device "
           "index (\"0\"), an RTSP/HTTP URL (\"rtsp://user@camera/stream\") or a video file path")
    problems = []
    for camera in config.vision.cameras:
        if camera.kind == "none":
            problems.append(f"camera {camera.id!r} has no camera or video configured, so it "
                            f"counts nothing")
        elif camera.kind == "file" and not Path(camera.source).exists():
            problems.append(f"the video file {camera.source} of camera {camera.id!r} does not "
                            f"exist, so it counts nothing")
    return "; ".join(problems) + f"; {how}" if problems else ""


def _final_report(store, config, config_path: Path) -> None:
    from station.report import build_report, render_text
    now = time.time()
    start_of_day = datetime.fromtimestamp(now, config.tz).replace(hour=0, minute=0, second=0,
                                                                  microsecond=0)
    since = min(start_of_day.timestamp(), (datetime.fromtimestamp(now, config.tz) -
                                           timedelta(days=30)).timestamp())
    print(render_text(build_report(store, config, since, now)))
    if config.hq.enabled:
        # HQ is its own package with its own config: ask it, do not import it.
        result = subprocess.run([sys.executable, "-m", "hq", "report", "--config",
                                 str(config.hq.config)], capture_output=True, text=True)
        said = result.stderr.strip()
        if result.returncode == 0:
            print(f"\nHQ report: {said.rsplit(' -> ', 1)[-1]}")
        else:
            print(f"\nHQ report could not be written: {said[-300:]}")


if __name__ == "__main__":
    sys.exit(main())
