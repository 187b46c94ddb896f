"""Render every kiosk screen in every configured language to PNG files (offscreen).

    paths = render_all(config, "out/", sizes=[(1920, 1080), (1280, 800)])
    python -m kiosk.screenshots          # the repository's set (IN_REPO) into kiosk/screenshots/

The admin screen is drawn from a throw-away database of a simulated week with a few alerts,
through the real query path; nothing is written to the station's own DB.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

from kiosk.dashboard import PERIODS
from kiosk.open_items import count_open_items
from kiosk.service import build
from station.alerts import evaluate_targets
from station.simulate import simulate
from station.store import Presence, Response, Store, Visit

# The admin screenshot shows a simulated week: "today" alone would be nearly empty just after
# midnight, and a week fills every chart whatever the hour the screenshot is taken.
SAMPLE_PERIOD = "7d"
SAMPLE_RESPONSES = 700
SAMPLE_VISITS = 4000
REPO = Path(__file__).resolve().parents[1]
SIZES = ((1920, 1080), (1280, 800))
EVERY = {(lang, size) for lang in ("en", "vi") for size in SIZES}
# What kiosk/screenshots/ holds (the README shows some): scene -> (language, size) pairs.
IN_REPO = {
    "attract": EVERY, "admin-goals": EVERY, "admin-alerts": EVERY,
    "score": {("vi", (1920, 1080))}, "admin": {("en", (1920, 1080))},
    "followup-keyboard": {("vi", (1280, 800))}, "thanks-promoter": {("vi", (1280, 800))},
}


def _sample_store(config, folder: Path, now: float | None = None):
    """A throw-away DB of a simulated week (the same simulator as `cx-station simulate`), with
    healthy camera and sync, so the dashboard has something to show."""
    db = folder / "screenshot.db"
    config = dataclasses.replace(config, database=dataclasses.replace(config.database, path=db))
    now = time.time() if now is None else now
    store = Store.open(config)
    try:
        simulate(store, config, responses=SAMPLE_RESPONSES, visits=SAMPLE_VISITS,
                 days=PERIODS[SAMPLE_PERIOD] + 1, seed=7, now=now)
        store.put_health("vision", {"fps": 9.8, "last_frame": now - 2}, ts=now)
        _sample_alerts(store, config, now)
        store.mark_acked(store.outbox_status()["last_seq"], at=now - 3)
    finally:
        store.close()
    return config


def _sample_alerts(store, config, now: float) -> None:
    """Besides the simulated detractors' alert: the KPI rule's verdict on the sample, and one
    of each kind of trouble cx-watch reports (station/watch/rules.py), with their own words of
    context; one acknowledged and one resolved by the manager, with their notes."""
    evaluate_targets(store, config, now)
    # the newest detractor, who stood at the kiosk for 95 s: what a manager reads before going
    # to talk to them
    zone = config.vision.kiosk_zone
    visit = Visit(entered_at=now - 1500, left_at=now - 300, dwell={zone: 95.0},
                  age_bracket="35-44", gender="female")
    store.append_visits([visit])
    store.update_presence([Presence(visit.id, zone, now - 515, now - 420)])
    reasons = [r.id for r in config.kiosk.reasons.detractor[:2]]
    store.append_response(Response(nps=3, reasons=reasons, language="vi", ts=now - 420,
                                   comment="Chờ thanh toán gần 15 phút"))
    store.raise_alert("disk_low", "critical", "disk", {
        "free_mb": 412.0, "min_free_mb": 500.0, "path": "/var/lib/cx-station"}, at=now - 240)
    for minutes in (95, 60, 35):
        store.raise_alert("sync_stalled", "warning", config.sync.hq_name, {
            "backlog": 1840, "last_acked_at": now - 100 * 60,
            "oldest_waiting_age_s": minutes * 60.0}, at=now - (minutes - 30) * 60)
    stalled = store.alerts("open", limit=50)
    store.acknowledge_alert(next(a.id for a in stalled if a.kind == "sync_stalled"),
                            note="Internet provider called, fixing the line", who="admin",
                            at=now - 20 * 60)
    camera = store.raise_alert("camera_no_frame", "critical", "camera", {
        "seconds_without_frame": 340.0, "last_frame": now - 26 * 3600 - 340, "status": "reopening",
        "reopens": 3}, at=now - 26 * 3600)
    store.close_alert(camera, note="Camera cable plugged back in", who="admin",
                      at=now - 25 * 3600)


def render_all(config, out_dir, sizes=((1920, 1080),), keep=None) -> list[Path]:
    """Every scene at each size in each language; `keep(name, lang, (w, h))` picks some."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance()
    paths = []
    with tempfile.TemporaryDirectory() as tmp:
        config = _sample_store(config, Path(tmp))
        for width, height in sizes:
            window, writer = build(config)
            window.apply_scale(width, height)
            window.resize(width, height)
            window.show()
            for lang in config.kiosk.languages:
                window.set_language(lang)
                for name, setup in _scenes(window):
                    if keep is not None and not keep(name, lang, (width, height)):
                        continue
                    setup()
                    app.processEvents()
                    # pyqtgraph widens an axis for longer tick labels while painting: paint
                    # once, let it lay out again, then take the picture.
                    window.grab()
                    app.processEvents()
                    path = out / f"{name}-{lang}-{width}x{height}.png"
                    window.grab().save(str(path))
                    paths.append(path)
            window.close()
            writer.close()
    return paths


def _scenes(w):
    """(name, how to get there) for every screen; the survey ones use a sample group."""
    from kiosk.survey import Survey

    def survey(score, screen, group=None):
        def go():
            w.survey = Survey(w.kiosk, w.lang)
            w.survey.answer_score(score)
            if screen == "followup":
                w.screens["followup"].start(w.survey.group)
                w.screens["followup"].chips.clear()
            if screen == "thanks":
                w.screens["thanks"].start(group, w.lang)
            w.show_screen(screen)
        return go

    def keyboard():
        survey(3, "followup")()
        w.screens["followup"].keyboard.show()

    def admin():
        w.survey = None
        w.screens["admin"].retranslate(w.lang)
        w.show_screen("admin")
        w.screens["admin"].set_period(SAMPLE_PERIOD)

    def attract():
        # counted here and now: the kiosk's own count arrives from a thread, maybe too late
        w.survey = None
        w.show_screen("attract")
        w.screens["attract"].set_open_items(count_open_items(w.writer.store))

    def goals():
        admin()
        w.screens["admin"].show_goals()
        panel = w.screens["admin"].goals
        while panel.reading_now:                # the trends are read on a worker thread
            QApplication.instance().processEvents()
            time.sleep(0.01)

    def goal_editor():
        goals()
        w.screens["admin"].goals.edit("nps")

    def alerts():
        admin()
        w.screens["admin"].show_alerts()
        panel = w.screens["admin"].alerts
        while panel.reading_now:                # read on a worker thread
            QApplication.instance().processEvents()
            time.sleep(0.01)
        # the detractor's alert, the one with the most to say
        panel.select(next(a.id for a in panel.alerts if a.kind == "detractor"))

    return [
        ("attract", attract),
        ("score", survey(8, "score")),
        ("followup-detractor", survey(3, "followup")),
        ("followup-keyboard", keyboard),
        ("followup-promoter", survey(10, "followup")),
        ("csat", survey(8, "csat")),
        ("ces", survey(8, "ces")),
        ("thanks-promoter", survey(10, "thanks", "promoter")),
        ("thanks-detractor", survey(2, "thanks", "detractor")),
        ("unavailable", lambda: w.show_screen("unavailable")),
        ("pin", lambda: (w.screens["pin"].start(w.lang), w.show_screen("pin"))),
        ("admin", admin),
        ("admin-goals", goals),
        ("admin-goal-editor", goal_editor),
        ("admin-alerts", alerts),
    ]


def main(argv: list[str] | None = None) -> int:
    """Regenerate the repository's screenshots (IN_REPO) from the demo config."""
    from kiosk import service

    parser = argparse.ArgumentParser(prog="python -m kiosk.screenshots",
                                     description=main.__doc__)
    parser.add_argument("--config", default=str(REPO / "config" / "demo.toml"))
    parser.add_argument("--out", default=str(REPO / "kiosk" / "screenshots"))
    args = parser.parse_args(argv)
    started = service.start(args.config, offscreen=True)
    if started is None:
        return 2
    config, _app = started
    for path in render_all(config, args.out, SIZES,
                           keep=lambda name, lang, size: (lang, size) in IN_REPO.get(name, ())):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
