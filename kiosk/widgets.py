"""Small reusable kiosk widgets: a 0..N answer scale, language toggle, reason chips, QR image."""
from __future__ import annotations

import io

import segno
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QButtonGroup, QGridLayout, QHBoxLayout, QLabel, QPushButton,
                               QSizePolicy, QWidget)


class AnswerScale(QWidget):
    """A row of equal, neutral buttons lo..hi with end labels under the first and last one.

    Every button looks the same (no red/green colouring that would nudge the answer).
    """
    chosen = Signal(int)

    def __init__(self, lo: int, hi: int, parent=None):
        super().__init__(parent)
        self.buttons: dict[int, QPushButton] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        for col, value in enumerate(range(lo, hi + 1)):
            button = QPushButton(str(value))
            button.setObjectName("scale")
            button.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
            button.clicked.connect(lambda _=False, v=value: self.chosen.emit(v))
            grid.addWidget(button, 0, col)
            self.buttons[value] = button
        span = max(1, (hi - lo + 1) // 2)
        self.low_label, self.high_label = QLabel(), QLabel()
        for label in (self.low_label, self.high_label):
            label.setObjectName("endlabel")
            label.setWordWrap(True)
        self.low_label.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.high_label.setAlignment(Qt.AlignRight | Qt.AlignTop)
        grid.addWidget(self.low_label, 1, 0, 1, span)
        grid.addWidget(self.high_label, 1, hi - lo + 1 - span, 1, span)

    def set_labels(self, low: str, high: str) -> None:
        self.low_label.setText(low)
        self.high_label.setText(high)


class LanguageBar(QWidget):
    """One button per language, each labelled in its own language; the current one is marked."""
    changed = Signal(str)

    def __init__(self, strings, languages: list[str], parent=None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addStretch(1)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QPushButton] = {}
        for lang in languages:
            button = QPushButton(strings.name(lang))
            button.setObjectName("lang")
            button.setCheckable(True)
            button.clicked.connect(lambda _=False, code=lang: self.changed.emit(code))
            self.group.addButton(button)
            layout.addWidget(button)
            self.buttons[lang] = button
        self.setVisible(len(languages) > 1)

    def set_current(self, lang: str) -> None:
        self.buttons[lang].setChecked(True)


class ReasonChips(QWidget):
    """Toggle chips for the configured reasons of one group; `selected()` gives their ids."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.chips: dict[str, QPushButton] = {}

    def show_reasons(self, reasons, lang: str, columns: int = 3) -> None:
        keep = set(self.selected())
        for chip in self.chips.values():
            self.grid.removeWidget(chip)
            chip.hide()
            chip.setParent(None)
            chip.deleteLater()
        self.chips = {}
        for i, reason in enumerate(reasons):
            chip = QPushButton(getattr(reason, lang))
            chip.setObjectName("chip")
            chip.setCheckable(True)
            chip.setChecked(reason.id in keep)
            chip.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
            self.grid.addWidget(chip, i // columns, i % columns)
            self.chips[reason.id] = chip

    def clear(self) -> None:
        for chip in self.chips.values():
            chip.setChecked(False)

    def selected(self) -> list[str]:
        return [rid for rid, chip in self.chips.items() if chip.isChecked()]


def qr_pixmap(url: str, size_px: int) -> QPixmap:
    """A QR code for `url` (segno), scaled to about `size_px` without blurring the modules."""
    qr = segno.make(url, error="m")
    modules = qr.symbol_size(scale=1, border=2)[0]
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=max(1, size_px // modules), border=2)
    pixmap = QPixmap()
    pixmap.loadFromData(buffer.getvalue(), "PNG")
    return pixmap
