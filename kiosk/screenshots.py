"""Render every kiosk screen in every configured language to PNG files (offscreen).

    paths = render_all(config, "out/", sizes=[(1920, 1080), (1280, 800)])

Uses a throw-away copy of the database when the configured one has no data, so the admin
screen is drawn with the real query path; nothing is written to the station's own DB.
"""
from __future__ import annotations

import dataclasses
import random
import tempfile
import time
from datetime import datetime
from pathlib import Path

from PySide6.QtWidgets import QApplication

from station.store import AGE_BRACKETS, Response, Store, Visit


def _sample_store(config, folder: Path, now: float | None = None):
    """A small DB with responses, cases and visits so the dashboard has something to show."""
    db = folder / "screenshot.db"
    config = dataclasses.replace(config, database=dataclasses.replace(config.database, path=db))
    store = Store.open(config)
    rng = random.Random(7)
    now = time.time() if now is None else now
    # The dashboard opens on "today", so the sample lies within today in the store's time zone
    # (the last 6 hours, or since midnight when less has passed); spread over the last 6 hours
    # regardless, a screenshot taken just after midnight showed too few answers to give an NPS.
    midnight = datetime.fromtimestamp(now, config.tz).replace(hour=0, minute=0, second=0,
                                                              microsecond=0).timestamp()
    span = max(1.0, min(6 * 3600, now - midnight))
    ids = [r.id for r in config.kiosk.reasons.detractor]
    with store.transaction():
        for i in range(120):
            ts = now - rng.uniform(0, span)
            score = rng.choices(range(11), weights=[1, 1, 1, 1, 1, 2, 3, 6, 8, 10, 9])[0]
            store.append_response(Response(
                nps=score, csat=rng.randint(2, 5), ces=rng.randint(3, 7),
                reasons=rng.sample(ids, k=1) if score <= 6 and ids else [],
                comment="Phải chờ thanh toán quá lâu" if score <= 2 else None,
                language=rng.choice(["vi", "en"]), ts=ts))
    visits = []
    for i in range(400):
        start = now - rng.uniform(0, span)
        visits.append(Visit(entered_at=start, left_at=min(now, start + rng.expovariate(1 / 420)),
                            age_bracket=rng.choice(AGE_BRACKETS),
                            gender=rng.choice(["female", "male", None])))
    store.append_visits(visits)
    store.put_health("vision", {"fps": 9.8, "last_frame": now - 2})
    store.close()
    return config


def render_all(config, out_dir, sizes=((1920, 1080),)) -> list[Path]:
    from kiosk.__main__ import build

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
        w.screens["admin"].refresh()

    return [
        ("attract", lambda: (setattr(w, "survey", None), w.show_screen("attract"))),
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
    ]
