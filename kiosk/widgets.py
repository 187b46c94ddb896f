"""Small reusable kiosk widgets: a 0..N answer scale, language toggle, reason chips, a title
whose lines are balanced, the QR code and the store's logo as images."""
from __future__ import annotations

import io
import math
from pathlib import Path

import segno
from PySide6.QtCore import QEvent, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QPainter, QPixmap, QTextLayout, QTextOption
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import (QButtonGroup, QGridLayout, QHBoxLayout, QLabel, QPushButton,
                               QSizePolicy, QWidget)


class AnswerScale(QWidget):
    """Equal, neutral buttons lo..hi with end labels under the first and the last one: in one
    row, or in two (`set_per_row`) where one row would make them narrower than a finger.

    Every button looks the same (no red/green colouring that would nudge the answer).
    """
    chosen = Signal(int)

    def __init__(self, lo: int, hi: int, parent=None):
        super().__init__(parent)
        self.lo, self.hi = lo, hi
        self.buttons: dict[int, QPushButton] = {}
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        for value in range(lo, hi + 1):
            button = QPushButton(str(value))
            button.setObjectName("scale")
            button.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
            button.clicked.connect(lambda _=False, v=value: self.chosen.emit(v))
            self.buttons[value] = button
        self.low_label, self.high_label = QLabel(), QLabel()
        for label in (self.low_label, self.high_label):
            label.setObjectName("endlabel")
            label.setWordWrap(True)
        self.low_label.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.high_label.setAlignment(Qt.AlignRight | Qt.AlignTop)
        self.per_row = 0
        self.set_per_row(len(self.buttons))

    @property
    def rows(self) -> int:
        return math.ceil(len(self.buttons) / self.per_row)

    def set_per_row(self, per_row: int) -> None:
        """At most `per_row` buttons a row, rows of equal buttons, a shorter last row centred
        (0-5 over 6-10); the end labels under the last row."""
        per_row = max(1, min(per_row, len(self.buttons)))
        if per_row == self.per_row:
            return
        self.per_row = per_row
        while self.grid.count():
            self.grid.takeAt(0)
        values = list(self.buttons)
        rows = [values[i:i + per_row] for i in range(0, len(values), per_row)]
        for r, row in enumerate(rows):
            offset = per_row - len(row)          # in half-buttons: each button spans two
            for c, value in enumerate(row):
                self.grid.addWidget(self.buttons[value], r, offset + 2 * c, 1, 2)
        span = max(2, per_row)                   # half the row, in half-buttons
        self.grid.addWidget(self.low_label, len(rows), 0, 1, span)
        self.grid.addWidget(self.high_label, len(rows), 2 * per_row - span, 1, span)
        for column in range(2 * per_row):
            self.grid.setColumnStretch(column, 1)
        for column in range(2 * per_row, self.grid.columnCount()):
            self.grid.setColumnStretch(column, 0)

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
    """Toggle chips for the configured reasons of one group; `selected()` gives their ids.
    As many columns (up to MAX_COLUMNS) as leave every chip's text room in the width given
    to `set_room`."""
    MAX_COLUMNS = 3

    def __init__(self, parent=None):
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.chips: dict[str, QPushButton] = {}
        self.room = 0                         # px across; 0 = not known yet
        self.columns = self.MAX_COLUMNS

    def set_room(self, width: int) -> None:
        self.room = width
        self._arrange()

    def show_reasons(self, reasons, lang: str, columns: int | None = None) -> None:
        keep = set(self.selected())
        for chip in self.chips.values():
            self.grid.removeWidget(chip)
            chip.hide()
            chip.setParent(None)
            chip.deleteLater()
        self.chips = {}
        for reason in reasons:
            chip = QPushButton(getattr(reason, lang), self)
            chip.setObjectName("chip")
            chip.setCheckable(True)
            chip.setChecked(reason.id in keep)
            chip.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
            self.chips[reason.id] = chip
        self._arrange(columns)

    def _arrange(self, columns: int | None = None) -> None:
        chips = list(self.chips.values())
        if columns is None:
            columns = self._columns_that_fit(chips)
        self.columns = columns
        for chip in chips:
            self.grid.removeWidget(chip)
        for i, chip in enumerate(chips):
            self.grid.addWidget(chip, i // columns, i % columns)
            chip.show()
        for column in range(self.MAX_COLUMNS):
            self.grid.setColumnStretch(column, 1 if column < columns else 0)

    def _columns_that_fit(self, chips) -> int:
        if not chips or self.room <= 0:
            return self.MAX_COLUMNS
        for chip in chips:
            chip.ensurePolished()
        need = max(chip.sizeHint().width() for chip in chips)
        gap = max(0, self.grid.spacing())
        for columns in range(min(self.MAX_COLUMNS, len(chips)), 0, -1):
            if (self.room - gap * (columns - 1)) / columns >= need:
                return columns
        return 1

    def clear(self) -> None:
        for chip in self.chips.values():
            chip.setChecked(False)

    def selected(self) -> list[str]:
        return [rid for rid, chip in self.chips.items() if chip.isChecked()]


class BalancedLabel(QLabel):
    """A centred, word-wrapped label whose lines are balanced: its text is laid out in the
    narrowest width that keeps the number of lines it needs, so a question that wraps reads
    'Quý khách có sẵn lòng giới thiệu CX Demo Store / cho bạn bè hoặc đồng nghiệp không?'
    instead of leaving 'không?' alone on the last line. `text()` is the text as set.
    Left-aligned admin text keeps its last two words together instead (kiosk.typeset)."""

    def __init__(self, name: str = "", parent=None):
        super().__init__(parent)
        self.setObjectName(name)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignCenter)
        self.inset = 0                        # px each side, added to balance the lines

    def setText(self, text: str) -> None:
        super().setText(text)
        self.balance()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.balance()

    def changeEvent(self, event):
        super().changeEvent(event)
        if event.type() in (QEvent.FontChange, QEvent.StyleChange):
            self.balance()

    def balance(self) -> None:
        full = self.contentsRect().width() + 2 * self.inset
        text = self.text()
        inset = 0
        if full > 0 and text and self.alignment() & Qt.AlignHCenter:
            lines = len(wrapped_lines(text, self.font(), full))
            if lines > 1:
                inset = (full - _narrowest(text, self.font(), full, lines)) // 2
        if inset != self.inset:
            margins = self.contentsMargins()
            self.inset = inset
            self.setContentsMargins(inset, margins.top(), inset, margins.bottom())


def wrapped_lines(text: str, font, width: int) -> list[str]:
    """The lines Qt breaks `text` into at `width` px in `font` (QTextLayout, as QLabel)."""
    lines = []
    option = QTextOption()
    option.setWrapMode(QTextOption.WordWrap)
    for paragraph in text.split("\n"):
        layout = QTextLayout(paragraph, font)
        layout.setTextOption(option)
        layout.beginLayout()
        while True:
            line = layout.createLine()
            if not line.isValid():
                break
            line.setLineWidth(width)
            lines.append(paragraph[line.textStart():line.textStart() + line.textLength()])
        layout.endLayout()
    return lines


def _narrowest(text: str, font, width: int, lines: int) -> int:
    """The least width at which `text` still takes `lines` lines (a binary search)."""
    lo, hi = 1, width
    while lo < hi:
        mid = (lo + hi) // 2
        if len(wrapped_lines(text, font, mid)) <= lines:
            hi = mid
        else:
            lo = mid + 1
    return hi


def qr_pixmap(url: str, size_px: int) -> QPixmap:
    """A QR code for `url` (segno) of at least `size_px` across, quiet zone included, each
    module a whole number of pixels (no blurring)."""
    qr = segno.make(url, error="m")
    modules = qr.symbol_size(scale=1, border=2)[0]
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=max(1, math.ceil(size_px / modules)), border=2)
    pixmap = QPixmap()
    pixmap.loadFromData(buffer.getvalue(), "PNG")
    return pixmap


def logo_pixmap(path: Path | str, box: QSize) -> QPixmap:
    """The logo at `path` (SVG, drawn at the size; PNG or another image, scaled smoothly) as
    large as fits in `box`, its proportions kept. A null pixmap if it cannot be read."""
    path = str(path)
    if path.lower().endswith(".svg"):
        renderer = QSvgRenderer(path)
        if not renderer.isValid() or renderer.defaultSize().isEmpty():
            return QPixmap()
        size = renderer.defaultSize().scaled(box, Qt.KeepAspectRatio)
        pixmap = QPixmap(size)
        pixmap.fill(Qt.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter, QRectF(0, 0, size.width(), size.height()))
        painter.end()
        return pixmap
    image = QPixmap(path)
    if image.isNull():
        return image
    return image.scaled(box, Qt.KeepAspectRatio, Qt.SmoothTransformation)
