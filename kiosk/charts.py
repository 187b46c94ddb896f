"""pyqtgraph charts a store manager reads at arm's length: tick labels and axis titles in
the theme's text size (scaled to the screen), the titles in the manager's language, counts
with whole-number ticks written the language's way.

    chart = BarChart()
    chart.set_font_px(20)                        # the theme's "small" size on this screen
    chart.set_axis_titles("Hour of day", "Entries")
    chart.set_bars(range(24), counts, ticks=[(h, f"{h:02d}") for h in range(0, 24, 3)],
                   lang="en")
    legible_axes(plot_widget, 20, "Day", "NPS")  # any other pyqtgraph PlotWidget

pyqtgraph draws its own text (QGraphicsItems): the stylesheet's font sizes never reach it,
so each chart is given its pixel size here.
"""
from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from station.wording import number

pg.setConfigOptions(antialias=False, background="w", foreground="#16181d")
BAR = pg.mkBrush("#0b5cab")
INK, SUBTLE = "#16181d", "#3d4350"
FAMILY = "DejaVu Sans"                 # the stylesheet's family (style.qss)
AXES = ("bottom", "left")


def chart_font(px: int, bold: bool = False) -> QFont:
    font = QFont(FAMILY)
    font.setPixelSize(max(1, int(px)))
    font.setBold(bold)
    return font


def legible_axes(plot: pg.PlotWidget, px: int, bottom: str | None = None,
                 left: str | None = None) -> None:
    """Tick labels `px` pixels high on the bottom and left axes, and their titles (None:
    leave the title as it is). The axes are given the room the labels need at once, so the
    first paint is already laid out."""
    font = chart_font(px)
    metrics = QFontMetrics(font)
    for name, title in zip(AXES, (bottom, left)):
        axis = plot.getAxis(name)
        if axis.autoSIPrefix:
            # counts and percentages: no '(x1e+03)' on the title, nor its redraw per range
            axis.enableAutoSIPrefix(False)
            axis.setTextPen(INK)
        axis.setTickFont(font)
        axis.style["tickTextOffset"][1 if name == "bottom" else 0] = max(2, px // 3)
        axis.style["tickLength"] = max(4, px // 3)
        if title is not None:
            axis.label.setFont(font)
            axis.setLabel(title, **{"font-size": f"{px}px", "color": SUBTLE})
        if name == "bottom":
            axis.textHeight = metrics.height()
        axis._adjustSize()               # pyqtgraph's own: room for the labels and title
        axis.picture = None
        axis.update()


def axis_title(plot: pg.PlotWidget, name: str) -> str:
    """The title text on axis `name` of `plot` ('' when none)."""
    return plot.getAxis(name).labelText or ""


def count_ticks(top: float, lang: str, most: int = 5) -> list[tuple[float, str]]:
    """Whole-number ticks from 0 to about `top`, at most `most`+1 of them, on a 1-2-5 step,
    written the language's way ('1.000' in Vietnamese)."""
    top = max(1.0, float(top))
    raw = top / max(1, most)
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(power * m for m in (1, 2, 5, 10) if power * m >= raw)
    step = max(1, int(step))
    return [(v, number(v, lang)) for v in range(0, int(top) + 1, step)]


def value_ticks(low: float, high: float, length: float, font: QFont, lang: str = "en",
                fmt=None) -> list[tuple[float, str]]:
    """Ticks on a 1-2-5 step for a value axis `length` px long showing low..high: about two
    lines of text apart, none within half a line of either end (pyqtgraph would leave it
    out), written the language's way ('5,2' in Vietnamese) or by `fmt(value)`."""
    line = QFontMetrics(font).height()
    if high <= low or length <= 0:
        return []
    most = max(1, int(length / (2 * line)))
    raw = (high - low) / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(power * m for m in (1, 2, 5, 10) if power * m >= raw * 0.999)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    margin = (line / 2) * (high - low) / length
    first = math.ceil((low + margin) / step) * step
    values = []
    v = first
    while v <= high - margin + 1e-9 * step:
        values.append(round(v, decimals + 2))
        v += step
    return [(v, fmt(v) if fmt else number(v, lang, decimals)) for v in values]


def fit_ticks(ticks: list[tuple[float, str]], low: float, high: float, length: float,
              font: QFont, steps=(1, 2, 3, 4, 6, 12), from_end: bool = False):
    """The ticks to label an axis `length` px long showing at least low..high: every
    `step`-th one (the first step whose labels do not touch), and the range widened so the
    outer labels have room (pyqtgraph leaves out a label that would cross the axis's edge).
    `from_end`: count the steps from the last tick (the newest period is always labelled).

        chosen, low, high = fit_ticks([(h, f"{h:02d}") for h in range(24)], -0.6, 23.6,
                                      300, chart_font(20), steps=(3, 6, 12))
    """
    if not ticks:
        return [], low, high
    metrics = QFontMetrics(font)
    gap = metrics.horizontalAdvance("0")
    length = max(1.0, float(length))
    chosen, lo, hi = ticks, low, high
    for step in steps:
        chosen = (ticks[::-1][::step][::-1] if from_end else ticks[::step])
        widths = [metrics.horizontalAdvance(label) for _, label in chosen]
        lo, hi = low, high
        for _ in range(3):              # the range and the pixels per unit settle together
            per = length / (hi - lo)
            lo = min(low, chosen[0][0] - (widths[0] / 2 + 2) / per)
            hi = max(high, chosen[-1][0] + (widths[-1] / 2 + 2) / per)
        per = length / (hi - lo)
        if all((b[0] - a[0]) * per >= (wa + wb) / 2 + gap
               for a, b, wa, wb in zip(chosen, chosen[1:], widths, widths[1:])):
            break
    return chosen, lo, hi


class Plot(pg.PlotWidget):
    """A PlotWidget that asks for about a dozen lines of its text in height (pyqtgraph's own
    wish, 480 px, would take the room of the case list on a portrait screen)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMenuEnabled(False)
        self.setMouseEnabled(False, False)
        self.hideButtons()
        self.font_px = 14

    def sizeHint(self) -> QSize:
        return QSize(20 * self.font_px, 12 * self.font_px)


class BarChart(QWidget):
    """A titled bar chart that can say 'no data' instead of drawing empty axes."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel()
        self.title.setObjectName("panel")
        self.title.setWordWrap(True)
        self.plot = Plot()
        # the top tick label is centred on the edge: room for its upper half
        self.plot.getPlotItem().setContentsMargins(0, 8, 8, 0)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=BAR)
        self.plot.addItem(self.bars)
        self.empty = QLabel()
        self.empty.setObjectName("subtle")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignCenter)
        self.font_px = 14
        self.titles: tuple[str | None, str | None] = (None, None)
        self.shown: dict | None = None          # what set_bars was given
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.empty, 1)

    def set_font_px(self, px: int) -> None:
        if px != self.font_px:
            self.font_px = self.plot.font_px = px
            legible_axes(self.plot, px, *self.titles)
            self._fit_axes()
            self.plot.updateGeometry()

    def set_axis_titles(self, bottom: str, left: str) -> None:
        self.titles = (bottom, left)
        legible_axes(self.plot, self.font_px, bottom, left)

    def set_bars(self, x, heights, ticks=None, empty_text: str | None = None,
                 lang: str = "en", steps=(1, 2, 3, 4, 6, 12)) -> None:
        """Bars of `heights` at `x`; `ticks` the labels the bottom axis may show (every
        `steps`-th of them as room allows); or `empty_text` instead of the chart."""
        self.plot.setVisible(empty_text is None)
        self.empty.setVisible(empty_text is not None)
        self.empty.setText(empty_text or "")
        if empty_text is not None:
            self.shown = None
            return
        x, heights = list(x), list(heights)
        self.bars.setOpts(x=x, height=heights, width=0.8)
        self.shown = {"x": x, "top": max(1, max(heights)) * 1.1, "lang": lang,
                      "ticks": list(ticks or [(v, str(v)) for v in x]), "steps": steps}
        self._fit_axes()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._fit_axes()

    def _fit_axes(self) -> None:
        """Ticks and ranges for the plot's size now: as many labels as have room."""
        if self.shown is None:
            return
        s, font = self.shown, chart_font(self.font_px)
        metrics = QFontMetrics(font)
        left_axis, bottom_axis = self.plot.getAxis("left"), self.plot.getAxis("bottom")
        # about 2.5 lines of text between counts; the widest count sets the axis's width
        height = max(1, self.plot.height() - bottom_axis.height() - 8)
        counts = count_ticks(s["top"], s["lang"],
                             most=max(1, min(5, int(height / (2.5 * metrics.height())))))
        left_axis.setTicks([counts])
        left_axis.textWidth = max(metrics.horizontalAdvance(label) for _, label in counts)
        left_axis._adjustSize()
        length = self.plot.width() - left_axis.width() - 12
        ticks, low, high = fit_ticks(s["ticks"], min(s["x"]) - 0.6, max(s["x"]) + 0.6,
                                     length, font, s["steps"])
        bottom_axis.setTicks([ticks])
        self.plot.setXRange(low, high, padding=0)
        self.plot.setYRange(0, s["top"], padding=0)
