"""The manager PIN: salted-hash check, five wrong tries lock it for a while.

    lock = PinLock(config.kiosk.admin_pin_hash)
    lock.try_pin("1234")      # True / False; after 5 wrong tries `lock.locked_for()` > 0
"""
from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from kiosk import theme
from kiosk.screens import Screen, _label
from station.pin import verify_pin

MAX_TRIES = 5
LOCKOUT_S = 300.0


class PinLock:
    def __init__(self, pin_hash: str, max_tries: int = MAX_TRIES, lockout_s: float = LOCKOUT_S,
                 clock=time.monotonic):
        self.pin_hash = pin_hash
        self.max_tries, self.lockout_s, self.clock = max_tries, lockout_s, clock
        self.wrong = 0
        self.locked_until = 0.0

    @property
    def enabled(self) -> bool:
        return bool(self.pin_hash)

    def locked_for(self) -> float:
        return max(0.0, self.locked_until - self.clock())

    @property
    def tries_left(self) -> int:
        return self.max_tries - self.wrong

    def try_pin(self, pin: str) -> bool:
        """Check a PIN; while locked every PIN (even the right one) is refused."""
        if not self.enabled or self.locked_for() > 0:
            return False
        if verify_pin(pin, self.pin_hash):
            self.wrong = 0
            return True
        self.wrong += 1
        if self.wrong >= self.max_tries:
            self.locked_until = self.clock() + self.lockout_s
            self.wrong = 0
        return False


class PinScreen(Screen):
    """A regular 3x4 keypad (1-9, then Backspace 0 OK) of equal square keys, each at least
    `theme.min_touch_px`; a row of boxes shows how many digits were entered (a dot each, never
    the digit). Cancel is a key as high (and at least as wide) under the first column, half a
    key below the pad: away from OK, which means the opposite."""
    accepted = Signal()
    cancelled = Signal()
    KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "backspace", "0", "ok")
    MIN_BOXES = 4                     # a PIN has 4 to 12 digits (station/pin.py)
    MAX_DIGITS = 12

    def __init__(self, strings, languages, lock: PinLock,
                 diagonal_in: float = theme.DEFAULT_DIAGONAL_IN, parent=None):
        super().__init__(strings, languages, parent)
        self.setProperty("typing", True)
        self.languages.hide()
        self.lock = lock
        self.diagonal_in = diagonal_in
        self.lang = None
        self.pin = ""
        self.title = _label("question")
        self.prompt = _label("prompt")
        self.message = _label("hint")
        self.digits = QWidget()
        self.digits.setLayout(QHBoxLayout())
        self.digits.layout().setContentsMargins(0, 0, 0, 0)
        self.boxes: list[QLabel] = []
        self.pad = QWidget()              # keys placed by hand: equal, aligned, exact
        self.pad.setObjectName("pinpad")
        self.keys: dict[str, QPushButton] = {}
        for key in self.KEYS:
            button = QPushButton(key if key.isdigit() else "", self.pad)
            button.setObjectName("primary" if key == "ok" else "pinkey")
            button.clicked.connect(lambda _=False, k=key: self.press(k))
            self.keys[key] = button
        self.cancel = QPushButton(self.pad)
        self.cancel.setObjectName("pincancel")
        self.cancel.clicked.connect(self._cancel)
        self.keys["cancel"] = self.cancel
        self.body.addStretch(1)
        for w in (self.title, self.prompt):
            self.body.addWidget(w)
        self.body.addWidget(self.digits, 0, Qt.AlignHCenter)
        self.body.addWidget(self.message)
        self.body.addWidget(self.pad, 0, Qt.AlignHCenter)
        self.body.addStretch(1)
        self._show_digits()

    def start(self, lang: str) -> None:
        self.pin = ""
        self.message.setText("")
        self._show_digits()
        self.retranslate(lang)
        self._show_lock_state()

    def press(self, key: str) -> None:
        if key == "backspace":
            self.pin = self.pin[:-1]
        elif key == "ok":
            pin, self.pin = self.pin, ""
            if self.lock.try_pin(pin):
                self.message.setText("")
                self.accepted.emit()
            elif not self._show_lock_state():
                self.message.setText(self.strings.get(self.lang, "pin.wrong",
                                                      left=self.lock.tries_left))
        elif len(self.pin) < self.MAX_DIGITS:
            self.pin += key
        self._show_digits()

    def _show_lock_state(self) -> bool:
        if not self.lock.enabled:
            self.message.setText(self.strings.get(self.lang, "pin.disabled"))
            return True
        wait = self.lock.locked_for()
        if wait > 0:
            self.message.setText(self.strings.get(self.lang, "pin.locked",
                                                  minutes=max(1, round(wait / 60))))
            return True
        return False

    def _cancel(self):
        self.pin = ""
        self._show_digits()
        self.cancelled.emit()

    def _show_digits(self) -> None:
        """One box per digit entered (at least MIN_BOXES), a dot in each digit's box."""
        wanted = max(self.MIN_BOXES, len(self.pin))
        while len(self.boxes) < wanted:
            box = QLabel()
            box.setObjectName("digit")
            box.setAlignment(Qt.AlignCenter)
            self.digits.layout().addWidget(box)
            self.boxes.append(box)
        while len(self.boxes) > wanted:
            box = self.boxes.pop()
            box.hide()                    # deleteLater waits for the event loop
            box.setParent(None)
            box.deleteLater()
        for i, box in enumerate(self.boxes):
            box.setText("●" if i < len(self.pin) else "")
        self._size_keys()

    @property
    def entered(self) -> int:
        """How many boxes show a digit (what the manager sees)."""
        return sum(1 for box in self.boxes if box.text())

    # -- sizes -----------------------------------------------------------------------------
    def key_px(self) -> int:
        """A key's side: bigger than the touch minimum where the window has room (the pad,
        Cancel and the gap above it take 5.5 keys of height), never under it."""
        window = self.window()
        width, height = window.width(), window.height()
        least = theme.min_touch_px((width, height), self.diagonal_in)
        return max(least, min(2 * least, int(height * 0.55 / 5.5), int(width * 0.7 / 3)))

    def _size_keys(self) -> None:
        key = self.key_px()
        gap = theme.sizes(theme.scale_for(self.window().width(), self.window().height()))["pad"]
        for i, name in enumerate(self.KEYS):
            row, column = divmod(i, 3)
            self.keys[name].setGeometry(column * (key + gap), row * (key + gap), key, key)
        below = 4 * (key + gap) - gap + key // 2
        self.cancel.ensurePolished()          # its font is the style sheet's
        text = self.cancel.fontMetrics().horizontalAdvance(self.cancel.text())
        self.cancel.setGeometry(0, below, min(2 * key + gap, max(key, text + 2 * gap)), key)
        self.pad.setFixedSize(3 * key + 2 * gap, below + key)
        box = round(key * 0.6)
        for label in self.boxes:
            label.setFixedSize(box, box)
        self.digits.layout().setSpacing(gap)

    def resizeEvent(self, event):
        self._size_keys()
        super().resizeEvent(event)

    def showEvent(self, event):
        self._size_keys()
        super().showEvent(event)

    def retranslate(self, lang: str) -> None:
        self.lang = lang
        get = self.strings.get
        self.title.setText(get(lang, "pin.title"))
        self.prompt.setText(get(lang, "pin.prompt"))
        self.keys["ok"].setText(get(lang, "pin.ok"))
        self.keys["backspace"].setText(get(lang, "pin.backspace"))
        self.cancel.setText(get(lang, "pin.cancel"))
        self._size_keys()
