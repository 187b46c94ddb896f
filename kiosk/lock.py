"""The manager PIN: salted-hash check, five wrong tries lock it for a while.

    lock = PinLock(config.kiosk.admin_pin_hash)
    lock.try_pin("1234")      # True / False; after 5 wrong tries `lock.locked_for()` > 0
"""
from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QPushButton

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
    """A numeric keypad; the digits are shown as dots."""
    accepted = Signal()
    cancelled = Signal()

    def __init__(self, strings, languages, lock: PinLock, parent=None):
        super().__init__(strings, languages, parent)
        self.setProperty("typing", True)
        self.languages.hide()
        self.lock = lock
        self.lang = None
        self.pin = ""
        self.title = _label("question")
        self.prompt = _label("prompt")
        self.dots = _label("welcome")
        self.message = _label("hint")
        self.keys: dict[str, QPushButton] = {}
        pad = QGridLayout()
        for i, key in enumerate(["1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "ok"]):
            button = QPushButton(key)
            button.setObjectName("primary" if key == "ok" else "key")
            button.clicked.connect(lambda _=False, k=key: self.press(k))
            pad.addWidget(button, i // 3, i % 3)
            self.keys[key] = button
        self.cancel = QPushButton()
        self.cancel.clicked.connect(self._cancel)
        self.keys["cancel"] = self.cancel
        for w in (self.title, self.prompt, self.dots, self.message):
            self.body.addWidget(w)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addLayout(pad, 2)
        row.addStretch(1)
        self.body.addLayout(row)
        cancel_row = QHBoxLayout()
        cancel_row.addStretch(1)
        cancel_row.addWidget(self.cancel)
        self.body.addLayout(cancel_row)

    def start(self, lang: str) -> None:
        self.pin = ""
        self.message.setText("")
        self.retranslate(lang)
        self._show_lock_state()

    def press(self, key: str) -> None:
        if key == "clear":
            self.pin = ""
        elif key == "ok":
            pin, self.pin = self.pin, ""
            if self.lock.try_pin(pin):
                self.message.setText("")
                self.accepted.emit()
            elif not self._show_lock_state():
                self.message.setText(self.strings.get(self.lang, "pin.wrong",
                                                      left=self.lock.tries_left))
        elif len(self.pin) < 12:
            self.pin += key
        self.dots.setText("●" * len(self.pin))

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
        self.dots.setText("")
        self.cancelled.emit()

    def retranslate(self, lang: str) -> None:
        self.lang = lang
        get = self.strings.get
        self.title.setText(get(lang, "pin.title"))
        self.prompt.setText(get(lang, "pin.prompt"))
        self.keys["ok"].setText(get(lang, "pin.ok"))
        self.keys["clear"].setText(get(lang, "pin.clear"))
        self.cancel.setText(get(lang, "pin.cancel"))
