"""Render every kiosk screen in every configured language to PNG files (offscreen).

    paths = render_all(config, "out/", sizes=[(1920, 1080), (1280, 800)])

The admin screen is drawn from a throw-away database of a simulated week, through the real
query path; nothing is written to the station's own DB.
"""
from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

from kiosk.dashboard import PERIODS
from kiosk.open_items import count_open_items
from kiosk.service import build
from station.simulate import simulate
from station.store import Store

# The admin screenshot shows a simulated week: "today" alone would be nearly empty just after
# midnight, and a week fills every chart whatever the hour the screenshot is taken.
SAMPLE_PERIOD = "7d"
SAMPLE_RESPONSES = 700
SAMPLE_VISITS = 4000


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
        store.mark_acked(store.outbox_status()["last_seq"], at=now - 3)
    finally:
        store.close()
    return config


def render_all(config, out_dir, sizes=((1920, 1080),)) -> list[Path]:
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
    ]
