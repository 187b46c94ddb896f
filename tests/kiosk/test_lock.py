"""The manager PIN on the real keypad: hidden long-press, five wrong tries lock it; a regular
pad of equal touch-sized keys, boxes that count the digits, Cancel away from OK."""
import pytest
from PySide6.QtCore import QPoint, QRect, Qt

from kiosk import theme
from kiosk_testlib import tap
from kiosk.lock import PinLock, PinScreen


def long_press_corner(qtbot, window):
    corner = window.screens["attract"].corner
    qtbot.mousePress(corner, Qt.LeftButton, pos=QPoint(5, 5))
    qtbot.waitUntil(lambda: window.current == "pin", timeout=3000)
    qtbot.mouseRelease(corner, Qt.LeftButton, pos=QPoint(5, 5))
    qtbot.wait(50)


def enter(qtbot, window, pin):
    keys = window.screens["pin"].keys
    for digit in pin + "k":
        qtbot.mouseClick(keys["ok" if digit == "k" else digit], Qt.LeftButton)


def test_a_short_tap_in_the_corner_starts_the_survey_not_the_pin(qtbot, kiosk):
    window, _ = kiosk
    tap(qtbot, window.screens["attract"].corner)
    assert window.current == "score"


def test_long_press_and_the_right_pin_open_the_dashboard(qtbot, kiosk):
    window, _ = kiosk
    long_press_corner(qtbot, window)
    enter(qtbot, window, "1234")
    assert window.current == "admin"
    exits = []
    window.exit_requested.connect(lambda: exits.append(True))
    tap(qtbot, window.screens["admin"].exit_button)
    assert exits == [True]
    tap(qtbot, window.screens["admin"].close_button)
    assert window.current == "attract"


def test_five_wrong_pins_lock_even_the_right_pin(qtbot, kiosk):
    window, _ = kiosk
    long_press_corner(qtbot, window)
    pin = window.screens["pin"]
    for attempt in range(4):
        enter(qtbot, window, "0000")
        assert pin.message.text() == window.strings.get("vi", "pin.wrong", left=4 - attempt)
    enter(qtbot, window, "9999")
    assert "5" in pin.message.text() and window.current == "pin"
    enter(qtbot, window, "1234")
    assert window.current == "pin"                  # locked: the right PIN is refused too
    assert pin.message.text() == window.strings.get("vi", "pin.locked", minutes=5)


def test_lock_opens_again_after_the_lockout():
    now = [1000.0]
    lock = PinLock(_demo_hash(), max_tries=5, lockout_s=300, clock=lambda: now[0])
    for _ in range(5):
        assert not lock.try_pin("1111")
    assert lock.locked_for() == 300 and not lock.try_pin("1234")
    now[0] += 301
    assert lock.try_pin("1234")


def test_dashboard_closes_when_left_idle(qtbot, make_kiosk, tmp_path):
    from kiosk_testlib import make_config
    config = make_config(tmp_path, admin_idle_s=10)
    window, _ = make_kiosk(config)
    window.admin_idle.setInterval(300)              # the config floor is 10 s
    long_press_corner(qtbot, window)
    enter(qtbot, window, "1234")
    assert window.current == "admin"
    qtbot.waitUntil(lambda: window.current == "attract", timeout=3000)


def _demo_hash():
    from kiosk_testlib import DEMO
    from station.config import load_config
    return load_config(DEMO).kiosk.admin_pin_hash


# -- the keypad as a finger meets it ---------------------------------------------------------
SIZES = [(1920, 1080), (1280, 800), (1080, 1920)]


def rect_in(window, widget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def open_pad(qtbot, window, size, lang):
    window.resize(*size)
    window.set_language(lang)
    qtbot.wait(30)
    before = window.size()
    long_press_corner(qtbot, window)
    qtbot.wait(30)
    assert window.size() == before                  # the pad never resizes the window
    return window.screens["pin"]


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("size", SIZES)
def test_pad_is_a_regular_grid_of_equal_touch_keys(qtbot, kiosk, size, lang):
    window, _ = kiosk
    pad = open_pad(qtbot, window, size, lang)
    least = theme.min_touch_px((window.width(), window.height()), window.kiosk.screen_diagonal_in)
    rects = {name: rect_in(window, pad.keys[name]) for name in PinScreen.KEYS}
    assert {r.size().toTuple() for r in rects.values()} == {rects["1"].size().toTuple()}
    side = rects["1"].width()
    assert rects["1"].height() == side >= least
    grid = [PinScreen.KEYS[i:i + 3] for i in range(0, 12, 3)]
    assert grid[-1] == ("backspace", "0", "ok")
    for row in grid:                                # rows line up, columns too
        assert len({rects[k].top() for k in row}) == 1
    for column in zip(*grid):
        assert len({rects[k].left() for k in column}) == 1
    area = QRect(QPoint(0, 0), window.size())
    cancel = rect_in(window, pad.cancel)
    assert cancel.height() == side and cancel.width() >= side
    for rect in [*rects.values(), cancel]:
        assert area.contains(rect)
        assert not any(rect.intersects(other) for other in rects.values() if other != rect)
    for name in PinScreen.KEYS:                     # the label fits its key
        button = pad.keys[name]
        assert button.fontMetrics().horizontalAdvance(button.text()) < button.width()
    assert pad.cancel.fontMetrics().horizontalAdvance(pad.cancel.text()) < cancel.width()


@pytest.mark.parametrize("size", SIZES)
def test_cancel_is_apart_from_ok(qtbot, kiosk, size):
    window, _ = kiosk
    pad = open_pad(qtbot, window, size, "vi")
    ok, cancel = rect_in(window, pad.keys["ok"]), rect_in(window, pad.cancel)
    side = ok.width()
    # not beside, above or below OK: under the first column, half a key below the pad
    assert cancel.top() - ok.bottom() >= side // 2
    assert ok.left() - cancel.right() > side // 2
    assert cancel.left() == rect_in(window, pad.keys["backspace"]).left()
    tap(qtbot, pad.cancel)
    assert window.current == "attract"


def test_boxes_count_the_digits_and_never_show_them(qtbot, kiosk):
    window, _ = kiosk
    long_press_corner(qtbot, window)
    pad = window.screens["pin"]
    assert (len(pad.boxes), pad.entered) == (4, 0)
    for digit in "123":
        qtbot.mouseClick(pad.keys[digit], Qt.LeftButton)
    assert (len(pad.boxes), pad.entered) == (4, 3)
    for digit in "4567":
        qtbot.mouseClick(pad.keys[digit], Qt.LeftButton)
    assert (len(pad.boxes), pad.entered) == (7, 7)   # one box per digit past four
    shown = "".join(box.text() for box in pad.boxes)
    assert shown == "●" * 7 and not any(c.isdigit() for c in shown)
    qtbot.mouseClick(pad.keys["backspace"], Qt.LeftButton)
    assert (len(pad.boxes), pad.entered, pad.pin) == (6, 6, "123456")
    qtbot.mouseClick(pad.keys["ok"], Qt.LeftButton)  # wrong: the boxes empty for a new try
    assert (len(pad.boxes), pad.entered) == (4, 0)
    assert pad.message.text() == window.strings.get("vi", "pin.wrong", left=4)
