"""On-screen keyboard for the kiosk's free-text fields (no physical keyboard in a store).

    keyboard = OnScreenKeyboard(strings, diagonal_in=config.kiosk.screen_diagonal_in)
    keyboard.set_language("vi")       # adds ă â đ ê ô ơ ư and the five tone marks
    keyboard.attach(line_edit)        # keys type into it; 'Done' emits `done`
    keyboard.show()                   # floats over the window, clear of the field

Shown, it floats over its top-level window, in no layout, so it never resizes the window:
docked at the bottom edge, or at the top when the field typed into is in the bottom part (the
field and the buttons beside it stay visible and tappable). Every key is at least
`theme.min_touch_px` high; keys share a row's width (9 mm or more at any kiosk size). The
keyboard hides when the widget that made it (its screen or page) is hidden.

Shift types the next letter as a capital; a second tap within DOUBLE_TAP_S locks capitals
until Shift is tapped again.

Vietnamese: a tone key puts its mark on the last word's main vowel (`with_tone`: 'qua' + sắc
gives 'quá', 'hoa' + huyền 'hoà'); a letter typed after it moves the mark where it now belongs
('hoà' + 'n' gives 'hoàn'), the way phone keyboards do.
"""
from __future__ import annotations

import time
import unicodedata

from PySide6.QtCore import QEvent, QRect, QTimer, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLineEdit, QPushButton, QSizePolicy,
                               QVBoxLayout, QWidget)

from kiosk import theme

DOUBLE_TAP_S = 0.5
EDGE = "#8a93a3"                      # the line along the tray's open edge: the keys' border
# how wide a key is in its row, in units of a letter key's width
WIDTH = {"shift": 1.5, "backspace": 1.5, "space": 5, "done": 2, "tone": 1.5}


class OnScreenKeyboard(QFrame):
    done = Signal()
    shown = Signal(bool)                  # True as it opens, False as it closes

    def __init__(self, strings, parent=None, diagonal_in: float = theme.DEFAULT_DIAGONAL_IN,
                 clock=time.monotonic):
        super().__init__(parent)
        self.setObjectName("keyboard")
        self.strings, self.diagonal_in, self.clock = strings, diagonal_in, clock
        self.setProperty("typing", True)      # fast typing is not a double tap
        self.target: QLineEdit | None = None
        self.owner: QWidget | None = None     # hidden with it (set on the first show)
        self.shift = "off"                    # "off", "once" (the next letter) or "lock"
        self.shift_at = -1e9
        self.docked = ""                      # "top" or "bottom" of the window
        self.layout_ = QVBoxLayout(self)
        self.rows: list[QWidget] = []
        self.keys: dict[str, QPushButton] = {}
        self.lang = None

    def attach(self, target: QLineEdit) -> None:
        self.target = target

    # -- the keys --------------------------------------------------------------------------
    def set_language(self, lang: str) -> None:
        if lang == self.lang:
            return
        self.lang = lang
        for row in self.rows:
            row.hide()                        # deleteLater waits for the event loop
            row.setParent(None)
            row.deleteLater()
        self.rows, self.keys = [], {}
        get = lambda key: self.strings.get(lang, key)            # noqa: E731
        rows = list(get("keyboard.rows"))
        if get("keyboard.accents"):
            rows.insert(1, get("keyboard.accents"))
        for i, chars in enumerate(rows):
            keys = [(c, c, 1, lambda _=False, c=c: self.type(c)) for c in chars]
            if i == len(rows) - 1:            # the letters' last row: Shift ... Backspace
                keys = ([("shift", get("keyboard.shift"), WIDTH["shift"],
                          lambda _=False: self.press_shift())] +
                        keys + [("backspace", get("keyboard.backspace"), WIDTH["backspace"],
                                 lambda _=False: self.backspace())])
            self._row(keys)
        tones = [(name, name, WIDTH["tone"], lambda _=False, m=mark: self.tone(m))
                 for name, mark in get("keyboard.tones")]
        self._row(tones + [
            ("space", get("keyboard.space"), WIDTH["space"], lambda _=False: self.insert(" ")),
            ("done", get("keyboard.done"), WIDTH["done"], lambda _=False: self.done.emit()),
        ])
        self.keys["shift"].setCheckable(True)
        self.set_shift("off")
        if self.isVisible():
            self.place()

    def _row(self, keys) -> None:
        row = QWidget(self)
        row.setObjectName("keyrow")
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        for name, label, width, action in keys:
            button = QPushButton(label)
            button.setObjectName("key")
            # the row's height and each key's share of its width size the key, not its text
            button.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Ignored)
            button.clicked.connect(action)
            layout.addWidget(button, round(width * 2))
            self.keys[name] = button
        self.layout_.addWidget(row)
        self.rows.append(row)

    # -- typing ----------------------------------------------------------------------------
    def type(self, char: str) -> None:
        """A character key: a capital after Shift (once) or while it is locked."""
        if self.shift != "off":
            char = char.upper()
        if self.shift == "once":
            self.set_shift("off")
        self.insert(char)

    def insert(self, text: str) -> None:
        if self.target is not None and len(self.target.text()) < self.target.maxLength():
            self.target.insert(text)
            self._retone()

    def backspace(self) -> None:
        if self.target is not None:
            self.target.backspace()
            self._retone()

    def tone(self, mark: str) -> None:
        """Put a Vietnamese tone mark on the current word's main vowel (replacing its tone)."""
        if self.target is None or not self.target.text():
            return
        self.target.setText(with_tone(self.target.text(), mark))

    def _retone(self) -> None:
        text = self.target.text()
        moved = retoned(text)
        if moved != text:
            self.target.setText(moved)

    def press_shift(self) -> None:
        """Off -> once; once -> locked when tapped again within DOUBLE_TAP_S, else off;
        locked -> off."""
        now = self.clock()
        if self.shift == "off":
            state = "once"
        elif self.shift == "once" and now - self.shift_at <= DOUBLE_TAP_S:
            state = "lock"
        else:
            state = "off"
        self.shift_at = now
        self.set_shift(state)

    def set_shift(self, state: str) -> None:
        self.shift = state
        for name, button in self.keys.items():
            if len(name) == 1:
                button.setText(name.upper() if state != "off" else name)
        shift = self.keys["shift"]
        shift.setChecked(state != "off")
        shift.setText(self.strings.get(self.lang, "keyboard.capslock" if state == "lock"
                                       else "keyboard.shift"))

    # -- floating over the window ----------------------------------------------------------
    def setVisible(self, visible: bool) -> None:
        if visible:
            self._float_over_window()
        super().setVisible(visible)
        if visible:
            self.place()
            QTimer.singleShot(0, self._place_if_visible)   # once pending layouts have run
        self.shown.emit(visible)

    def _place_if_visible(self) -> None:
        if self.isVisible():
            self.place()

    def _float_over_window(self) -> None:
        """On the first show: leave the layout it was put in (if any) for the top-level
        window, above everything, and follow the window's size and the owner's hiding."""
        parent = self.parentWidget()
        if parent is None or parent.isWindow():
            return
        self.owner = parent
        window = parent.window()
        self.setParent(window)
        window.installEventFilter(self)
        parent.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.owner and event.type() == QEvent.Hide:
            self.hide()
        elif obj is self.parentWidget() and event.type() == QEvent.Resize and self.isVisible():
            self.place()
        return False

    def key_px(self) -> int:
        window = self.window()
        return theme.min_touch_px((window.width(), window.height()), self.diagonal_in)

    def place(self) -> None:
        """Size the keys for the window and dock at its bottom, or at its top when the field
        typed into would be covered there (and is not at the top)."""
        window = self.parentWidget()
        if window is None:
            return
        key = self.key_px()
        gap = theme.sizes(theme.scale_for(window.width(), window.height()))["smallpad"]
        self.layout_.setContentsMargins(gap, gap, gap, gap)
        self.layout_.setSpacing(gap)
        for row in self.rows:
            row.setFixedHeight(key)
            row.layout().setSpacing(gap)
        height = len(self.rows) * key + (len(self.rows) + 1) * gap
        field = self._field_rect()
        bottom = window.height() - height
        fits_below = field is None or field.bottom() + gap < bottom
        fits_above = field is not None and field.top() >= height + gap
        self.docked = "top" if fits_above and not fits_below else "bottom"
        self.setGeometry(0, 0 if self.docked == "top" else bottom, window.width(), height)
        self.raise_()

    def paintEvent(self, event):
        """The tray, and a line along the edge it shows to the page (what it covers ends
        there, instead of seeming cut)."""
        super().paintEvent(event)
        line = max(2, self.layout_.spacing() // 4)
        painter = QPainter(self)
        y = self.height() - line if self.docked == "top" else 0
        painter.fillRect(0, y, self.width(), line, QColor(EDGE))
        painter.end()

    def _field_rect(self) -> QRect | None:
        """The target field in the window's coordinates (None when it is not on show)."""
        if self.target is None or not self.target.isVisible():
            return None
        window = self.parentWidget()
        top_left = window.mapFromGlobal(self.target.mapToGlobal(self.target.rect().topLeft()))
        return QRect(top_left, self.target.size())


# -- Vietnamese tone marks ---------------------------------------------------------------------
TONE_MARKS = ("\u0301", "\u0300", "\u0309", "\u0303", "\u0323")   # sắc huyền hỏi ngã nặng
VOWELS = "aeiouy"
# New style (kiểu mới, as in school books): these pairs ending a word take the mark on their
# second vowel (hoà, khoẻ, thuỷ); old style writes hòa, khỏe, thủy.
SECOND_VOWEL_PAIRS = ("oa", "oe", "uy")


def with_tone(text: str, mark: str) -> str:
    """`text` with the tone of its last word set to `mark` (a combining character), on the
    vowel `main_vowel` picks; a word without a vowel is left as it is."""
    start = len(text) - len(text.split(" ")[-1])
    word = unicodedata.normalize("NFC", text[start:])
    letters = [unicodedata.normalize("NFD", c) for c in word]
    bases = ["".join(ch for ch in c if ch not in TONE_MARKS) for c in letters]
    target = main_vowel(bases)
    if target is None:
        return text
    bases[target] += mark
    return text[:start] + "".join(unicodedata.normalize("NFC", b) for b in bases)


def retoned(text: str) -> str:
    """`text` with its last word's tone mark (if it has one) moved to where it belongs now."""
    word = unicodedata.normalize("NFD", text.split(" ")[-1])
    marks = [ch for ch in word if ch in TONE_MARKS]
    return with_tone(text, marks[-1]) if marks else text


def main_vowel(bases: list[str]) -> int | None:
    """Which letter of a Vietnamese syllable takes the tone mark. `bases`: its letters without
    tone, each decomposed (a hat, horn or breve follows its letter: 'ê' is 'e' + U+0302).

    - the vowels are the last run of a e i o u y; the u of 'qu' and the i of 'gi' belong to
      the consonant when a vowel follows (quá, già, quyển, giữ; but gì)
    - a vowel with a hat, horn or breve (ă â ê ô ơ ư) takes it, the last one of ươ (người)
    - of three vowels, the middle one (ngoài, khuỷu)
    - of two: the second when a consonant follows (toán, hoàng) or for oa, oe, uy ending the
      word (hoà, khoẻ, thuỷ: new style), else the first (múa, mái, cáo)
    """
    plain = [b[:1].lower() for b in bases]
    vowels = [i for i, c in enumerate(plain) if c in VOWELS]
    if not vowels:
        return None
    run = [vowels[-1]]
    while run[0] - 1 in vowels:
        run.insert(0, run[0] - 1)
    first = run[0]
    if len(run) > 1 and first >= 1 and (plain[first - 1], bases[first].lower()) in (
            ("q", "u"), ("g", "i")):
        run = run[1:]
    marked = [i for i in run if len(bases[i]) > 1]
    if marked:
        return marked[-1]
    if len(run) == 1:
        return run[0]
    if len(run) >= 3:
        return run[1]
    consonant_after = any(c.isalpha() for c in plain[run[-1] + 1:])
    pair = plain[run[0]] + plain[run[1]]
    return run[1] if consonant_after or pair in SECOND_VOWEL_PAIRS else run[0]
