"""Does every visible text fit, and is every touch target big enough? (issue 20)

    problems = check_window(window, where="admin/vi/1280x800")
    assert not problems, "\\n".join(problems)

`check_window` walks every widget that shows on the window as it is now and returns one
readable line per problem:

- clipped: a label's, button's or line edit's text needs more room than the widget's
  contents (its font's metrics; a word-wrapped label at its own width; rich text laid out as
  a document), or the widget, a list row or an image is partly outside what shows of it
  (its parent's rectangle, the window, the list's viewport);
- elided: the text on show has an '…' that none of its sources has, or a list row's or a
  line edit's placeholder text is wider than its room (Qt elides those);
- alone: a wrapped line holds a single word of a paragraph of three or more words (the line
  breaks are Qt's own, from QTextLayout at the widget's width);
- small: an enabled button, a line edit that is tapped to type, or a selectable list row
  less than the minimum touch size in either direction;
- grew: the window is larger than the screen it was sized for (its layout's minimum does
  not fit: on the kiosk's full screen the rest is cut off).

The rules only read Qt's own geometry and font metrics, so they hold at any size; the
minimum touch size is `kiosk.theme.min_touch_px` where the theme has it, else its scaled
"touch" size.
"""
from __future__ import annotations

import re
import sys

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QFontMetrics, QImage, QPainter, QTextDocument
from PySide6.QtGui import Qt as GuiQt
from PySide6.QtWidgets import (QAbstractButton, QAbstractScrollArea, QApplication, QLabel,
                               QLineEdit, QListWidget, QStackedWidget, QStyle,
                               QStyleOptionButton, QStyleOptionFrame, QWidget)

from kiosk.widgets import wrapped_lines

ELLIPSIS = "…"
BIG = 100_000
SLACK = 1                  # px: Qt rounds metrics to whole pixels one way or the other
LIST_TEXT_MARGIN = 3       # px each side of a list row's text (the item delegate's margin)


def min_touch_px(window: QWidget, diagonal_in: float | None = None,
                 size: tuple[int, int] | None = None) -> int:
    """The smallest tap target allowed on `window`'s screen (`size`, else the window's own),
    in pixels; the screen's diagonal from the window's config when it has one."""
    from kiosk import theme

    w, h = size if size is not None else (window.width(), window.height())
    if hasattr(theme, "min_touch_px"):
        if diagonal_in is None:
            config = getattr(window, "config", None)
            diagonal_in = getattr(getattr(config, "kiosk", None), "screen_diagonal_in", 21.5)
        try:
            return int(theme.min_touch_px((w, h), diagonal_in))
        except TypeError:
            return int(theme.min_touch_px(QSize(w, h), diagonal_in))
    return theme.sizes(theme.scale_for(w, h))["touch"]


def check_window(window: QWidget, where: str = "", min_touch: int | None = None,
                 sources=(), size: tuple[int, int] | None = None) -> list[str]:
    """Every problem on what `window` shows now, one line each (see the module's doc).

    `sources`: texts that may hold an '…' of their own (the translations); `size`: the
    screen `window` was sized for, when it should be checked that it kept it."""
    QApplication.instance().processEvents()
    min_touch = min_touch_px(window, size=size) if min_touch is None else min_touch
    checker = _Checker(window, where, min_touch, list(sources))
    if size is not None and (window.width(), window.height()) != tuple(size):
        checker.add(window, f"grew to {window.width()}x{window.height()}: its layout does "
                            f"not fit {size[0]}x{size[1]} (the rest is cut off on the screen)"
                            + _too_big(window, size))
    shown = [w for w in window.findChildren(QWidget) if w.isVisibleTo(window)]
    for widget in [window] + shown:
        checker.widget(widget)
    checker.covered(shown)
    checker.charts(shown)
    checker.finish()
    return checker.problems


def _too_big(window: QWidget, size) -> str:
    """Which pages of the window's stacks ask for more than the screen has: a stack is as
    big as its biggest page, so a hidden page can push the window past the screen."""
    dx, dy = window.width() - size[0], window.height() - size[1]
    culprits = []
    for stack in window.findChildren(QStackedWidget):
        for i in range(stack.count()):
            page = stack.widget(i)
            need = page.minimumSizeHint().expandedTo(page.minimumSize())
            if (dx > 0 and need.width() > stack.width() - dx or
                    dy > 0 and need.height() > stack.height() - dy):
                culprits.append(f"{name_of(page)} needs {need.width()}x{need.height()}")
    return f"; {', '.join(culprits)}" if culprits else ""


def name_of(widget: QWidget) -> str:
    """'QPushButton#primary' or 'QLabel in AlertsPanel' (the nearest named ancestor)."""
    kind = type(widget).__name__
    if widget.objectName():
        return f"{kind}#{widget.objectName()}"
    parent = widget.parentWidget()
    while parent is not None:
        if parent.objectName() or type(parent).__module__.startswith("kiosk"):
            own = f"#{parent.objectName()}" if parent.objectName() else ""
            return f"{kind} in {type(parent).__name__}{own}"
        parent = parent.parentWidget()
    return kind


def _short(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 3] + "..."


class _Checker:
    def __init__(self, window, where, min_touch, sources):
        self.window, self.where, self.min_touch = window, where, min_touch
        self.sources = [s for s in sources if ELLIPSIS in s]
        self.problems: list[str] = []
        self.small: dict[tuple, list[QWidget]] = {}    # alike targets: one line

    def finish(self) -> None:
        for (name, what), widgets in self.small.items():
            texts = list(dict.fromkeys(t for t in (_text_of(x) for x in widgets) if t))
            said = ", ".join(f"'{_short(t, 24)}'" for t in texts[:6])
            said += ", ..." if len(texts) > 6 else ""
            said = f" text {said}" if said else ""
            count = f"{len(widgets)} x " if len(widgets) > 1 else ""
            ws, hs = [x.width() for x in widgets], [x.height() for x in widgets]
            span = lambda v: f"{min(v)}" if min(v) == max(v) else f"{min(v)}-{max(v)}"  # noqa
            self.problems.append(f"{self.where}: {count}{name}{said} {what} is "
                                 f"{span(ws)}x{span(hs)} px, under the {self.min_touch} px "
                                 f"touch minimum")

    def add(self, widget, message: str, text: str | None = None) -> None:
        said = f" text '{_short(text)}'" if text else ""
        line = f"{self.where}: {name_of(widget)}{said} {message}"
        if line not in self.problems:
            self.problems.append(line)

    # -- one widget ------------------------------------------------------------------------
    def widget(self, w: QWidget) -> None:
        if isinstance(w, QLabel):
            self.label(w)
        elif isinstance(w, QAbstractButton):
            self.button(w)
        elif isinstance(w, QLineEdit):
            self.line_edit(w)
        if isinstance(w, QListWidget):
            self.list_rows(w)
        if isinstance(w, (QLabel, QAbstractButton, QLineEdit)):
            self.inside(w)

    def covered(self, shown: list[QWidget]) -> None:
        """A widget laid over others (one in no layout: a floating keyboard, a badge) must
        hide none of a text field (what is typed would not show), must leave of a button it
        partly hides a touch-sized part or nothing, and must not hide part of a text, unless
        it is a sheet (docked across the window at its top or bottom edge: text slides under
        it, as under a phone's keyboard). Wholly hiding a label or button is what an overlay
        is for."""
        overlays = [b for b in shown if _floats(b)]
        if not overlays:
            return
        targets = [a for a in shown if isinstance(a, (QLabel, QAbstractButton, QLineEdit))
                   and (_text_of(a) or isinstance(a, QLineEdit))]
        screen = self.window.rect()
        for b in overlays:
            top = QRect(b.mapTo(self.window, b.rect().topLeft()), b.size())
            sheet = (top.left() <= screen.left() and top.right() >= screen.right() and
                     (top.top() <= screen.top() or top.bottom() >= screen.bottom()))
            for a in targets:
                if a is b or b.isAncestorOf(a) or a.isAncestorOf(b):
                    continue
                rect = QRect(a.mapTo(self.window, a.rect().topLeft()), a.size())
                hidden = rect.intersected(top)
                if hidden.isEmpty() or not _above(b, a):
                    continue
                whole = hidden == rect
                how = "wholly" if whole else f"{hidden.width()}x{hidden.height()} of it"
                if isinstance(a, QLineEdit):
                    self.add(a, f"is covered by {name_of(b)} ({how})", _text_of(a))
                elif whole:
                    continue
                elif isinstance(a, QAbstractButton):
                    left = _uncovered(rect, top)
                    if a.isEnabled() and min(left.width(), left.height()) < self.min_touch:
                        self.add(a, f"is covered by {name_of(b)} but for a {left.width()}x"
                                    f"{left.height()} px sliver, under the {self.min_touch} px "
                                    f"touch minimum", _text_of(a))
                elif not sheet:
                    self.add(a, f"is covered by {name_of(b)} ({how})", _text_of(a))

    def charts(self, shown: list[QWidget]) -> None:
        """pyqtgraph's axes: tick labels that overlap, an axis title cut by the chart's edge,
        and a label given with setTicks that pyqtgraph left out for want of room (it drops a
        label that would cross the axis's edge)."""
        pg = sys.modules.get("pyqtgraph")
        if pg is None:
            return
        image = QImage(8, 8, QImage.Format_ARGB32)
        for plot in [w for w in shown if isinstance(w, pg.PlotWidget)]:
            item = plot.getPlotItem()
            for side in ("left", "bottom", "right", "top"):
                axis = item.getAxis(side)
                if axis is None or not axis.isVisible():
                    continue
                painter = QPainter(image)
                try:
                    specs = axis.generateDrawSpecs(painter)
                finally:
                    painter.end()
                if specs is None:
                    continue
                self.axis(plot, side, axis, specs[2])

    def axis(self, plot, side: str, axis, text_specs) -> None:
        where = f"{side} axis"
        across = side in ("bottom", "top")
        rects = sorted(((rect, text) for rect, _, text in text_specs),
                       key=lambda rt: rt[0].left() if across else rt[0].top())
        for (a, ta), (b, tb) in zip(rects, rects[1:]):
            both = a.intersected(b)
            if both.width() > SLACK and both.height() > SLACK:
                along = both.width() if across else both.height()
                self.add(plot, f"{where}: tick labels '{ta}' and '{tb}' overlap "
                               f"({along:.0f} px)")
        levels = getattr(axis, "_tickLevels", None)       # what setTicks was given
        if levels:
            low, high = sorted(axis.range)
            wanted = [text for level in levels for value, text in level
                      if low <= value <= high and str(text).strip()]
            drawn = {text for _, text in rects}
            missing = [text for text in wanted if text not in drawn]
            if missing:
                said = ", ".join(f"'{t}'" for t in missing)
                self.add(plot, f"{where}: tick label(s) {said} not drawn (no room at the "
                               f"axis's edge)")
        label = getattr(axis, "label", None)
        if label is not None and label.isVisible() and label.toPlainText().strip():
            # the title's text (less its document's margin), where the view shows it
            margin = label.document().documentMargin()
            box = label.boundingRect().adjusted(margin, margin, -margin, -margin)
            seen = plot.mapFromScene(label.mapRectToScene(box)).boundingRect()
            view = plot.viewport().rect()
            if not view.adjusted(-SLACK, -SLACK, SLACK, SLACK).contains(seen):
                shown = seen.intersected(view)
                self.add(plot, f"{where}: its title is cut by the chart's edge "
                               f"({shown.width()}x{shown.height()} of {seen.width()}x"
                               f"{seen.height()} shows)", label.toPlainText())

    def inside(self, w: QWidget) -> None:
        """The whole of `w` shows: within each ancestor up to the window (a scroll area's
        content may scroll, so it stops there)."""
        if w.width() <= 0 or w.height() <= 0:
            self.add(w, f"has no room at all ({w.width()}x{w.height()})", _text_of(w))
            return
        rect, child = QRect(w.rect()), w
        while child is not self.window and child.parentWidget() is not None:
            parent = child.parentWidget()
            rect.translate(child.pos())
            if isinstance(parent.parentWidget(), QAbstractScrollArea):
                return
            if not parent.rect().contains(rect):
                seen = rect.intersected(parent.rect())
                self.add(w, f"is clipped: {rect.width()}x{rect.height()} at "
                            f"({rect.x()},{rect.y()}) in a {parent.width()}x{parent.height()} "
                            f"{name_of(parent)}, {seen.width()}x{seen.height()} of it shows",
                         _text_of(w))
                return
            child = parent

    def elided(self, w, shown: str) -> None:
        if ELLIPSIS not in shown:
            return
        for match in re.finditer(ELLIPSIS, shown):
            before = shown[max(0, match.start() - 8):match.end()]
            if not any(before in source for source in self.sources):
                self.add(w, "is elided (an '…' its text does not have)", shown)
                return

    def touch(self, w: QWidget, what: str) -> None:
        if w.isEnabled() and min(w.width(), w.height()) < self.min_touch:
            self.small.setdefault((name_of(w), what), []).append(w)

    # -- labels ----------------------------------------------------------------------------
    def label(self, w: QLabel) -> None:
        pixmap = w.pixmap()
        if pixmap is not None and not pixmap.isNull() and not w.text():
            room = _label_rect(w)
            size = pixmap.deviceIndependentSize().toSize()
            if size.width() > room.width() + SLACK or size.height() > room.height() + SLACK:
                self.add(w, f"image {size.width()}x{size.height()} is clipped to "
                            f"{room.width()}x{room.height()}")
            return
        text = w.text()
        if not text.strip():
            return
        self.elided(w, text)
        room = _label_rect(w)
        rich = w.textFormat() == Qt.RichText or (w.textFormat() == Qt.AutoText and
                                                 GuiQt.mightBeRichText(text))
        if rich:
            need = _rich_size(text, w.font(), room.width() if w.wordWrap() else -1)
            plain = _plain_of_rich(text, w.font())
        else:
            fm = QFontMetrics(w.font())
            flags = int(w.alignment().value) | int(Qt.TextExpandTabs.value)
            if w.wordWrap():
                flags |= int(Qt.TextWordWrap.value)
            need = fm.boundingRect(QRect(0, 0, room.width() if w.wordWrap() else BIG, BIG),
                                   flags, text).size()
            plain = text
        self.fits(w, need, room, plain)
        if w.wordWrap() and not rich:
            self.alone(w, text, room.width())

    def fits(self, w, need: QSize, room: QRect, text: str) -> None:
        wide = need.width() > room.width() + SLACK
        tall = need.height() > room.height() + SLACK
        if wide or tall:
            self.add(w, f"is clipped: needs {need.width()}x{need.height()} px, has "
                        f"{room.width()}x{room.height()}", text)

    def alone(self, w, text: str, width: int) -> None:
        words = lone_words(text, w.font(), width)
        if words:
            said = ", ".join(f"'{word}'" for word in words)
            self.add(w, f"leaves {said} alone on a line", text)

    # -- buttons and line edits ------------------------------------------------------------
    def button(self, w: QAbstractButton) -> None:
        self.touch(w, "button")
        text = w.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
        if not text.strip():
            return
        self.elided(w, text)
        opt = QStyleOptionButton()
        opt.initFrom(w)
        opt.text = text
        room = w.style().subElementRect(QStyle.SE_PushButtonContents, opt, w)
        if room.isEmpty():
            room = w.contentsRect()
        fm = QFontMetrics(w.font())
        need = fm.boundingRect(QRect(0, 0, BIG, BIG), int(Qt.AlignCenter.value), text).size()
        icon = w.iconSize().width() + 4 if not w.icon().isNull() else 0
        need = QSize(need.width() + icon, need.height())
        self.fits(w, need, room, text)

    def line_edit(self, w: QLineEdit) -> None:
        if not w.isReadOnly():
            self.touch(w, "text field")
        opt = QStyleOptionFrame()
        opt.initFrom(w)
        room = w.style().subElementRect(QStyle.SE_LineEditContents, opt, w)
        margins = w.textMargins()
        room = room.adjusted(margins.left() + 2, margins.top(), -margins.right() - 2,
                             -margins.bottom())              # QLineEdit's own 2 px each side
        fm = QFontMetrics(w.font())
        if fm.height() > room.height() + SLACK:
            self.add(w, f"is clipped: its text is {fm.height()} px high, it has "
                        f"{room.height()}", w.text() or w.placeholderText())
        if not w.text() and w.placeholderText():
            self.elided(w, w.placeholderText())
            need = fm.horizontalAdvance(w.placeholderText())
            if need > room.width() + SLACK:
                self.add(w, f"is elided: its placeholder needs {need} px, has {room.width()}",
                         w.placeholderText())

    # -- list rows -------------------------------------------------------------------------
    def list_rows(self, w: QListWidget) -> None:
        """Each row in sight: its text fits (a list that scrolls sideways cuts it, one that
        elides puts an '…'), and a row that can be chosen is touch high."""
        view = w.viewport().rect()
        small, cut = [], {}
        for row in range(w.count()):
            item = w.item(row)
            if item.isHidden():
                continue
            rect = w.visualItemRect(item)
            if not rect.intersects(view):
                continue                       # scrolled out of sight: the list scrolls
            text, what = item.text(), f"row {row}"
            flags = item.flags()
            if flags & Qt.ItemIsEnabled and flags & Qt.ItemIsSelectable:
                if rect.height() < self.min_touch:
                    small.append((row, rect.height(), text))
            if not text.strip():
                continue
            self.elided(w, text)
            font = item.font() if item.data(Qt.FontRole) is not None else w.font()
            fm = QFontMetrics(font)
            icon = (w.iconSize().width() + 2 * LIST_TEXT_MARGIN
                    if not item.icon().isNull() else 0)
            # what shows of the row: a row wider than the list is cut at the list's edge
            shown = min(rect.right(), view.right()) - rect.left() + 1
            room = QRect(rect.left(), rect.top(), shown, rect.height()).adjusted(
                LIST_TEXT_MARGIN + icon, 0, -LIST_TEXT_MARGIN, 0)
            if w.wordWrap():
                need = fm.boundingRect(QRect(0, 0, room.width(), BIG),
                                       int(Qt.TextWordWrap.value), text).size()
                words = lone_words(text, font, room.width())
                if words:
                    said = ", ".join(f"'{word}'" for word in words)
                    self.add(w, f"{what} leaves {said} alone on a line", text)
            else:
                need = QSize(max(fm.horizontalAdvance(line) for line in text.split("\n")),
                             len(text.split("\n")) * fm.height())
            if need.width() > room.width() + SLACK:
                how = ("cut at the list's edge (the list scrolls sideways)"
                       if rect.width() > shown else
                       "elided" if w.textElideMode() != Qt.ElideNone else "clipped")
                cut.setdefault(how, []).append((row, need.width(), room.width(), text))
            if need.height() > room.height() + SLACK:
                self.add(w, f"{what} is clipped: needs {need.height()} px high, has "
                            f"{room.height()}", text)
        for how, rows in cut.items():          # one line per list and way of cutting
            row, need, room, text = max(rows, key=lambda r: r[1] - r[2])
            many = f"{len(rows)} rows are" if len(rows) > 1 else f"row {row} is"
            worst = f", the worst row {row}" if len(rows) > 1 else ""
            self.add(w, f"{many} {how}{worst} needs {need} px wide, has {room}", text)
        if small:
            rows = small[0][0] if len(small) == 1 else f"{small[0][0]}-{small[-1][0]}"
            heights = sorted({h for _, h, _ in small})
            high = f"{heights[0]}" if len(heights) == 1 else f"{heights[0]}-{heights[-1]}"
            self.add(w, f"{len(small)} row(s) ({rows}) {high} px high, under the "
                        f"{self.min_touch} px touch minimum", small[0][2])


def lone_words(text: str, font, width: int) -> list[str]:
    """The words left alone on a line when `text` wraps at `width` px (a paragraph of three
    or more words only): Qt's own line breaks, as the kiosk computes them."""
    alone = []
    for paragraph in text.split("\n"):
        if len(paragraph.split()) < 3:
            continue
        lines = wrapped_lines(paragraph, font, width)
        if len(lines) < 2:
            continue
        alone += [line.strip() for line in lines if len(line.split()) == 1]
    return alone


def _in_layout(layout, widget) -> bool:
    for i in range(layout.count()):
        item = layout.itemAt(i)
        if item.widget() is widget:
            return True
        if item.layout() is not None and _in_layout(item.layout(), widget):
            return True
    return False


def _floats(w: QWidget) -> bool:
    """Placed by hand over its parent's other children (no layout holds it), and painted:
    not a see-through hot-spot, not a scroll area's own parts."""
    parent = w.parentWidget()
    if parent is None or w.isWindow() or w.testAttribute(Qt.WA_TranslucentBackground):
        return False
    ancestor = parent
    while ancestor is not None:
        if isinstance(ancestor, QAbstractScrollArea):
            return False
        ancestor = ancestor.parentWidget()
    return parent.layout() is None or not _in_layout(parent.layout(), w)


def _uncovered(rect: QRect, cover: QRect) -> QRect:
    """The biggest strip of `rect` outside `cover` (a cover across it leaves a strip)."""
    strips = [QRect(rect.left(), rect.top(), rect.width(), cover.top() - rect.top()),
              QRect(rect.left(), cover.bottom() + 1, rect.width(), rect.bottom() - cover.bottom()),
              QRect(rect.left(), rect.top(), cover.left() - rect.left(), rect.height()),
              QRect(cover.right() + 1, rect.top(), rect.right() - cover.right(), rect.height())]
    strips = [r for r in strips if r.width() > 0 and r.height() > 0]
    return max(strips, key=lambda r: r.width() * r.height(), default=QRect())


def _above(b: QWidget, a: QWidget) -> bool:
    """Is `b` painted over `a`? Siblings later in their parent's children are on top."""
    chain_a = [a]
    while chain_a[-1].parentWidget() is not None:
        chain_a.append(chain_a[-1].parentWidget())
    chain_b = [b]
    while chain_b[-1].parentWidget() is not None:
        chain_b.append(chain_b[-1].parentWidget())
    for i, ancestor in enumerate(chain_a):
        if ancestor in chain_b:
            j = chain_b.index(ancestor)
            if i == 0 or j == 0:
                return False
            kids = ancestor.children()
            return kids.index(chain_b[j - 1]) > kids.index(chain_a[i - 1])
    return False


def _text_of(w: QWidget) -> str | None:
    if isinstance(w, (QLabel, QAbstractButton)):
        return w.text() or None
    if isinstance(w, QLineEdit):
        return w.text() or w.placeholderText() or None
    return None


def _label_rect(w: QLabel) -> QRect:
    """Where QLabel draws: its contents rectangle less its margin (and indent, if any)."""
    rect = w.contentsRect()
    m = w.margin()
    rect = rect.adjusted(m, m, -m, -m)
    indent = w.indent()
    if indent > 0:
        align = w.alignment()
        if align & Qt.AlignLeft:
            rect.setLeft(rect.left() + indent)
        if align & Qt.AlignRight:
            rect.setRight(rect.right() - indent)
        if align & Qt.AlignTop:
            rect.setTop(rect.top() + indent)
        if align & Qt.AlignBottom:
            rect.setBottom(rect.bottom() - indent)
    return rect


def _document(html: str, font, width: int) -> QTextDocument:
    doc = QTextDocument()
    doc.setDefaultFont(font)
    doc.setDocumentMargin(0)               # as QLabel's own document
    doc.setHtml(html)
    doc.setTextWidth(width)
    return doc


def _rich_size(html: str, font, width: int) -> QSize:
    doc = _document(html, font, width)
    if width < 0:
        return QSize(int(doc.idealWidth() + 0.999), int(doc.size().height() + 0.999))
    return QSize(int(doc.size().width() + 0.999), int(doc.size().height() + 0.999))


def _plain_of_rich(html: str, font) -> str:
    return _document(html, font, -1).toPlainText()

