"""The real kiosk window on a virtual X screen, driven by real pointer input (xdotool).

    results = drive_kiosk(tmp_path, plans=scripted_plans(), manager=True)   # the parent side
    results["steps"]     # [{"step": "attract>score", "tap_to_paint_ms": 31.2, ...}, ...]
    results["reached"]   # every screen that was painted, in order

    python tests/kiosk/xdotool_driver.py --look out/    # the same run by hand: a screenshot
                                                        # per screen and what looks wrong

`drive_kiosk` writes a station config (CSAT and CES on, reasons, free text, a review URL,
an admin PIN hash), starts Xvfb, and runs this file as a child process on that display: the
child starts the kiosk the way `cx-kiosk` does (`kiosk.service.start` and `run`, full screen)
and, beside Qt's loop, a driver thread that taps widget centres with xdotool, types on the
on-screen keyboard by tapping its keys, and holds the hidden staff corner for the PIN pad.

A step's latency runs from just before xdotool is started (the finger goes down) to the
first paint event of the screen that tap brings up, seen by an event filter the driver
installs; `release_to_paint_ms` starts instead where the kiosk handled the finger's release
(a button fires on release). The child writes its results as one JSON file; the kiosk's code
is not changed for any of this.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for path in (str(ROOT), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

from xvfb_display import Finger, VirtualDisplay  # noqa: E402

PIN = "2468"
DEBOUNCE_MS = 150
REVIEW_URL = "https://example.com/review/xvfb"
WAIT_S = 15.0                    # for a screen or a state, on a loaded machine


@dataclass
class SurveyPlan:
    """One shopper: a score, reason chips, a comment as on-screen key names, CSAT, CES."""
    score: int
    reasons: list[str] = field(default_factory=list)
    comment_keys: list[str] = field(default_factory=list)
    comment: str = ""                      # what those keys type
    csat: int | None = None
    ces: int | None = None


def scripted_plans() -> list[SurveyPlan]:
    """A promoter (review QR on the thank-you) and a detractor (a case for the manager),
    both commenting in Vietnamese with tone keys."""
    return [
        SurveyPlan(10, ["clean"], ["r", "â", "t", "sắc", "space", "t", "ô", "t", "sắc"],
                   "rất tốt", csat=5, ces=7),
        SurveyPlan(3, ["wait", "stock"], ["c", "h", "ơ", "huyền", "space", "l", "â", "u"],
                   "chờ lâu", csat=2, ces=3),
    ]


NOTE_KEYS = ["đ", "a", "ngã", "space", "g", "o", "nặng", "i", "space", "l", "a", "i", "nặng"]
NOTE = "đã gọi lại"


def random_plans(n: int, seed: int = 1) -> list[SurveyPlan]:
    """n shoppers with random answers; each opens the keyboard and types a short word."""
    rng = random.Random(seed)
    reasons = {"detractor": ["wait", "staff", "stock"], "passive": ["faster", "choice"],
               "promoter": ["staff", "clean"]}
    plans = []
    for _ in range(n):
        score = rng.randint(0, 10)
        group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        plans.append(SurveyPlan(score, rng.sample(reasons[group], 1), ["o", "k"], "ok",
                                csat=rng.randint(1, 5), ces=rng.randint(1, 7)))
    return plans


def write_config(folder: Path, pin: str = PIN) -> Path:
    """A station config for the run: every survey question on, full screen, the admin PIN."""
    from station.pin import hash_pin

    reasons = {"detractor": [("wait", "Long wait", "Chờ quá lâu"),
                             ("staff", "Unhelpful staff", "Nhân viên chưa nhiệt tình"),
                             ("stock", "Item out of stock", "Hết hàng")],
               "passive": [("faster", "Faster checkout", "Thanh toán nhanh hơn"),
                           ("choice", "More choice", "Nhiều lựa chọn hơn")],
               "promoter": [("staff", "Friendly staff", "Nhân viên thân thiện"),
                            ("clean", "Clean store", "Cửa hàng sạch sẽ")]}
    text = f"""
[station]
org = "test"
store = "xvfb"
id = "kiosk-1"
name = "CX Xvfb Store"
timezone = "Asia/Ho_Chi_Minh"

[database]
path = "station.db"

[kiosk]
languages = ["vi", "en"]
default_language = "vi"
csat = true
ces = true
free_text = true
fullscreen = true
debounce_ms = {DEBOUNCE_MS}
cooldown_s = 0.0
thank_you_s = 30.0
idle_timeout_s = 120.0
review_url = "{REVIEW_URL}"
admin_pin_hash = "{hash_pin(pin)}"
"""
    for group, items in reasons.items():
        for rid, en, vi in items:
            text += f'\n[[kiosk.reasons.{group}]]\nid = "{rid}"\nen = "{en}"\nvi = "{vi}"\n'
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "station.toml"
    path.write_text(text, encoding="utf-8")
    return path


# -- the parent side -----------------------------------------------------------------------
class DriveFailed(RuntimeError):
    pass


def drive_kiosk(folder: Path, plans: list[SurveyPlan], manager: bool = False,
                timeout_s: float = 300.0, shots: Path | None = None,
                inspect: bool = False) -> dict:
    """Run the kiosk on a fresh Xvfb and drive it; the child's results (a dict).

    Raises DriveFailed with the child's error and the tail of its log when it did not finish.
    """
    config = write_config(Path(folder))
    out = Path(folder) / "xdotool-results.json"
    plan_file = Path(folder) / "xdotool-plans.json"
    plan_file.write_text(json.dumps([asdict(p) for p in plans], ensure_ascii=False),
                         encoding="utf-8")
    command = [sys.executable, str(Path(__file__)), "--config", str(config), "--plans",
               str(plan_file), "--out", str(out), "--pin", PIN]
    if manager:
        command.append("--manager")
    if shots:
        command += ["--shots", str(shots)]
    if inspect:
        command.append("--inspect")
    log = Path(folder) / "kiosk-child.log"
    with VirtualDisplay() as display, open(log, "w") as log_file:
        env = {**os.environ, **display.env()}
        try:
            child = subprocess.run(command, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                   timeout=timeout_s)
            code = child.returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    results = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    if code != 0 or results.get("error"):
        tail = log.read_text(errors="replace")[-4000:]
        raise DriveFailed(f"kiosk child exit {code}: {results.get('error')}\n--- log ---\n{tail}")
    return results


# -- the child side: the kiosk process -----------------------------------------------------
def child_main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="the kiosk on $DISPLAY, driven by xdotool")
    parser.add_argument("--config", required=True)
    parser.add_argument("--plans", required=True, help="JSON list of SurveyPlan fields")
    parser.add_argument("--out", required=True)
    parser.add_argument("--pin", default=PIN)
    parser.add_argument("--manager", action="store_true", help="then the manager's flow")
    parser.add_argument("--shots", help="save a screenshot of each screen reached here")
    parser.add_argument("--inspect", action="store_true",
                        help="list small touch targets and clipped button text per screen")
    args = parser.parse_args(argv)
    plans = [SurveyPlan(**p) for p in json.loads(Path(args.plans).read_text(encoding="utf-8"))]

    from kiosk import service

    started = service.start(args.config)
    if started is None:
        return 2
    config, app = started
    real_build = service.build
    drivers = []

    def build_and_drive(config, app_=None):
        window, writer = real_build(config, app_)
        # No window manager on Xvfb to honour showFullScreen: give the window the screen,
        # as a kiosk compositor would.
        window.setGeometry(app.primaryScreen().geometry())
        driver = Driver(app, window, plans, args.pin, args.manager,
                        Path(args.shots) if args.shots else None, args.inspect)
        drivers.append(driver)
        driver.start()
        return window, writer

    service.build = build_and_drive
    code = service.run(config, app)
    driver = drivers[0]
    driver.join(5)
    results = driver.results()
    results["exit_code"] = code
    Path(args.out).write_text(json.dumps(results, ensure_ascii=False, indent=1),
                              encoding="utf-8")
    return 0 if code == 0 and results["error"] is None else 1


def _gui_types():
    from PySide6.QtCore import QEvent, QObject, Signal
    from PySide6.QtWidgets import QWidget

    class Gui(QObject):
        """Runs a function on the GUI thread for the driver thread and hands back its result."""
        _call = Signal(object)

        def __init__(self):
            super().__init__()
            self._call.connect(self._run)

        def _run(self, job):
            job()

        def __call__(self, fn, timeout_s: float = WAIT_S):
            done, box = threading.Event(), {}

            def job():
                try:
                    box["value"] = fn()
                except Exception as exc:          # handed to the driver thread
                    box["error"] = exc
                done.set()

            self._call.emit(job)
            if not done.wait(timeout_s):
                raise TimeoutError(f"the GUI thread did not answer within {timeout_s} s")
            if "error" in box:
                raise box["error"]
            return box.get("value")

    class PaintProbe(QObject):
        """The time of the first paint event of a widget (or any child of it) after arm()."""

        def __init__(self):
            super().__init__()
            self.lock = threading.Lock()
            self.target = None
            self.painted_at = 0.0
            self.painted = threading.Event()

        def arm(self, widget) -> None:
            with self.lock:
                self.target = widget
                self.painted.clear()

        def eventFilter(self, obj, event):
            if event.type() == QEvent.Paint and self.target is not None:
                with self.lock:
                    target = self.target
                    if target is not None and isinstance(obj, QWidget) and (
                            obj is target or target.isAncestorOf(obj)):
                        self.painted_at = time.perf_counter()
                        self.target = None
                        self.painted.set()
            return False

    return Gui, PaintProbe


class Driver(threading.Thread):
    """The shopper's and the manager's finger, on its own thread in the kiosk process."""

    def __init__(self, app, window, plans, pin, manager, shots, inspect):
        super().__init__(name="xdotool-driver", daemon=True)
        Gui, PaintProbe = _gui_types()
        self.app, self.window, self.plans = app, window, plans
        self.pin, self.manager, self.shots, self.inspect = pin, manager, shots, inspect
        self.gui = Gui()                      # made here, on the GUI thread
        self.probe = PaintProbe()
        app.installEventFilter(self.probe)
        self.finger = Finger()
        self.debounce_s = window.kiosk.debounce_ms / 1000 + 0.06
        self.last_tap = 0.0
        self.steps: list[dict] = []
        self.gestures: list[dict] = []
        self.reached: list[str] = []
        self.window_sizes: list[list] = []   # [screen, width, height] whenever it changed
        self.facts: dict = {"thanks_qr": [], "comments_typed": [], "note_typed": None,
                            "case_resolved_on_screen": False}
        self.layout_issues: dict[str, list[str]] = {}
        self.inspected: set[tuple] = set()
        self.error: str | None = None
        self.started_at = time.perf_counter()

    # -- plumbing --------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self.wait_first_paint()
            for plan in self.plans:
                self.survey(plan)
            if self.manager:
                self.manage()
        except Exception:
            self.error = traceback.format_exc()
            self.screenshot("error")
        finally:
            try:
                self.gui(self.app.quit)
            except TimeoutError:
                os._exit(3)

    def results(self) -> dict:
        return {"steps": self.steps, "gestures": self.gestures, "reached": self.reached,
                "facts": self.facts, "layout_issues": self.layout_issues,
                "window_sizes": self.window_sizes, "error": self.error,
                "seconds": round(time.perf_counter() - self.started_at, 1)}

    def centre(self, get_widget) -> tuple[int, int]:
        def find():
            widget = get_widget()
            if not widget.isVisible():
                raise RuntimeError(f"{widget!r} is not visible")
            point = widget.mapToGlobal(widget.rect().center())
            return point.x(), point.y()
        return self.gui(find)

    def wait_until(self, condition, what: str, timeout_s: float = WAIT_S) -> None:
        end = time.monotonic() + timeout_s
        while not self.gui(condition):
            if time.monotonic() > end:
                raise TimeoutError(f"waited {timeout_s} s for {what} "
                                   f"(screen {self.window.current!r})")
            time.sleep(0.01)

    def wait_debounce(self) -> None:
        """A shopper's taps are further apart than the kiosk's double-tap window."""
        left = self.last_tap + self.debounce_s - time.monotonic()
        if left > 0:
            time.sleep(left)

    def wait_first_paint(self) -> None:
        """The window is up: the attract screen painted (once more, in case it was already)."""
        self.probe.arm(self.window.screens["attract"])
        self.gui(self.window.update)
        if not self.probe.painted.wait(WAIT_S):
            raise TimeoutError("the attract screen was never painted")
        self.arrived("attract")

    def arrived(self, name: str) -> None:
        self.reached.append(name)
        size = [self.window.width(), self.window.height()]
        if not self.window_sizes or self.window_sizes[-1][1:] != size:
            self.window_sizes.append([name, *size])
        if self.shots:
            self.screenshot(name)
        if self.inspect and (name, *size) not in self.inspected:   # again in a new size
            self.inspected.add((name, *size))
            key = name if name not in self.layout_issues else f"{name} at {size[0]}x{size[1]}"
            self.layout_issues[key] = self.gui(lambda: layout_issues(self.window))

    def screenshot(self, name: str) -> None:
        if not self.shots:
            return
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{len(self.reached):02d}-{name}.png"
        try:
            self.gui(lambda: self.app.primaryScreen().grabWindow(0).save(str(path)))
        except Exception:                      # a screenshot never hides the real error
            pass

    # -- taps ------------------------------------------------------------------------------
    def tap(self, get_widget, typing: bool = False) -> None:
        """Tap a widget's centre (after the double-tap window, unless it is a typing key)."""
        x, y = self.centre(get_widget)
        if not typing:
            self.wait_debounce()
        self.finger.tap(x, y)
        if not typing:
            self.last_tap = time.monotonic()

    def tap_to(self, get_widget, get_next, step: str, name: str, screen: str | None = None,
               typing: bool = False) -> None:
        """Tap, then wait for the first paint of what the tap brings up (timed as `step`)."""
        x, y = self.centre(get_widget)
        nxt = self.gui(get_next)
        if not typing:
            self.wait_debounce()
        self.probe.arm(nxt)
        t0 = time.perf_counter()
        self.finger.tap(x, y)
        if not typing:
            self.last_tap = time.monotonic()
        if not self.probe.painted.wait(WAIT_S):
            raise TimeoutError(f"{step}: {name} never painted (screen {self.window.current!r})")
        painted = self.probe.painted_at
        if screen is not None and self.window.current != screen:
            raise AssertionError(f"{step}: painted, but the screen is {self.window.current!r}")
        release = self.window.last_release_at
        self.steps.append({
            "step": step,
            "tap_to_paint_ms": round((painted - t0) * 1000, 2),
            "release_to_paint_ms": (round((painted - release) * 1000, 2)
                                    if t0 <= release <= painted else None)})
        self.arrived(name)

    def type_keys(self, keyboard, keys: list[str], field_, expected: str) -> str:
        """Tap on-screen keyboard keys (one xdotool run) until the field says `expected`."""
        def points():
            out = []
            for key in keys:
                button = keyboard().keys[key]
                point = button.mapToGlobal(button.rect().center())
                out.append((point.x(), point.y()))
            return out
        self.finger.taps(self.gui(points))
        try:
            self.wait_until(lambda: field_().text() == expected, f"the text {expected!r}")
        except TimeoutError:
            typed = self.gui(lambda: field_().text())
            raise AssertionError(f"typed {typed!r}, wanted {expected!r}") from None
        return expected

    # -- the shopper -----------------------------------------------------------------------
    def survey(self, plan: SurveyPlan) -> None:
        s = self.window.screens
        self.wait_until(lambda: self.window.current == "attract", "the attract screen")
        self.tap_to(lambda: s["attract"], lambda: s["score"], "attract>score", "score", "score")
        self.tap_to(lambda: s["score"].scale.buttons[plan.score], lambda: s["followup"],
                    "score>followup", "followup", "followup")
        follow = s["followup"]
        for reason in plan.reasons:
            self.tap(lambda r=reason: follow.chips.chips[r])
            self.wait_until(lambda r=reason: follow.chips.chips[r].isChecked(),
                            f"reason chip {reason!r} checked")
        if plan.comment_keys:
            self.tap_to(lambda: follow.comment, lambda: follow.keyboard, "comment>keyboard",
                        "keyboard")
            typed = self.type_keys(lambda: follow.keyboard, plan.comment_keys,
                                   lambda: follow.comment, plan.comment)
            self.facts["comments_typed"].append(typed)
            self.tap(lambda: follow.keyboard.keys["done"], typing=True)
            self.wait_until(lambda: not follow.keyboard.isVisible(), "the keyboard hidden")
        leave, last = (lambda: follow.next), "followup"     # the tap that leaves `last`
        for key, value in (("csat", plan.csat), ("ces", plan.ces)):
            self.tap_to(leave, lambda k=key: s[k], f"{last}>{key}", key, key)
            leave = ((lambda k=key, v=value: s[k].scale.buttons[v]) if value is not None
                     else (lambda k=key: s[k].skip))
            last = key
        self.tap_to(leave, lambda: s["thanks"], f"{last}>thanks", "thanks", "thanks")
        thanks = s["thanks"]
        self.facts["thanks_qr"].append({"score": plan.score, **self.gui(lambda: {
            "qr": thanks.qr.isVisible() and not thanks.qr.pixmap().isNull(),
            "qr_px": thanks.qr.pixmap().width(), "screen_px": [thanks.width(), thanks.height()]})})
        self.tap_to(lambda: thanks, lambda: s["attract"], "thanks>attract", "attract", "attract")

    # -- the manager -----------------------------------------------------------------------
    def manage(self) -> None:
        s = self.window.screens
        self.wait_until(lambda: self.window.current == "attract", "the attract screen")
        x, y = self.centre(lambda: s["attract"].corner)
        self.wait_debounce()
        self.probe.arm(self.gui(lambda: s["pin"]))
        hold_s = s["attract"].LONG_PRESS_MS / 1000 + 0.4
        t0 = time.perf_counter()
        self.finger.long_press(x, y, hold_s)
        self.last_tap = time.monotonic()
        if not self.probe.painted.wait(WAIT_S):
            raise TimeoutError(f"the PIN pad never painted (screen {self.window.current!r})")
        self.gestures.append({"gesture": "corner long press>pin",
                              "press_to_paint_ms": round((self.probe.painted_at - t0) * 1000, 1),
                              "hold_ms": s["attract"].LONG_PRESS_MS})
        self.arrived("pin")
        pad = s["pin"]
        self.finger.taps(self.gui(lambda: [_centre(pad.keys[d]) for d in self.pin]))
        self.wait_until(lambda: len(pad.pin) == len(self.pin), "the PIN's digits entered")
        admin = s["admin"]
        self.tap_to(lambda: pad.keys["ok"], lambda: admin, "pin ok>admin", "admin", "admin",
                    typing=True)
        self.wait_until(lambda: _first_case_row(admin) is not None, "a case in the inbox")
        self.tap(lambda: _case_row_widget(admin))
        row = self.gui(lambda: _first_case_row(admin))
        self.wait_until(lambda: admin.case_list.currentRow() == row, "the case selected")
        self.tap_to(lambda: admin.case_note, lambda: admin.keyboard, "note>keyboard",
                    "admin keyboard")
        self.facts["note_typed"] = self.type_keys(lambda: admin.keyboard, NOTE_KEYS,
                                                  lambda: admin.case_note, NOTE)
        self.tap_to(lambda: admin.resolve_button, lambda: admin.case_list,
                    "resolve>case list", "admin resolved")
        self.wait_until(lambda: _first_case_row(admin) is None, "the case gone from the inbox")
        self.facts["case_resolved_on_screen"] = True
        self.tap_to(lambda: admin.close_button, lambda: s["attract"], "admin close>attract",
                    "attract", "attract")


def _centre(widget) -> tuple[int, int]:
    point = widget.mapToGlobal(widget.rect().center())
    return point.x(), point.y()


def _first_case_row(admin) -> int | None:
    from PySide6.QtCore import Qt
    for row in range(admin.case_list.count()):
        if admin.case_list.item(row).data(Qt.UserRole):
            return row
    return None


class _RowTarget:
    """A list row as a tap target: the centre of its rectangle on the list's viewport."""

    def __init__(self, admin, row):
        self.admin, self.row = admin, row

    def isVisible(self):
        return self.admin.case_list.isVisible()

    def rect(self):
        return self.admin.case_list.visualItemRect(self.admin.case_list.item(self.row))

    def mapToGlobal(self, point):
        return self.admin.case_list.viewport().mapToGlobal(point)


def _case_row_widget(admin):
    return _RowTarget(admin, _first_case_row(admin))


# -- what a person would see wrong ---------------------------------------------------------
MIN_TARGET_PX = 56                # about 9 mm on a 21.5" 1920x1080 screen


def layout_issues(window) -> list[str]:
    """On the screen on show: buttons smaller than a fingertip or partly off the screen, and
    text that does not fit its label or button (cut off)."""
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QLabel, QListWidget, QPushButton

    screen = window.stack.currentWidget()
    area = window.screen().geometry()
    issues = []
    if window.height() > area.height() or window.width() > area.width():
        issues.append(f"window {window.width()}x{window.height()} is larger than the screen "
                      f"{area.width()}x{area.height()}")

    def off_screen(widget) -> bool:
        return not area.contains(QRect(widget.mapToGlobal(widget.rect().topLeft()),
                                       widget.size()))

    for button in screen.findChildren(QPushButton):
        if not button.isVisible():
            continue
        w, h = button.width(), button.height()
        name = button.text() or button.objectName() or "?"
        if min(w, h) < MIN_TARGET_PX:
            issues.append(f"small target {name!r}: {w}x{h} px")
        if off_screen(button):
            issues.append(f"button {name!r} partly off the screen")
        text_w = button.fontMetrics().horizontalAdvance(button.text())
        if text_w > w - 8:
            issues.append(f"button text cut {name!r}: text {text_w} px in {w} px")
    for lst in screen.findChildren(QListWidget):
        if lst.isVisible() and lst.count() and lst.item(0).flags():
            h = lst.visualItemRect(lst.item(0)).height()
            if 0 < h < MIN_TARGET_PX:
                issues.append(f"small list rows: {h} px tall")
    for label in screen.findChildren(QLabel):
        text = label.text()
        if not label.isVisible() or not text or "<" in text:
            continue                           # rich text: no simple size to compare
        if label.wordWrap():
            need = label.heightForWidth(label.width())
            if need > label.height() + 1:
                issues.append(f"label cut {text[:40]!r}: needs {need} px tall, has "
                              f"{label.height()} px")
            continue
        text_w = max(label.fontMetrics().horizontalAdvance(line) for line in text.splitlines())
        if text_w > label.contentsRect().width() + 1:
            issues.append(f"label cut {text[:40]!r}: text {text_w} px "
                          f"in {label.contentsRect().width()} px")
    return issues


def look_main(argv=None) -> int:
    """The scripted run by hand: screenshots of every screen reached, and the layout issues."""
    parser = argparse.ArgumentParser(description="drive the kiosk on Xvfb, screenshot it")
    parser.add_argument("--look", required=True, metavar="DIR")
    folder = Path(parser.parse_args(argv).look).resolve()
    results = drive_kiosk(folder, scripted_plans(), manager=True, shots=folder / "shots",
                          inspect=True)
    for screen, issues in results["layout_issues"].items():
        for issue in issues:
            print(f"{screen}: {issue}")
    print(f"screenshots in {folder / 'shots'}, every tap in {folder / 'xdotool-results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(look_main() if "--look" in sys.argv else child_main())
