"""Kiosk latency on a big database with every alert rule on: press -> committed row, admin
refresh time, RSS, what each alert rule costs, and the Goals page's read.

    python bench/tap_latency.py --compare --json      # 1 M responses, 200 surveys (+200 baseline)
    python bench/tap_latency.py --responses 20000 --surveys 50 --json

Fills a station DB (kept at --db, reused when it already holds that many responses) with
responses spread over --days days through the store's own `append_response`, one
transaction per 10 k rows, the detractor rule on (so the detractor alert counts them); HQ
is taken to have acknowledged that history, and the outbox keeps a week of acknowledged
events as a running station does ([retention] acked_outbox_days). Then a kiosk window runs
surveys driven by a tapping thread that posts real mouse press/release events, while a
dashboard window (same process, own connection, reads on its worker thread, draws on the GUI
thread) refreshes every --admin-refresh-s, and the real cx-watch service runs as a process of
its own on the same DB (`python -m station.watch run`) with every rule on: the config is
config/demo.toml with its paths made absolute, a target on every KPI, [alerts] interval_s and
kpi_every_s short (1 s and 10 s by default, against 5 s and 300 s in a store) and the local
hook on (`true`); it is written beside the DB (<db>.toml; cx-watch's log: <db>.watch.log).
--compare also runs as many surveys without cx-watch, in blocks alternating with it, so the
baseline shares the box's load; --no-watch runs the surveys without it.

A button fires on release, so latency runs from posting the release of the final answer (the
tap that completes the survey) to the store having committed the row: it includes any wait
behind the dashboard's drawing, like a real touch would. Debounce and cool-down are set to 0
so the thread can tap fast; they are not on the commit path.

Before the taps, the Goals page's read (build_trends as kiosk/goals.py calls it) on this DB
and on one of --goals-small responses over --goals-small-days days (`goals_read_ms`). After
them, Watcher.check timed in this process on the big DB with every rule due at each check
(`alerts.rule_ms`; `alerts.service_rule_ms` is what the running cx-watch wrote in its health
row at its checks during the taps) and the detractor rule's own cost inside append_response
(on against off, interleaved, each rolled back: `alerts.detractor_rule_us_per_event`).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEvent, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from tqdm import tqdm  # noqa: E402

from station.config import load_config  # noqa: E402
from station.kpi import percentile  # noqa: E402
from station import events  # noqa: E402
from station.store import Response, Store  # noqa: E402
from station.store.records import new_id  # noqa: E402
from station.targets import TARGET_KPIS  # noqa: E402
from station.trends import build_trends  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BATCH = 10_000


def fill(config, n: int, days: float, seed: int = 1) -> float:
    """Append `n` responses spread over the last `days` days; returns seconds taken."""
    store = Store.open(config)
    have = store.table_counts()["responses"]
    if have >= n:
        store.close()
        return 0.0
    rng = random.Random(seed)
    weights = [2, 1, 1, 1, 2, 3, 5, 9, 14, 18, 20]
    reasons = {g: [r.id for r in getattr(config.kiosk.reasons, g)]
               for g in ("detractor", "passive", "promoter")}
    now, start = time.time(), time.perf_counter()
    with tqdm(total=n - have, desc="filling", unit="resp", file=sys.stderr) as bar:
        while have < n:
            with store.transaction():
                for _ in range(min(BATCH, n - have)):
                    score = rng.choices(range(11), weights)[0]
                    group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
                    store.append_response(Response(
                        nps=score, csat=rng.randint(1, 5), ces=rng.randint(1, 7),
                        reasons=rng.sample(reasons[group], k=min(1, len(reasons[group]))),
                        language=rng.choice(["vi", "en"]), complete=rng.random() > 0.1,
                        ts=now - 60 - rng.random() * days * 86400))
                    have += 1
            bar.update(BATCH)
    last_seq = store.outbox_status()["last_seq"]
    store.mark_acked(last_seq)
    store.prune(now=time.time() + 1, raw_vision_days=3650, acked_outbox_days=0,
                rollup_days=36500)
    store.close()
    return time.perf_counter() - start


def keep_acked_outbox(config, rows: int, chunk: int = 20_000) -> int:
    """A running station keeps what HQ acknowledged for [retention] acked_outbox_days before
    pruning it (SyncStalled reads the outbox): top the outbox up to `rows` acknowledged
    response events (fill's own were pruned at once: they were all written just now)."""
    store = Store.open(config)
    try:
        have = store.db.execute("SELECT count(*) FROM outbox WHERE acked_at IS NOT NULL"
                                ).fetchone()[0]
        data = events.Response(response_id=new_id(), nps=9, csat=None, ces=None,
                               reasons=("staff",), comment=None, language="vi", complete=True,
                               presence="unknown", visit_id=None).to_data()
        for i in range(have, rows, chunk):
            store.append_raw_events("response", [data] * min(chunk, rows - i),
                                    ts=time.time() - 3600)
        if have < rows:
            store.mark_acked(store.outbox_status()["last_seq"])
        return max(have, rows)
    finally:
        store.close()


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)          # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def _toml(table: dict, prefix: str = "") -> str:
    """The TOML subset a station config uses: scalars, lists, tables, arrays of tables."""
    lines, tail = [], []
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            tail.append(f"\n[{name}]\n" + _toml(value, name))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            tail += [f"\n[[{name}]]\n" + _toml(v, name) for v in value]
        else:
            lines.append(f"{key} = {_toml_value(value)}\n")
    return "".join(lines) + "".join(tail)


def bench_config(demo: Path, db: Path, out: Path, interval_s: float,
                 kpi_every_s: float) -> Path:
    """`demo` with its paths made absolute, the database at `db`, every alert rule on with
    short periods ([alerts] interval_s, kpi_every_s) and the local hook on (`true`), a target
    on every KPI (so the KPI rule judges them all) and the kiosk's debounce and cool-down at 0
    (the tapping thread is fast). cx-watch reads the same file, so the bench and the service
    agree."""
    raw = tomllib.loads(demo.read_text(encoding="utf-8"))
    typed = load_config(demo)
    for section, values in raw.items():          # relative paths were relative to `demo`
        if isinstance(values, dict):
            for key in values:
                if (section, key) == ("vision", "camera"):    # the single-camera form
                    values[key] = typed.vision.camera("main").source
                    continue
                resolved = getattr(getattr(typed, section, None), key, None)
                if isinstance(resolved, Path):
                    values[key] = str(resolved)
    raw["database"]["path"] = str(db)
    raw["kiosk"].update(csat=False, ces=False, first_visit=False, debounce_ms=0, cooldown_s=0.0)
    targets = raw.setdefault("targets", {})
    for kpi, spec in TARGET_KPIS.items():
        targets.setdefault(kpi, {"value": (spec.low + spec.high) / 2})
    raw["alerts"] = {**raw.get("alerts", {}), "enabled": True, "detractor": True, "kpi": True,
                     "interval_s": interval_s, "kpi_every_s": kpi_every_s,
                     "command": ["true"]}      # the local hook runs too, a no-op script
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(f"# written by bench/tap_latency.py from {demo}\n" + _toml(raw),
                   encoding="utf-8")
    return out


def _size(n: int) -> str:
    return f"{n // 10**6}M" if n % 10**6 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def timed_ms(work) -> float:
    start = time.perf_counter()
    work()
    return (time.perf_counter() - start) * 1000


def spread(values_ms: list[float]) -> dict:
    return {"median": round(statistics.median(values_ms), 2),
            "p99": round(percentile(values_ms, 99), 2), "max": round(max(values_ms), 2),
            "n": len(values_ms)}


def goals_read(config, repeats: int = 3) -> dict:
    """The Goals page's read (kiosk/goals.py: build_trends with its default days and weeks) on
    a connection of its own, like its StoreReader: the first read, then the median."""
    store = Store.open(config)
    try:
        n = store.table_counts()["responses"]
        times = [timed_ms(lambda: build_trends(store, config, time.time()))
                 for _ in range(repeats)]
    finally:
        store.close()
    return {"responses": n, "first_ms": round(times[0], 1),
            "median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


class WatchService:
    """The real cx-watch as a subprocess on the bench config, and a thread that reads its
    health row (rewritten at every check) to count its checks and what each rule cost."""

    def __init__(self, config_path: Path, config, log_path: Path):
        self.config = config
        self.log = open(log_path, "a", encoding="utf-8")
        self.started_at = time.time()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "station.watch", "run", "--config", str(config_path)],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        self.checks: dict[float, dict] = {}       # checked_at -> rules_ms
        self.first: float | None = None           # the first check (KPIs cold): not counted
        self.counting = threading.Event()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._poll, name="watch-health", daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        store = Store.open(self.config)
        try:
            while not self.stopped.wait(0.2):
                row = store.health().get("watch")
                if not row or row.get("checked_at", 0) < self.started_at:
                    continue
                if self.first is None:
                    self.first = row["checked_at"]
                elif self.counting.is_set() and row["checked_at"] != self.first:
                    self.checks.setdefault(row["checked_at"], row.get("rules_ms", {}))
        finally:
            store.close()

    def wait_first_check(self, timeout: float = 300.0) -> None:
        end = time.monotonic() + timeout
        while self.first is None:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cx-watch exited with {self.proc.returncode}; see "
                                   f"{self.log.name}")
            if time.monotonic() > end:
                raise TimeoutError(f"cx-watch made no check in {timeout:.0f} s")
            time.sleep(0.1)

    def stop(self) -> int:
        self.counting.clear()
        self.stopped.set()
        self.thread.join()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.log.close()
        return rc

    @staticmethod
    def rules_ms(services: list["WatchService"]) -> dict:
        """ms per rule over every check the services made while counting."""
        per_rule: dict[str, list[float]] = {}
        for service in services:
            for rules in service.checks.values():
                for kind, ms in rules.items():
                    per_rule.setdefault(kind, []).append(ms)
        return {kind: spread(v) for kind, v in sorted(per_rule.items())}


def watcher_costs(config, checks: int) -> dict:
    """Watcher.check in this process on the big DB, every rule forced due at each check (the
    KPI rule too): ms per rule."""
    from station.watch import Watcher
    store = Store.open(config)
    try:
        watcher = Watcher(config, store)
        per_rule: dict[str, list[float]] = {}
        for _ in range(checks):
            watcher.due.clear()
            watcher.last_kpi_check = float("-inf")
            for kind, seconds in watcher.check(time.time()).items():
                per_rule.setdefault(kind, []).append(seconds * 1000)
        rules_on = [rule.kind for rule in watcher.rules]
    finally:
        store.close()
    return {"rules_on": rules_on, "rule_ms": {k: spread(v) for k, v in per_rule.items()}}


class _Rollback(Exception):
    pass


def detractor_rule_cost(config, n: int) -> dict:
    """append_response of a detractor with the detractor rule on and off, interleaved, each in
    a transaction rolled back (so the DB and the alert stay as they were): the rule's own work
    per event, without the commit (whose fsync costs the same either way). One real detractor
    is committed first, so the open detractor alert was sent to HQ just now and a repeat is
    counted on it (the common case; a resend to HQ comes at most every 15 min)."""
    reasons = [r.id for r in config.kiosk.reasons.detractor][:1]
    store = Store.open(config)
    try:
        store.detractor_alerts = True
        store.append_response(Response(nps=3, reasons=reasons, language="en", ts=time.time()))
        on, off = [], []
        for i in range(n):
            for flag in ((True, False) if i % 2 else (False, True)):
                store.detractor_alerts = flag
                response = Response(nps=i % 7, reasons=reasons, language="en", ts=time.time())
                try:
                    with store.transaction():
                        start = time.perf_counter()
                        store.append_response(response)
                        (on if flag else off).append((time.perf_counter() - start) * 1e6)
                        raise _Rollback
                except _Rollback:
                    pass
    finally:
        store.close()
    return {"n": n, "on_median_us": round(statistics.median(on), 1),
            "off_median_us": round(statistics.median(off), 1),
            "on_mean_us": round(statistics.fmean(on), 1),
            "off_mean_us": round(statistics.fmean(off), 1),
            "extra_us": round(statistics.median(on) - statistics.median(off), 1)}


def tap_event(kind, widget, stamp_ms):
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    event = QMouseEvent(kind, pos, widget.mapToGlobal(pos), Qt.LeftButton,
                        Qt.LeftButton if kind == QEvent.MouseButtonPress else Qt.NoButton,
                        Qt.NoModifier)
    event.setTimestamp(stamp_ms)
    return event


class Tapper(threading.Thread):
    """A shopper's finger on another thread: posts taps; the GUI thread handles them."""

    def __init__(self, window, surveys: int, seed: int = 2):
        super().__init__(daemon=True)
        self.window, self.surveys, self.rng = window, surveys, random.Random(seed)
        self.committed = threading.Event()
        self.latencies_ms: list[float] = []     # finger lifted (release posted) -> commit
        self.handled_ms: list[float] = []       # release handled by the kiosk -> commit
        self.t0 = 0.0
        self.stamp = int(time.monotonic() * 1000)
        window.committed.connect(self.on_committed)

    def on_committed(self, response, case_id):
        now = time.perf_counter()
        self.latencies_ms.append((now - self.t0) * 1000)
        self.handled_ms.append((now - self.window.last_release_at) * 1000)
        self.committed.set()

    def tap(self, widget, timed: bool = False) -> None:
        """Press, hold like a finger does (the button paints its pressed look), release.

        A button fires on release, so a timed tap starts the clock when the release is
        posted; the hold time is the shopper's, not the kiosk's.
        """
        self.stamp += 1
        QApplication.postEvent(widget, tap_event(QEvent.MouseButtonPress, widget, self.stamp))
        time.sleep(self.rng.uniform(0.03, 0.08))
        self.stamp += 1
        if timed:
            self.committed.clear()
            self.t0 = time.perf_counter()
        QApplication.postEvent(widget, tap_event(QEvent.MouseButtonRelease, widget, self.stamp))

    def wait_for(self, screen: str, timeout: float = 10.0) -> None:
        end = time.monotonic() + timeout
        while self.window.current != screen:
            if time.monotonic() > end:
                raise TimeoutError(f"kiosk never showed {screen!r} (on {self.window.current!r})")
            time.sleep(0.001)

    def run(self) -> None:
        s = self.window.screens
        for _ in range(self.surveys):
            self.wait_for("attract")
            self.tap(s["attract"])
            self.wait_for("score")
            self.tap(s["score"].scale.buttons[self.rng.randint(0, 10)])
            self.wait_for("followup")
            time.sleep(self.rng.uniform(0, 0.05))       # land at a random moment
            self.tap(s["followup"].next, timed=True)   # the last question: commits
            if not self.committed.wait(30):
                raise TimeoutError("no commit within 30 s")
            self.wait_for("thanks")
            self.tap(s["thanks"])


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "config" / "demo.toml"))
    parser.add_argument("--db", default=str(ROOT / "var" / "bench" / "kiosk-1m.db"),
                        help="database to fill and use (reused when big enough)")
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=90.0,
                        help="spread the responses over this many days before now")
    parser.add_argument("--surveys", type=int, default=200, help="timed surveys")
    parser.add_argument("--admin-refresh-s", type=float, default=1.0,
                        help="dashboard auto-refresh period during the taps; 0 = no dashboard")
    parser.add_argument("--refreshes", type=int, default=5, help="timed refreshes per period")
    parser.add_argument("--no-watch", action="store_true",
                        help="no cx-watch during the taps (the baseline)")
    parser.add_argument("--compare", action="store_true",
                        help="also --surveys without cx-watch, in blocks alternating with it")
    parser.add_argument("--block", type=int, default=50, help="surveys per --compare block")
    parser.add_argument("--watch-interval-s", type=float, default=1.0,
                        help="cx-watch's [alerts] interval_s during the taps")
    parser.add_argument("--kpi-every-s", type=float, default=10.0,
                        help="cx-watch's [alerts] kpi_every_s during the taps (at least 10)")
    parser.add_argument("--watch-checks", type=int, default=10,
                        help="Watcher.check calls timed in-process after the taps, every rule due")
    parser.add_argument("--detractor-events", type=int, default=2000,
                        help="detractor answers timed with the detractor rule on, and off")
    parser.add_argument("--goals-small", type=int, default=100_000,
                        help="also time the Goals page's read on a DB of this many responses "
                             "(kept beside --db) when --responses is more; 0 = not")
    parser.add_argument("--goals-small-days", type=float, default=60.0)
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    parser.add_argument("--fill-only", action="store_true", help="only fill --db, then exit")
    args = parser.parse_args(argv)
    if args.compare and args.no_watch:
        parser.error("--compare runs blocks with and without cx-watch; leave out --no-watch")

    db = Path(args.db).resolve()
    config_path = bench_config(Path(args.config).resolve(), db, db.with_suffix(".toml"),
                               args.watch_interval_s, args.kpi_every_s)
    config = load_config(config_path)
    fill_s = fill(config, args.responses, args.days)
    acked_outbox = keep_acked_outbox(config, round(
        args.responses * config.retention.acked_outbox_days / args.days))
    if args.fill_only:
        print(f"filled {args.db} in {fill_s:.0f} s")
        return 0
    goals = {_size(args.responses): {"days": args.days, **goals_read(config)}}
    if 0 < args.goals_small < args.responses:
        small_db = db.with_name(f"goals-{_size(args.goals_small)}.db")
        small = load_config(bench_config(Path(args.config).resolve(), small_db,
                                         small_db.with_suffix(".toml"), args.watch_interval_s,
                                         args.kpi_every_s))
        fill(small, args.goals_small, args.goals_small_days)
        goals[_size(args.goals_small)] = {"days": args.goals_small_days, **goals_read(small)}

    app = QApplication.instance() or QApplication([])
    from kiosk.admin import AdminScreen
    from kiosk.i18n import Strings
    from kiosk.service import build
    from kiosk.writer import ResponseWriter

    window, writer = build(config)
    window.resize(1280, 800)
    window.show()
    admin_writer = ResponseWriter(lambda: Store.open(config))
    admin = AdminScreen(config, Strings.load(config.kiosk.languages), admin_writer)
    admin.resize(1280, 800)
    admin.retranslate(config.kiosk.default_language)
    admin.show()
    app.processEvents()

    admin.period = "30d"
    start = time.perf_counter()
    assert admin.refresh()                      # nothing cached yet: every day is read
    app.processEvents()
    cold_ms = (time.perf_counter() - start) * 1000
    cold_queries = {k: round(v, 1) for k, v in admin.figures.timings_ms.items()}
    refresh = {"cold_30d_ms": round(cold_ms, 1), "cold_30d_queries_ms": cold_queries}
    for period in ("today", "7d", "30d"):
        admin.period = period
        times, queries = [], {}
        for _ in range(args.refreshes):
            start = time.perf_counter()
            assert admin.refresh()
            app.processEvents()
            times.append((time.perf_counter() - start) * 1000)
            for k, v in admin.figures.timings_ms.items():
                queries[k] = max(queries.get(k, 0), v)
        refresh[period] = {"median_ms": round(statistics.median(times), 1),
                           "max_ms": round(max(times), 1), "n": admin.figures.nps.n,
                           "slowest_queries_ms": dict(sorted(
                               ((k, round(v, 1)) for k, v in queries.items()),
                               key=lambda kv: -kv[1])[:4])}
    admin.period = "30d"
    if args.admin_refresh_s > 0:
        admin.auto_refresh.setInterval(int(args.admin_refresh_s * 1000))
        admin.auto_refresh.start()
    else:
        admin.hide()                             # baseline: no dashboard open
    rss_before = rss_mb()

    # Blocks of surveys with cx-watch running; with --compare, alternating with blocks
    # without it (the baseline, same run, same box load).
    blocks = max(1, args.surveys // args.block) if args.compare else 1
    plan = [(flag, args.surveys // blocks + (i < args.surveys % blocks))
            for i in range(blocks) for flag in (False, True)] if args.compare \
        else [(not args.no_watch, args.surveys)]
    taps = {True: [], False: []}               # with cx-watch -> tappers
    watches: list[WatchService] = []
    for i, (with_watch, n) in enumerate(plan):
        watch = None
        if with_watch:
            watch = WatchService(config_path, config, db.with_suffix(".watch.log"))
            watch.wait_first_check()
            watch.counting.set()
            watches.append(watch)
        tapper = Tapper(window, n, seed=2 + i)
        tapper.start()
        while tapper.is_alive():
            app.processEvents()
            time.sleep(0.0005)
        tapper.join()
        window.committed.disconnect(tapper.on_committed)
        watch_rc = watch.stop() if watch else None
        if watch_rc:
            print(f"cx-watch exited with {watch_rc}; see {watch.log.name}", file=sys.stderr)
            return 1
        taps[with_watch].append(tapper)
    main_taps = taps[not args.no_watch]
    lat = [ms for t in main_taps for ms in t.latencies_ms]
    handled = [ms for t in main_taps for ms in t.handled_ms]
    if len(lat) != args.surveys:
        print(f"only {len(lat)} of {args.surveys} surveys committed", file=sys.stderr)
        return 1
    check = Store.open(config)
    total = check.table_counts()["responses"]
    check.close()
    result = {
        "bench": "kiosk_tap_latency",
        "responses_in_db": total, "days": args.days, "fill_s": round(fill_s, 1),
        "acked_outbox_rows": acked_outbox,
        "surveys": len(lat),
        "press_to_commit_ms": {"p50": round(percentile(lat, 50), 2),
                               "p99": round(percentile(lat, 99), 2),
                               "max": round(max(lat), 2)},
        "handled_press_to_commit_ms": {"p50": round(percentile(handled, 50), 2),
                                       "p99": round(percentile(handled, 99), 2),
                                       "max": round(max(handled), 2)},
        "watch_running": not args.no_watch,
        "admin_auto_refresh_s": args.admin_refresh_s,
        "admin_refresh_ms": refresh,
        "rss_mb": {"after_admin_open": round(rss_before, 1), "end": round(rss_mb(), 1)},
        "cpus": os.cpu_count(),
    }
    if taps[False] and not args.no_watch:
        base = [ms for t in taps[False] for ms in t.latencies_ms]
        result["baseline_press_to_commit_ms"] = {
            "watch_running": False, "n": len(base), "p50": round(percentile(base, 50), 2),
            "p99": round(percentile(base, 99), 2), "max": round(max(base), 2)}
    admin.auto_refresh.stop()
    admin.close_connections()
    writer.close()
    admin_writer.close()
    costs = watcher_costs(config, args.watch_checks)
    kpi_ms = costs["rule_ms"].get("kpi_below_target")
    result["alerts"] = {
        "watch_running_during_taps": bool(watches),
        "rules_on": costs["rules_on"] + ["kpi_below_target", "detractor"],
        "watch_interval_s": args.watch_interval_s, "kpi_every_s": args.kpi_every_s,
        "watch_checks": sum(len(w.checks) for w in watches),
        "service_rule_ms": WatchService.rules_ms(watches),
        "rule_ms": costs["rule_ms"],
        "kpi_rule_ms": kpi_ms,
        "detractor_rule_us_per_event": detractor_rule_cost(config, args.detractor_events),
    }
    result["goals_read_ms"] = goals
    print(f"responses in DB: {total:,} over {args.days:g} days (fill {fill_s:.0f} s)")
    print(f"tap (release) -> commit: p50 {result['press_to_commit_ms']['p50']} ms, "
          f"p99 {result['press_to_commit_ms']['p99']} ms, max {result['press_to_commit_ms']['max']} ms "
          f"over {len(lat)} surveys (target p99 <= 20 ms), "
          + ("cx-watch running, " if not args.no_watch else "no cx-watch, ")
          + (f"dashboard open, refreshing every {args.admin_refresh_s:g} s"
             if args.admin_refresh_s > 0 else "no dashboard open"))
    if "baseline_press_to_commit_ms" in result:
        b = result["baseline_press_to_commit_ms"]
        print(f"  baseline without cx-watch, same run, alternating blocks of {args.block}: "
              f"p50 {b['p50']} ms, p99 {b['p99']} ms, max {b['max']} ms over {b['n']} surveys")
    h = result["handled_press_to_commit_ms"]
    print(f"  from the kiosk handling the release -> commit: p50 {h['p50']} ms, p99 {h['p99']} ms, "
          f"max {h['max']} ms (the rest is waiting for the GUI thread)")
    print(f"admin first open, 30 days, nothing cached: {refresh['cold_30d_ms']} ms "
          f"({refresh['cold_30d_queries_ms']})")
    for period in ("today", "7d", "30d"):
        r = refresh[period]
        print(f"admin refresh {period:>5}: median {r['median_ms']} ms, max {r['max_ms']} ms "
              f"(n = {r['n']:,}; slowest: {r['slowest_queries_ms']}) (target <= 300 ms)")
    print(f"kiosk RSS: {result['rss_mb']['end']} MB")
    a = result["alerts"]
    print(("cx-watch ran during the taps" if watches else "cx-watch NOT running during the taps")
          + f": {a['watch_checks']} checks (every {args.watch_interval_s:g} s, KPIs every "
          f"{args.kpi_every_s:g} s); rules on: {', '.join(a['rules_on'])}")
    for kind, r in a["service_rule_ms"].items():
        print(f"  cx-watch {kind:>18}: median {r['median']} ms, p99 {r['p99']} ms, "
              f"max {r['max']} ms (n = {r['n']})")
    print(f"Watcher.check in-process, every rule due, {args.watch_checks} checks:")
    for kind, r in a["rule_ms"].items():
        print(f"  {kind:>18}: median {r['median']} ms, p99 {r['p99']} ms, max {r['max']} ms")
    d = a["detractor_rule_us_per_event"]
    print(f"detractor rule in append_response: +{d['extra_us']} us per detractor answer "
          f"(median {d['on_median_us']} us on vs {d['off_median_us']} us off, n = {d['n']} "
          f"each, rolled back, without the commit)")
    for size, g in goals.items():
        print(f"Goals page read (build_trends) at {g['responses']:,} responses: first "
              f"{g['first_ms']} ms, median {g['median_ms']} ms (design goal ~2 s at 100 k)")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
