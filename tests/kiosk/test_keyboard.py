"""The on-screen keyboard: tone marks on the right vowel, Shift for capitals, touch-sized keys,
and a keyboard that floats over the window (clear of the field, never resizing the window)."""
import pytest
from PySide6.QtCore import QPoint, QRect, Qt

from kiosk import theme
from kiosk.keyboard import with_tone
from kiosk_testlib import tap

ACUTE, GRAVE, HOOK, TILDE, DOT = "\u0301", "\u0300", "\u0309", "\u0303", "\u0323"
SIZES = [(1920, 1080), (1280, 800), (1080, 1920)]


# -- where the tone goes (new style: hoà, thuỷ, khoẻ) ------------------------------------------
@pytest.mark.parametrize("typed, mark, expected", [
    ("tot", ACUTE, "tót"), ("tôt", ACUTE, "tốt"), ("tốt", GRAVE, "tồt"),
    ("mua", ACUTE, "múa"), ("toan", ACUTE, "toán"), ("ư", HOOK, "ử"),
    ("dich vu", DOT, "dich vụ"), ("nhân viên", TILDE, "nhân viễn"), ("123", ACUTE, "123"),
    # qu and gi: their u / i is part of the consonant when a vowel follows
    ("qua", ACUTE, "quá"), ("gia", GRAVE, "già"), ("quy", HOOK, "quỷ"), ("giơ", GRAVE, "giờ"),
    ("quyên", HOOK, "quyển"), ("quôc", ACUTE, "quốc"), ("giư", TILDE, "giữ"),
    ("giương", GRAVE, "giường"), ("gi", GRAVE, "gì"), ("quynh", GRAVE, "quỳnh"),
    # a hat, horn or breve takes it; of ươ the ơ
    ("ngươi", GRAVE, "người"), ("mươi", GRAVE, "mười"), ("tiêng", ACUTE, "tiếng"),
    ("rươu", DOT, "rượu"), ("thuơ", HOOK, "thuở"), ("mưa", ACUTE, "mứa"),
    # oa, oe, uy ending a word: the second vowel (new style), else the first
    ("hoa", GRAVE, "hoà"), ("thuy", HOOK, "thuỷ"), ("khoe", HOOK, "khoẻ"),
    ("cua", HOOK, "của"), ("mia", ACUTE, "mía"), ("may", ACUTE, "máy"), ("tui", ACUTE, "túi"),
    # a consonant after two vowels: the second; three vowels: the middle one
    ("hoang", GRAVE, "hoàng"), ("huyt", ACUTE, "huýt"), ("hoach", DOT, "hoạch"),
    ("ngoai", GRAVE, "ngoài"), ("khuyu", HOOK, "khuỷu"), ("xoay", ACUTE, "xoáy"),
    # capitals, a tone replaced, the last word only
    ("Ê", ACUTE, "Ế"), ("QUA", ACUTE, "QUÁ"), ("Gia", GRAVE, "Già"), ("hoá", GRAVE, "hoà"),
    ("nhân viên quy", HOOK, "nhân viên quỷ"),
])
def test_tone_goes_on_the_main_vowel(typed, mark, expected):
    assert with_tone(typed, mark) == expected


def test_translation_files_have_the_same_keys():
    from kiosk.i18n import Strings
    strings = Strings.load(["vi", "en"])
    assert set(strings.tables["vi"]) == set(strings.tables["en"])
    assert strings.get("vi", "score.low") == "0 = Hoàn toàn không"


# -- typing on the real keyboard ---------------------------------------------------------------
def open_comment_keyboard(qtbot, window):
    s = window.screens
    tap(qtbot, s["attract"])
    tap(qtbot, s["score"].scale.buttons[3])
    follow = s["followup"]
    qtbot.mouseClick(follow.comment, Qt.LeftButton)
    assert follow.keyboard.isVisible()
    return follow


def press(qtbot, keyboard, *names):
    for name in names:
        qtbot.mouseClick(keyboard.keys[name], Qt.LeftButton)      # typing is not debounced


def test_reason_chips_step_aside_while_typing_and_stay_chosen(qtbot, kiosk):
    window, _ = kiosk
    follow = open_comment_keyboard(qtbot, window)
    assert not follow.chips.isVisible()        # none half under the keyboard
    tap(qtbot, follow.keyboard.keys["done"])
    chip = next(iter(follow.chips.chips.values()))
    assert chip.isVisible()
    tap(qtbot, chip)
    qtbot.mouseClick(follow.comment, Qt.LeftButton)
    assert not chip.isVisible()
    tap(qtbot, follow.keyboard.keys["done"])
    assert chip.isVisible() and chip.isChecked()


@pytest.mark.parametrize("keys, expected", [
    (["h", "o", "a", "huyền", "n"], "hoàn"),          # the mark moves to where it belongs
    (["q", "u", "sắc", "a"], "quá"),
    (["g", "i", "huyền", "a"], "già"),
    (["k", "h", "u", "y", "a"], "khuya"),             # no tone key, no mark
    (["t", "i", "ê", "sắc", "n", "g", "space", "v", "i", "ê", "t", "nặng"], "tiếng việt"),
])
def test_tones_typed_on_the_keys(qtbot, kiosk, keys, expected):
    window, _ = kiosk
    follow = open_comment_keyboard(qtbot, window)
    press(qtbot, follow.keyboard, *keys)
    assert follow.comment.text() == expected


def test_shift_types_one_capital_then_small_letters(qtbot, kiosk):
    window, _ = kiosk
    follow = open_comment_keyboard(qtbot, window)
    keyboard = follow.keyboard
    press(qtbot, keyboard, "shift")
    assert keyboard.keys["shift"].isChecked() and keyboard.keys["ê"].text() == "Ê"
    press(qtbot, keyboard, "ê", "sắc", "space", "shift", "đ", "ư", "ơ", "n", "g", "huyền")
    assert follow.comment.text() == "Ế Đường"
    assert not keyboard.keys["shift"].isChecked() and keyboard.keys["q"].text() == "q"


def test_shift_tapped_twice_quickly_locks_capitals(qtbot, kiosk):
    window, _ = kiosk
    follow = open_comment_keyboard(qtbot, window)
    keyboard = follow.keyboard
    now = [100.0]
    keyboard.clock = lambda: now[0]
    press(qtbot, keyboard, "shift")
    now[0] += 0.2
    press(qtbot, keyboard, "shift")                  # within DOUBLE_TAP_S: caps lock
    press(qtbot, keyboard, "q", "u", "a", "sắc", "space", "ơ", "k")
    assert follow.comment.text() == "QUÁ ƠK"
    assert keyboard.shift == "lock"
    now[0] += 5
    press(qtbot, keyboard, "shift", "space", "a")    # a tap while locked: small letters
    assert follow.comment.text() == "QUÁ ƠK a"
    press(qtbot, keyboard, "shift")
    now[0] += 2
    press(qtbot, keyboard, "shift", "b")             # a slow second tap: shift off again
    assert follow.comment.text() == "QUÁ ƠK ab"


# -- sizes and placement -----------------------------------------------------------------------
def rect_in(window, widget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def resize(qtbot, window, lang, size):
    window.resize(*size)
    window.set_language(lang)
    qtbot.wait(30)


def check_keyboard(window, keyboard, field, size_before):
    """The keyboard inside the window, clear of its field; the window's size unchanged; every
    key at least the touch minimum high and 9 mm wide."""
    assert window.size() == size_before
    area = QRect(QPoint(0, 0), window.size())
    board = rect_in(window, keyboard)
    assert area.contains(board)
    assert not board.intersects(rect_in(window, field))
    least = theme.min_touch_px((window.width(), window.height()), window.kiosk.screen_diagonal_in)
    nine_mm = 9 * theme.px_per_mm((window.width(), window.height()),
                                  window.kiosk.screen_diagonal_in)
    for name, key in keyboard.keys.items():
        assert key.isVisible(), name
        assert key.height() >= least, (name, key.height(), least)
        assert key.width() >= nine_mm, (name, key.width(), nine_mm)
        assert board.contains(rect_in(window, key)), name
    return board


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("size", SIZES)
def test_comment_keyboard_fits_and_keeps_done_away_from_continue(qtbot, kiosk, size, lang):
    window, _ = kiosk
    resize(qtbot, window, lang, size)
    before = window.size()
    follow = open_comment_keyboard(qtbot, window)
    qtbot.wait(30)
    board = check_keyboard(window, follow.keyboard, follow.comment, before)
    # Continue stays visible and tappable; Done is not its neighbour: the comment field (or
    # more) lies between them
    go_on, done = rect_in(window, follow.next), rect_in(window, follow.keyboard.keys["done"])
    assert not board.intersects(go_on)
    least = theme.min_touch_px((window.width(), window.height()), window.kiosk.screen_diagonal_in)
    assert go_on.top() - done.bottom() >= least
    # Done hides it, and Continue goes on as before
    tap(qtbot, follow.keyboard.keys["done"])
    assert not follow.keyboard.isVisible() and window.size() == before
    tap(qtbot, follow.next)
    assert window.current == "csat"


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("size", SIZES)
def test_admin_keyboards_never_resize_the_window(qtbot, kiosk, size, lang):
    window, writer = kiosk
    alert = writer.store.raise_alert("disk_low", "critical", "disk", {
        "free_mb": 412.0, "min_free_mb": 500.0, "path": "/var/lib/cx-station"})
    resize(qtbot, window, lang, size)
    window.open_admin()
    qtbot.wait(30)
    before = window.size()
    admin = window.screens["admin"]
    qtbot.mouseClick(admin.case_note, Qt.LeftButton)
    qtbot.wait(30)
    board = check_keyboard(window, admin.keyboard, admin.case_note, before)
    assert not board.intersects(rect_in(window, admin.resolve_button))
    tap(qtbot, admin.keyboard.keys["done"])
    assert not admin.keyboard.isVisible() and window.size() == before

    panel = admin.alerts
    with qtbot.waitSignal(panel.drawn, timeout=5000):      # read on a worker thread
        tap(qtbot, admin.alerts_button)
    panel.select(alert)
    qtbot.wait(30)                                   # laid out, as a finger finds it
    assert panel.note.isVisible()
    qtbot.mouseClick(panel.note, Qt.LeftButton)
    qtbot.wait(30)
    board = check_keyboard(window, panel.keyboard, panel.note, before)
    assert not board.intersects(rect_in(window, panel.acknowledge_button))
    tap(qtbot, admin.close_button)                   # leaving the admin screen hides it too
    assert window.current == "attract"
    assert not panel.keyboard.isVisible() and window.size() == before


def test_keyboard_follows_the_window_size(qtbot, kiosk):
    window, _ = kiosk
    follow = open_comment_keyboard(qtbot, window)
    small = follow.keyboard.keys["a"].height()
    window.resize(1920, 1080)
    qtbot.waitUntil(lambda: follow.keyboard.width() == window.width(), timeout=2000)
    assert follow.keyboard.keys["a"].height() > small
    assert follow.keyboard.geometry().bottom() < window.height()
