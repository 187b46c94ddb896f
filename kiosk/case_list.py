"""The detractor case inbox: touch-high rows, text wrapped inside them, whole rows only.

    cases = CasePanel()
    cases.set_min_row(96)                     # theme.min_touch_px on this screen
    cases.list.addItem(...)                   # a QListWidget: items, current row, UserRole
    cases.fit()                               # after the items change
    cases.more.text()                         # '12 cases not shown: tap to see them ▼'

Each row is at least the touch minimum high and as high as its text wrapped at the list's
width (no horizontal scrolling, nothing cut at the right). The list is exactly as high as the
whole rows that fit from its top row: no row is cut in half at the bottom edge. When some do
not fit, a touch-sized button below says how many are not shown and pages to them (then back
to the top); a mouse wheel scrolls a row at a time.
"""
from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (QAbstractItemView, QListWidget, QPushButton, QSizePolicy,
                               QStyledItemDelegate, QVBoxLayout, QWidget)

TEXT_MARGIN = 3          # px each side of a row's text (Qt's item delegate draws it there)
BIG = 100_000


class TouchRows(QStyledItemDelegate):
    """Rows at least `min_px` high, their text wrapped at the list's width."""

    def __init__(self, view: QListWidget):
        super().__init__(view)
        self.view = view
        self.min_px = 0
        self.pad = 6                         # px above and below the text

    def sizeHint(self, option, index) -> QSize:
        width = self.view.viewport().width()
        font = index.data(Qt.FontRole) or self.view.font()
        text = index.data(Qt.DisplayRole) or ""
        need = QFontMetrics(font).boundingRect(
            QRect(0, 0, max(1, width - 2 * TEXT_MARGIN), BIG), int(Qt.TextWordWrap.value),
            text).height()
        return QSize(width, max(self.min_px, need + 2 * self.pad))


class CaseList(QListWidget):
    """The list itself: wrapped rows, scrolled a whole row at a time, no scroll bars (the
    panel's button pages through it; a scroll bar would be too thin for a finger)."""
    resized = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("cases")
        self.setWordWrap(True)
        self.setTextElideMode(Qt.ElideNone)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollMode(QAbstractItemView.ScrollPerItem)
        self.setResizeMode(QListWidget.Adjust)
        self.setUniformItemSizes(False)
        self.setAlternatingRowColors(True)
        self.rows = TouchRows(self)
        self.setItemDelegate(self.rows)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self.resized.emit()              # the rows wrap anew: their heights change


class CasePanel(QWidget):
    """The list and, under it, the button that says how many cases are not shown."""
    paged = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.list = CaseList()
        self.more = QPushButton()
        self.more.setObjectName("more")
        self.more.clicked.connect(self.page)
        self.more.hide()
        self.words = {"more": "{n}", "top": "↑"}
        self.hidden = 0                      # rows not (wholly) shown
        self.below = 0                       # ... of which below the last one shown
        self._fitting = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addWidget(self.more)
        layout.addStretch(1)
        self.list.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.list.verticalScrollBar().valueChanged.connect(lambda _: self.fit())
        self.list.resized.connect(self.fit)

    def set_min_row(self, px: int) -> None:
        if px != self.list.rows.min_px:
            self.list.rows.min_px = px
            self.list.doItemsLayout()
            self.fit()

    def set_words(self, more, top: str) -> None:
        """`more(n)`: the button's text for n cases not shown; `top`: back to the first."""
        self.words = {"more": more, "top": top}
        self._label()

    def minimumSizeHint(self) -> QSize:
        # one row and the button: the rest of the list is paged to
        frame = 2 * self.list.frameWidth()
        return QSize(super().minimumSizeHint().width(),
                     frame + max(1, self.list.rows.min_px) * 2 + self.layout().spacing())

    def sizeHint(self) -> QSize:
        return self.minimumSizeHint()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.fit()

    def showEvent(self, event):
        super().showEvent(event)
        self.fit()

    def page(self) -> None:
        """The next rows not shown, or back to the top after the last."""
        bar = self.list.verticalScrollBar()
        if self.below:
            bar.setValue(min(bar.maximum(), bar.value() + max(1, self.count_shown())))
        else:
            bar.setValue(0)
        self.paged.emit()

    def count_shown(self) -> int:
        return self.list.count() - self.hidden

    def fit(self) -> None:
        """The list as high as the whole rows that fit from its top row, and the button."""
        if self._fitting:
            return
        self._fitting = True
        try:
            self._fit()
        finally:
            self._fitting = False

    def _fit(self) -> None:
        view, count = self.list, self.list.count()
        frame = 2 * view.frameWidth()
        top = view.verticalScrollBar().value() if count else 0
        heights = [view.sizeHintForRow(row) for row in range(count)]
        button = max(self.more.sizeHint().height(), self.more.minimumHeight())
        gap = self.layout().spacing()

        def shown(room: int) -> int:
            used, n = frame, 0
            for h in heights[top:]:
                if used + h > room:
                    break
                used, n = used + h, n + 1
            return n

        n = shown(self.height())
        if n < count - top or top > 0:         # not all: the button takes its room first
            n = shown(self.height() - button - gap)
        n = max(1, n) if count else 0
        self.hidden = count - n
        self.below = max(0, count - top - n)
        height = frame + sum(heights[top:top + n]) if count else frame + view.rows.min_px
        view.setFixedHeight(max(height, frame + 1))
        self.more.setVisible(self.hidden > 0)
        self._label()

    def _label(self) -> None:
        if self.hidden:
            self.more.setText(self.words["more"](self.hidden) if self.below
                              else self.words["top"])
