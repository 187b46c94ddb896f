"""The manager PIN on the real keypad: hidden long-press, five wrong tries lock it."""
from PySide6.QtCore import QPoint, Qt

from kiosk_testlib import tap
from kiosk.lock import PinLock


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
