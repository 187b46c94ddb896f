"""On-screen keyboard for the kiosk's free-text field (no physical keyboard in a store).

    keyboard = OnScreenKeyboard(strings)
    keyboard.set_language("vi")       # adds ă â đ ê ô ơ ư and the five tone marks
    keyboard.attach(line_edit)        # keys type into it; 'Done' hides the keyboard

Vietnamese: a tone key adds the combining mark to the text typed so far and normalises to
NFC, so 'a' + 'sắc' gives 'á' and 'ư' + 'hỏi' gives 'ử' (the way many phone keyboards do it).
"""
from __future__ import annotations

import unicodedata

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget


class OnScreenKeyboard(QWidget):
    done = Signal()

    def __init__(self, strings, parent=None):
        super().__init__(parent)
        self.strings = strings
        self.setProperty("typing", True)      # fast typing is not a double tap
        self.target: QLineEdit | None = None
        self.shift = False
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.keys: dict[str, QPushButton] = {}
        self.lang = None

    def attach(self, target: QLineEdit) -> None:
        self.target = target

    def set_language(self, lang: str) -> None:
        if lang == self.lang:
            return
        self.lang = lang
        while self.layout_.count():
            row = self.layout_.takeAt(0).widget()
            if row is not None:
                row.hide()                # deleteLater waits for the event loop
                row.setParent(None)
                row.deleteLater()
        self.keys = {}
        get = lambda key: self.strings.get(lang, key)            # noqa: E731
        rows = list(get("keyboard.rows"))
        if get("keyboard.accents"):
            rows.insert(1, get("keyboard.accents"))
        for chars in rows:
            self._row([(c, c, lambda _=False, c=c: self.type(c)) for c in chars])
        tones = [(name, name, lambda _=False, m=mark: self.tone(m))
                 for name, mark in get("keyboard.tones")]
        self._row(tones + [
            ("space", get("keyboard.space"), lambda _=False: self.type(" ")),
            ("backspace", get("keyboard.backspace"), lambda _=False: self.backspace()),
            ("done", get("keyboard.done"), lambda _=False: self.done.emit()),
        ])

    def _row(self, keys) -> None:
        row = QWidget()
        row.setProperty("typing", True)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        for name, label, action in keys:
            button = QPushButton(label)
            button.setObjectName("key")
            button.clicked.connect(action)
            layout.addWidget(button, 2 if name in ("space",) else 1)
            self.keys[name] = button
        self.layout_.addWidget(row)

    def type(self, text: str) -> None:
        if self.target is not None and len(self.target.text()) < self.target.maxLength():
            self.target.insert(text)

    def backspace(self) -> None:
        if self.target is not None:
            self.target.backspace()

    def tone(self, mark: str) -> None:
        """Put a Vietnamese tone mark on the current word's main vowel (replacing its tone)."""
        if self.target is None or not self.target.text():
            return
        self.target.setText(with_tone(self.target.text(), mark))


def with_tone(text: str, mark: str) -> str:
    """`text` with the tone of its last word set to `mark` (a combining character).

    The vowel is chosen by the common rule: a vowel with a hat/horn/breve (ă â ê ô ơ ư) takes
    the tone; otherwise the last vowel when a consonant follows ('toán'), else the one before
    the last ('múa', 'hóa').
    """
    start = len(text) - len(text.split(" ")[-1])
    letters = [unicodedata.normalize("NFD", c) for c in text[start:]]
    bases = ["".join(ch for ch in c if ch not in TONE_MARKS) for c in letters]
    vowels = [i for i, b in enumerate(bases) if b[:1].lower() in "aeiouy"]
    if not vowels:
        return text
    cluster = [vowels[-1]]
    while cluster[0] - 1 in vowels:
        cluster.insert(0, cluster[0] - 1)
    marked = [i for i in cluster if len(bases[i]) > 1]          # base letter + hat/horn/breve
    if marked:
        target = marked[-1]
    elif cluster[-1] == len(bases) - 1 and len(cluster) >= 2:
        target = cluster[-2]
    else:
        target = cluster[-1]
    bases[target] += mark
    word = "".join(unicodedata.normalize("NFC", b) for b in bases)
    return text[:start] + word


TONE_MARKS = {"\u0301", "\u0300", "\u0309", "\u0303", "\u0323"}
