"""Every kiosk screen, in every configured language, at the kiosk's screen sizes (offscreen).

    python -m kiosk.screenshots          # all of them into kiosk/screenshots/, stale ones removed
    paths = render_all(config, "out/", sizes=[(1280, 800)])
    with sample_config(config) as sample:           # what tests/kiosk/test_layout.py checks
        stage = Stage(sample, (1280, 800))
        stage.show("admin-goals", "vi")              # any of SCENES, then look at stage.window

Files are named <scene>-<lang>-<W>x<H>.png. A scene is one screen in one state: the attract
screen with its staff badge, each question, the follow-up of each group with its reasons (the
detractor's with 'report a problem'), the comment with the on-screen keyboard, the complaint
screen (and typing contact details on the keyboard), the first-visit question, the thank-you
of each group (the promoter's with the review QR code) and after a complaint, the PIN pad (and after a wrong PIN), the admin dashboard for each period,
a case being resolved on the keyboard, the Goals page with a target on every KPI and its
target editor (per day, and per week on the participation rate), the Alerts page
and an alert's note on the keyboard, the Counter page with a hand count being entered.

The admin screen is drawn from a throw-away database of a simulated week with a few alerts,
through the real query path; nothing is written to the station's own DB.
"""
from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QApplication

from kiosk.dashboard import PERIODS
from kiosk.open_items import count_open_items
from kiosk.service import build
from station.alerts import evaluate_targets
from station.simulate import simulate
from station.store import Presence, Response, Store, Visit
from station.targets import TARGET_KPIS, Target

# The admin screenshot shows a simulated week: "today" alone would be nearly empty just after
# midnight, and a week fills every chart whatever the hour the screenshot is taken.
SAMPLE_PERIOD = "7d"
SAMPLE_RESPONSES = 700
SAMPLE_VISITS = 4000
# Near the simulated figures; a KPI the config gives no target gets its own here.
SAMPLE_TARGETS = {"nps": 15, "csat": 72, "ces": 5.0, "participation_rate": 20,
                  "complaint_rate": 12, "handling_median_s": 1800, "conversion": 30}
REPO = Path(__file__).resolve().parents[1]
FOLDER = REPO / "kiosk" / "screenshots"
# The kiosk's screens: full HD and a 10" 1280x800 panel landscape, full HD portrait.
SIZES = ((1920, 1080), (1280, 800), (1080, 1920))
# Every scene, in the order they are drawn (the admin dashboard of SAMPLE_PERIOD is "admin").
SCENES = (
    "attract", "score", "followup-detractor", "followup-passive", "followup-promoter",
    "followup-keyboard", "complaint", "complaint-keyboard", "csat", "ces", "first_visit",
    "thanks-promoter", "thanks-passive", "thanks-detractor", "thanks-complaint", "unavailable", "pin", "pin-wrong", "admin-today", "admin", "admin-30d",
    "admin-case-keyboard", "admin-goals", "admin-goal-editor", "admin-goal-editor-week",
    "admin-alerts",
    "admin-alerts-keyboard", "admin-counter",
)
NAME = re.compile(r"^(?P<scene>[a-z0-9_-]+)-(?P<lang>[a-z]{2})-(?P<w>\d+)x(?P<h>\d+)\.png$")


def file_name(scene: str, lang: str, size: tuple[int, int]) -> str:
    return f"{scene}-{lang}-{size[0]}x{size[1]}.png"


@contextmanager
def sample_config(config, now: float | None = None):
    """`config` on a throw-away copy of the sample database, removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        yield _sample_store(config, Path(tmp), now)


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
        _sample_every_target(store, config, now)
        _sample_hand_counts(store, config, now)
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


def _sample_every_target(store, config, now: float) -> None:
    """A target on each KPI that can have one (the config may leave some out): the Goals page
    with as many cards as it can ever show. Set after the alerts, whose KPI rule judged the
    config's own targets."""
    for kpi, spec in TARGET_KPIS.items():
        if store.target(kpi) is None:
            store.set_target(Target(kpi, SAMPLE_TARGETS[kpi], spec.direction, "week"), "admin",
                             at=now)


def _sample_hand_counts(store, config, now: float) -> None:
    """Three clicker hours of the sample's days, a little above what the camera counted (as
    a camera that misses people in groups would), for the Counter page."""
    day = datetime.fromtimestamp(now, config.tz).replace(hour=0, minute=0, second=0,
                                                        microsecond=0)
    for days_back, hour in ((3, 10), (2, 17), (1, 12)):
        start = (day - timedelta(days=days_back)).replace(hour=hour).timestamp()
        camera = store.entries(start, start + 3600)["entries"]
        store.add_hand_count(start, start + 3600, round(camera * 1.08) + 2, who="admin",
                             at=now - days_back * 3600)


class Stage:
    """The kiosk's real window at one screen size, shown offscreen, that can be put in any
    scene. `config` is the sample's (sample_config): the admin scenes read its database."""

    def __init__(self, config, size: tuple[int, int]):
        self.size = tuple(size)
        self.window, self.writer = build(config)
        # scaled before it is sized: the old scale's minimum sizes would stop it shrinking
        self.window.apply_scale(*self.size)
        self.window.resize(*self.size)
        self.window.show()
        self.scenes = _scenes(self.window)

    def show(self, scene: str, lang: str) -> None:
        """Put the window in `scene` in language `lang`, laid out and painted once. The
        window is sized for the screen again: it only stays bigger if the scene needs it."""
        app = QApplication.instance()
        if self.window.lang != lang:
            self.window.set_language(lang)
        self.scenes[scene]()
        app.processEvents()
        self.window.resize(*self.size)
        app.processEvents()
        # pyqtgraph widens an axis for longer tick labels while painting: paint once, let it
        # lay out again, then it is what a picture shows.
        self.window.grab()
        app.processEvents()

    def save(self, path) -> None:
        """What the screen shows: a window that grew past it (a layout that does not fit,
        tests/kiosk/test_layout.py) is cut at the screen's edge, as on the kiosk."""
        self.window.grab(QRect(0, 0, *self.size)).save(str(path))

    def close(self) -> None:
        admin = self.window.screens.get("admin")
        if admin is not None and hasattr(admin, "close_connections"):
            admin.close_connections()
        self.window.close()
        self.writer.close()


def render_all(config, out_dir, sizes=SIZES, keep=None) -> list[Path]:
    """Every scene at each size in each language; `keep(name, lang, (w, h))` picks some."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    with sample_config(config) as sample:
        for size in sizes:
            stage = Stage(sample, size)
            try:
                for lang in config.kiosk.languages:
                    for name in SCENES:
                        if keep is not None and not keep(name, lang, tuple(size)):
                            continue
                        stage.show(name, lang)
                        path = out / file_name(name, lang, size)
                        stage.save(path)
                        paths.append(path)
            finally:
                stage.close()
    return paths


def wait(panel, timeout_s: float = 30.0) -> None:
    """Until `panel` (the Goals or Alerts page) has drawn what its worker thread read."""
    app, until = QApplication.instance(), time.monotonic() + timeout_s
    while panel.reading_now and time.monotonic() < until:
        app.processEvents()
        time.sleep(0.01)
    app.processEvents()


def _scenes(w) -> dict:
    """How to get `w` (a KioskWindow) into each scene, whatever it showed before."""
    from kiosk.survey import Survey

    def survey(score, screen, group=None, complained=False):
        def go():
            w.survey = Survey(w.kiosk, w.lang)
            w.survey.answer_score(score)
            if screen == "followup":
                w.screens["followup"].start(w.survey.group, w.survey.complaint_offered)
                w.screens["followup"].chips.clear()
            if screen == "complaint":
                w.screens["complaint"].start()
            if screen == "thanks":
                w.screens["thanks"].start(group, w.lang, complained=complained)
            w.show_screen(screen)
        return go

    def complaint_keyboard():
        """The shopper typing a phone number: the keyboard clear of the field."""
        survey(2, "complaint")()
        screen = w.screens["complaint"]
        screen.problem.setText("Chờ thanh toán quá lâu" if w.lang == "vi"
                               else "The queue at the till was very long")
        screen.name.setText("Lan")
        screen.contact.setText("0901 234 5")
        screen.type_into(screen.contact)

    def keyboard():
        survey(3, "followup")()
        w.screens["followup"].keyboard.show()

    def pin(wrong: bool):
        def go():
            w.survey = None
            screen = w.screens["pin"]
            screen.start(w.lang)
            if wrong:                      # a wrong PIN: the message with the tries left
                for key in ("0", "0", "0", "0", "ok"):
                    screen.press(key)
            for key in ("1", "2"):
                screen.press(key)
            w.show_screen("pin")
        return go

    def admin(period=SAMPLE_PERIOD):
        def go():
            w.survey = None
            screen = w.screens["admin"]
            screen.keyboard.hide()
            w.show_screen("admin")
            screen.set_period(period)
            # the Alerts button counts what the Alerts page read (a worker thread): read now
            # and wait, so the button is labelled and laid out before the picture
            screen.alerts.refresh()
            wait(screen.alerts)
        return go

    def case_keyboard():
        admin()()
        screen = w.screens["admin"]
        screen.case_list.setCurrentRow(0)
        screen.keyboard.show()

    def attract():
        # counted here and now: the kiosk's own count arrives from a thread, maybe too late
        w.survey = None
        w.show_screen("attract")
        w.screens["attract"].set_open_items(count_open_items(w.writer.store))

    def goals(span="by_day", editing=None):
        def go():
            admin()()
            w.screens["admin"].show_goals()
            panel = w.screens["admin"].goals
            wait(panel)                         # the trends are read on a worker thread
            panel.set_span(span)
            if editing:
                panel.edit(editing)
        return go

    def alerts(keyboard=False):
        def go():
            admin()()
            w.screens["admin"].show_alerts()
            panel = w.screens["admin"].alerts
            wait(panel)                         # read on a worker thread
            # the detractor's alert, the one with the most to say
            panel.select(next(a.id for a in panel.alerts if a.kind == "detractor"))
            if keyboard:
                panel.keyboard.show()
        return go

    def counter():
        admin()()
        w.screens["admin"].show_counter()
        wait(w.screens["admin"].counter)        # read on a worker thread
        w.screens["admin"].counter.press("2")   # a count being entered on the number pad
        w.screens["admin"].counter.press("1")
        w.screens["admin"].counter.press("4")

    def unavailable():
        w.survey = None
        w.show_screen("unavailable")

    scenes = {
        "attract": attract,
        "score": survey(8, "score"),
        "followup-detractor": survey(3, "followup"),
        "followup-passive": survey(7, "followup"),
        "followup-promoter": survey(10, "followup"),
        "followup-keyboard": keyboard,
        "complaint": survey(2, "complaint"),
        "complaint-keyboard": complaint_keyboard,
        "csat": survey(8, "csat"),
        "ces": survey(8, "ces"),
        "first_visit": survey(8, "first_visit"),
        "thanks-promoter": survey(10, "thanks", "promoter"),
        "thanks-passive": survey(8, "thanks", "passive"),
        "thanks-detractor": survey(2, "thanks", "detractor"),
        "thanks-complaint": survey(2, "thanks", "detractor", complained=True),
        "unavailable": unavailable,
        "pin": pin(wrong=False),
        "pin-wrong": pin(wrong=True),
        "admin-today": admin("today"),
        "admin": admin(),
        "admin-30d": admin("30d"),
        "admin-case-keyboard": case_keyboard,
        "admin-goals": goals(),
        "admin-goal-editor": goals(editing="nps"),
        "admin-goal-editor-week": goals("by_week", editing="participation_rate"),
        "admin-alerts": alerts(),
        "admin-alerts-keyboard": alerts(keyboard=True),
        "admin-counter": counter,
    }
    assert tuple(scenes) == SCENES
    return scenes


def main(argv: list[str] | None = None) -> int:
    """Regenerate kiosk/screenshots/: every scene at every size in every language of the demo
    config (PNGs of a scene no longer drawn are removed)."""
    from kiosk import service

    parser = argparse.ArgumentParser(prog="python -m kiosk.screenshots",
                                     description=main.__doc__)
    parser.add_argument("--config", default=str(REPO / "config" / "demo.toml"))
    parser.add_argument("--out", default=str(FOLDER))
    parser.add_argument("--only", metavar="SCENE", action="append", choices=SCENES,
                        help="just this scene (repeatable); nothing is removed then")
    args = parser.parse_args(argv)
    started = service.start(args.config, offscreen=True)
    if started is None:
        return 2
    config, _app = started
    keep = None if not args.only else (lambda name, lang, size: name in args.only)
    paths = render_all(config, args.out, SIZES, keep=keep)
    for path in paths:
        print(path)
    if keep is None:
        for stale in remove_stale(args.out, paths):
            print(f"removed {stale}")
    return 0


def remove_stale(folder, written) -> list[Path]:
    """Delete the screenshots in `folder` (<scene>-<lang>-<W>x<H>.png) not among `written`:
    a scene renamed or dropped leaves no old picture behind. Other files are left alone."""
    keep = {Path(p).name for p in written}
    gone = [p for p in sorted(Path(folder).glob("*.png"))
            if NAME.match(p.name) and p.name not in keep]
    for path in gone:
        path.unlink()
    return gone


if __name__ == "__main__":
    sys.exit(main())
