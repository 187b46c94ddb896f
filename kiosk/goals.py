"""The admin screen's Goals page: each KPI with a target, against it, and the manager's editor.

    goals = GoalsPanel(config, strings, writer)
    goals.refresh()                       # station.trends.build_trends, on a worker thread
    goals.set_span("by_week")             # the charts per ISO week instead of per day
    goals.edit("nps"); goals.step(+1); goals.save()    # Store.set_target(..., source="admin")

Per KPI: its overall status in plain words (station/trends.py's four statuses, coloured), a
chart of the value per period with its 95 % interval as a band and the target as a dashed
line, a gap where the period's figure is absent (and a line saying why), and beside NPS the
top detractor reasons of the target's span. Only what the trends give is drawn: a figure
under its minimum n is never plotted. The charts' ticks and axis titles are the theme's small
text size (`set_font_px`), the figures' counts said in words ('from 42 responses').
"""
from __future__ import annotations

import logging
import math
import time

import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (QBoxLayout, QButtonGroup, QFrame, QGridLayout, QHBoxLayout,
                               QLabel, QPushButton, QScrollArea, QScroller, QVBoxLayout,
                               QWidget)

from kiosk.alert_words import KPI_NOUNS, kpi_text
from kiosk.charts import chart_font, fit_ticks, legible_axes, value_ticks
from kiosk.reader import PageReader
from kiosk.typeset import keep_together
from kiosk.writer import DB_ERRORS
from station.targets import TARGET_KPIS, Target
from station.trends import SPAN_DAYS, build_trends
from station.wording import quantity

log = logging.getLogger("kiosk.goals")

# Dark enough for white-card contrast (WCAG AA for small text).
STATUS_COLOURS = {"on_target": "#1b7a3a", "below_target": "#b3261e",
                  "not_distinguishable": "#8a5a00", "too_few_answers": "#5b6270"}
# One tap on +/- moves a target by a step a manager would think in.
STEPS = {"nps": 1, "csat": 1, "ces": 0.1, "participation_rate": 0.5, "complaint_rate": 0.5,
         "handling_median_s": 60, "conversion": 0.5}
# Why a figure can be absent (station/scorecard.py): answers under min n for the survey
# figures, no camera entries for participation, no resolved case for the handling time.
GAP_KEYS = {"participation_rate": "goals.gaps.camera", "handling_median_s": "goals.gaps.cases",
            "conversion": "goals.gaps.camera"}
MIN_CHART_PX = 90
TOP_ROOM_PX = 10
LINE = pg.mkPen("#0b5cab", width=2)
BAND = pg.mkBrush(11, 92, 171, 60)
TARGET_PEN = pg.mkPen("#b3261e", width=2, style=Qt.DashLine)


def _label(name: str = "", wrap: bool = True) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(wrap)
    return label


def plotted(kpi: str, value: float) -> float:
    """The chart's unit: the handling time in minutes, everything else as stored."""
    return value / 60 if kpi == "handling_median_s" else value


class Chart(pg.PlotWidget):
    """A card's chart, asking for no more height than its minimum: the cards' scroll area
    makes them as high as they ask, so pyqtgraph's 400 px would scroll even six cards on a
    1920x1080 screen. Where the cards fit, the charts take the height left over."""

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.minimumHeight())


class KpiGoal(QFrame):
    """One KPI's card: name and status, target, overall figure, chart, gaps, reasons."""
    change_requested = Signal(str)
    resized = Signal()

    def __init__(self, kpi: str, parent=None):
        super().__init__(parent)
        self.kpi = kpi
        self.setObjectName("card")
        self.name, self.status = _label("panel", wrap=False), _label("status", wrap=False)
        self.target, self.overall, self.gaps = _label(), _label(), _label("subtle")
        self.reasons = _label("subtle")
        self.change = QPushButton()
        self.change.clicked.connect(lambda: self.change_requested.emit(self.kpi))
        self.plot = Chart()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setMinimumHeight(MIN_CHART_PX)
        # room above the axis: its top label is centred on the edge and was cut in half
        self.plot.getPlotItem().setContentsMargins(0, TOP_ROOM_PX, 4, 0)
        self.font_px = 14
        self.titles: tuple[str | None, str | None] = (None, None)
        self.ticks: list[tuple[int, str]] = []        # every period's label, oldest first
        self.y_range = (0.0, 1.0)
        self.lang = "en"
        # name and status on one line where both fit, else the status under the name
        self.head = head = QBoxLayout(QBoxLayout.LeftToRight)
        self.name.setMinimumWidth(1)          # the card's width decides the direction, not it
        head.addWidget(self.name, 1)
        head.addWidget(self.status)
        # the target and the gaps beside the button: the chart keeps the height
        notes = QVBoxLayout()
        notes.addWidget(self.target)
        notes.addWidget(self.gaps)
        foot = QHBoxLayout()
        foot.addLayout(notes, 1)
        foot.addWidget(self.change)
        # NPS's reasons sit beside its chart: under it they would squeeze the chart flat.
        middle = QHBoxLayout()
        middle.addWidget(self.plot, 3)
        middle.addWidget(self.reasons, 2)
        self.reasons.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.overall)
        layout.addLayout(middle, 1)
        layout.addLayout(foot)
        self.reasons.setVisible(kpi == "nps")

    def set_axes(self, px: int, bottom: str | None = None, left: str | None = None) -> None:
        """Tick labels and axis titles `px` pixels high; a title None keeps the one set."""
        self.font_px = px
        self.titles = (bottom or self.titles[0], left or self.titles[1])
        legible_axes(self.plot, px, *self.titles)
        # the left title runs up the chart: the chart at least as high as it is long, plus
        # the bottom axis and the room kept above
        left, bottom = self.plot.getAxis("left"), self.plot.getAxis("bottom")
        title = left.label.boundingRect().width() if self.titles[1] else 0
        self.plot.setMinimumHeight(max(MIN_CHART_PX, math.ceil(
            bottom.minimumHeight() + title + TOP_ROOM_PX + 2)))
        self._fit_x()

    def draw(self, cells: list[dict], target_value: float) -> None:
        """The value per period (a gap where absent), its interval as a band, the target."""
        self.plot.clear()
        xs = list(range(len(cells)))
        values = [plotted(self.kpi, c["value"]) if c["value"] is not None else math.nan
                  for c in cells]
        # One band per run of periods that have an interval: a band across a gap would
        # claim an interval for a period that has none.
        run: list[int] = []
        for i, cell in enumerate(cells + [{"interval": None}]):
            if cell["interval"] is not None:
                run.append(i)
                continue
            if run:
                self._band(run, cells)
            run = []
        if any(v == v for v in values):           # all gaps: nothing to draw but the target
            self.plot.addItem(pg.PlotDataItem(xs, values, pen=LINE, connect="finite",
                                              symbol="o", symbolSize=6, symbolBrush="#0b5cab",
                                              symbolPen=None))
        target = plotted(self.kpi, target_value)
        self.plot.addItem(pg.InfiniteLine(pos=target, angle=0, pen=TARGET_PEN))
        lows = [plotted(self.kpi, c["interval"][0]) for c in cells if c["interval"]]
        highs = [plotted(self.kpi, c["interval"][1]) for c in cells if c["interval"]]
        low, high = min(lows + [target] + [v for v in values if v == v]), \
            max(highs + [target] + [v for v in values if v == v])
        pad = max(1e-6, (high - low) * 0.15) if high > low else max(1.0, abs(high) * 0.1)
        self.y_range = (low - pad, high + pad)
        self.plot.setYRange(*self.y_range, padding=0)
        self.ticks = [(i, _short(c["period"])) for i, c in enumerate(cells)]
        self._fit_x()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.fit_head()
        self._fit_x()
        self.resized.emit()

    def fit_head(self) -> None:
        margins = self.layout().contentsMargins()
        room = self.width() - margins.left() - margins.right()
        need = (self.name.sizeHint().width() + self.head.spacing() +
                self.status.sizeHint().width())
        self.head.setDirection(QBoxLayout.LeftToRight if need <= room
                               else QBoxLayout.TopToBottom)

    def _fit_x(self) -> None:
        """The values' and periods' labels that have room at the chart's size (the newest
        period always), and the range widened for the outer ones."""
        if not self.ticks:
            return
        left, font = self.plot.getAxis("left"), chart_font(self.font_px)
        height = self.plot.height() - self.plot.getAxis("bottom").height() - 10
        low, high = self.y_range
        fmt = (lambda v: f"{round(v):+d}" if round(v) else "0") if self.kpi == "nps" else None
        values = value_ticks(low, high, height, font, self.lang, fmt)
        left.setTicks([values])
        left.textWidth = max((QFontMetrics(font).horizontalAdvance(label)
                              for _, label in values), default=0)
        left._adjustSize()
        length = self.plot.width() - left.width() - 12
        ticks, low, high = fit_ticks(self.ticks, -0.5, len(self.ticks) - 0.5, length,
                                     chart_font(self.font_px), steps=range(1, 13),
                                     from_end=True)
        self.plot.getAxis("bottom").setTicks([ticks])
        self.plot.setXRange(low, high, padding=0)

    def _band(self, run: list[int], cells: list[dict]) -> None:
        lows = [plotted(self.kpi, cells[i]["interval"][0]) for i in run]
        highs = [plotted(self.kpi, cells[i]["interval"][1]) for i in run]
        if len(run) == 1:            # a lone period: its interval as a short thick bar
            self.plot.addItem(pg.PlotDataItem([run[0], run[0]], [lows[0], highs[0]],
                                              pen=pg.mkPen(11, 92, 171, 110, width=8)))
            return
        # curves of their own: a PlotDataItem without a pen has no path for the fill to use
        low = pg.PlotCurveItem(run, lows, pen=pg.mkPen(11, 92, 171, 90))
        high = pg.PlotCurveItem(run, highs, pen=pg.mkPen(11, 92, 171, 90))
        self.plot.addItem(low)
        self.plot.addItem(high)
        self.plot.addItem(pg.FillBetweenItem(low, high, brush=BAND))


def card_spots(kpis: list[str], columns: int) -> list[tuple[int, int, int]]:
    """(row, column, columns spanned) of each KPI's card, `columns` a row (3 landscape, 2
    portrait). More cards than two landscape rows hold get a fourth column rather than a row
    the screen has no height for; NPS's card (first: TARGET_KPIS's order) spans two columns
    where the last row has a slot to spare, so its reasons beside its chart have room."""
    if columns > 2 and len(kpis) > 2 * columns:
        columns += 1
    spare = -len(kpis) % columns
    wide = {"nps"} if "nps" in kpis and spare else set()
    spots, slot = [], 0
    for kpi in kpis:
        span = 2 if kpi in wide else 1
        if slot % columns + span > columns:         # not across the end of a row
            slot += columns - slot % columns
        spots.append((slot // columns, slot % columns, span))
        slot += span
    return spots


def _short(period: str) -> str:
    """'2026-12-06' -> '06/12', '2026-W49' -> 'W49'."""
    if "-W" in period:
        return period.split("-")[1]
    return f"{period[8:10]}/{period[5:7]}"


class TargetEditor(QFrame):
    """Value with touch-sized -/+ (the step per KPI), the period, save or cancel. The
    direction is the KPI's own (station/targets.py) and is shown, not chosen."""
    saved = Signal(object)            # Target
    cancelled = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("card")
        self.kpi: str | None = None
        self.value = 0.0
        self.title, self.value_label, self.direction = (_label("panel", wrap=False),
                                                        _label("figure", wrap=False),
                                                        _label(wrap=False))
        self.value_label.setAlignment(Qt.AlignCenter)
        self.minus, self.plus = QPushButton("−"), QPushButton("+")
        for button in (self.minus, self.plus):
            button.setObjectName("step")
        self.minus.clicked.connect(lambda: self.step(-1))
        self.plus.clicked.connect(lambda: self.step(+1))
        self.period_buttons = {p: QPushButton() for p in ("week", "month")}
        group = QButtonGroup(self)
        for button in self.period_buttons.values():
            button.setCheckable(True)
            group.addButton(button)
        self.save_button, self.cancel_button = QPushButton(), QPushButton()
        self.save_button.setObjectName("primary")
        self.save_button.clicked.connect(self.save)
        self.cancel_button.clicked.connect(self.cancelled)
        # what is edited, then the controls: on one line (landscape) or two (portrait)
        self.lines = QBoxLayout(QBoxLayout.LeftToRight, self)
        what, row = QHBoxLayout(), QHBoxLayout()
        what.addWidget(self.title)
        what.addWidget(self.direction)
        what.addStretch(1)
        row.addStretch(1)
        row.addWidget(self.minus)
        row.addWidget(self.value_label)
        row.addWidget(self.plus)
        row.addSpacing(16)
        for button in self.period_buttons.values():
            row.addWidget(button)
        row.addSpacing(16)
        row.addWidget(self.save_button)
        row.addWidget(self.cancel_button)
        self.lines.addLayout(what, 1)
        self.lines.addLayout(row)
        self.format = str

    def start(self, target: Target, fmt) -> None:
        self.kpi, self.value, self.format = target.kpi, float(target.value), fmt
        self.period_buttons[target.period].setChecked(True)
        self._show_value()

    def step(self, sign: int) -> None:
        spec = TARGET_KPIS[self.kpi]
        # rounded to the step, so ten taps of 0.1 give 1.0 and not 0.9999999
        step = STEPS[self.kpi]
        value = round(round((self.value + sign * step) / step) * step, 6)
        self.value = min(spec.high, max(spec.low, value))
        self._show_value()

    def period(self) -> str:
        return next(p for p, b in self.period_buttons.items() if b.isChecked())

    def target(self) -> Target:
        return Target(self.kpi, self.value, TARGET_KPIS[self.kpi].direction, self.period())

    def save(self) -> None:
        self.saved.emit(self.target())

    def _show_value(self) -> None:
        self.value_label.setText(self.format(self.value))


class GoalsPanel(QWidget):
    """The Goals page. `refresh()` reads the trends on a worker thread with a connection of
    its own: twenty periods of six KPIs take about 2 s on 100 000 responses over 60 days (2-core
    box), too long to freeze the screen. `drawn` is emitted once the new trends are on it."""
    failed = Signal(str)
    drawn = Signal()

    def __init__(self, config, strings, writer, parent=None):
        super().__init__(parent)
        self.config, self.strings, self.writer = config, strings, writer
        self.lang = config.kiosk.default_language
        self.span = "by_day"
        self.trends: dict = {}
        self.rows: list[list[str]] = []        # the KPIs of each row of cards
        self.reader = PageReader(config, "goals-refresh", again=self.refresh, parent=self)
        self.font_px = 14                      # chart text (the theme's small size)
        self.columns = 3                       # cards a row: 2 on a portrait screen
        self.title = _label("panel")
        self.span_buttons = {s: QPushButton() for s in ("by_day", "by_week")}
        group = QButtonGroup(self)
        # the day/week toggle in a box of its own: the admin screen puts it in its header
        self.span_box = QWidget()
        spans = QHBoxLayout(self.span_box)
        spans.setContentsMargins(0, 0, 0, 0)
        for span, button in self.span_buttons.items():
            button.setCheckable(True)
            button.clicked.connect(lambda _=False, s=span: self.set_span(s))
            group.addButton(button)
            spans.addWidget(button)
        self.span_buttons[self.span].setChecked(True)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.span_box)
        self.empty = _label()
        self.reading = _label("subtle", wrap=False)
        head.insertWidget(1, self.reading)
        self.cards: dict[str, KpiGoal] = {}
        for kpi in TARGET_KPIS:
            card = KpiGoal(kpi)
            card.change_requested.connect(self.edit)
            card.resized.connect(self.fit_rows)
            self.cards[kpi] = card
        # the cards scroll up and down where their rows need more height than the screen
        # has (a bigger font, a smaller screen): never squeezed below their size
        self.cards_box = QWidget()
        self.grid = QGridLayout(self.cards_box)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.scroll = QScrollArea()
        self.scroll.setObjectName("goals")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.cards_box)
        QScroller.grabGesture(self.scroll.viewport(), QScroller.TouchGesture)
        self.editor = TargetEditor()
        self.editor.saved.connect(self.save_target)
        self.editor.cancelled.connect(self.editor.hide)
        self.editor.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.empty)
        layout.addWidget(self.scroll, 1)
        layout.addWidget(self.editor)

    # -- actions ---------------------------------------------------------------------------
    def refresh(self, now: float | None = None) -> bool:
        """Read the trends off the GUI thread and draw them when done; False (and one more
        read afterwards) while a read is still running."""
        at = time.time() if now is None else now
        # shown on this (GUI) thread, so after the lines below
        if not self.reader.read(lambda store: build_trends(store, self.config, at),
                                self._on_ready):
            return False
        self.reading.setText(self.get("goals.reading"))
        self.reading.show()
        return True

    @property
    def reading_now(self) -> bool:
        """From refresh() until its trends are drawn."""
        return self.reader.busy

    def _on_ready(self, result) -> None:
        self.reading.hide()
        if isinstance(result, Exception):
            log.error("goals refresh failed: %s", result)
            self.failed.emit(str(result))
        else:
            self.trends = result
            self.render()
            self.drawn.emit()

    def close_connections(self) -> None:
        self.reader.close()

    def set_font_px(self, px: int) -> None:
        """The charts' tick labels and axis titles `px` pixels high."""
        self.font_px = px
        for card in self.cards.values():
            card.set_axes(px)

    def set_columns(self, columns: int) -> None:
        """Cards a row: 3 on a landscape screen (4 for seven targets, card_spots), 2 on a
        portrait one (where the editor's controls go on a line of their own too)."""
        self.editor.lines.setDirection(QBoxLayout.LeftToRight if columns > 2
                                       else QBoxLayout.TopToBottom)
        if columns != self.columns:
            self.columns = columns
            self.render()

    def set_span(self, span: str) -> None:
        self.span = span
        self.span_buttons[span].setChecked(True)
        for card in self.cards.values():
            card.set_axes(self.font_px, self.get(f"goals.axis.{span}"))
        self.render()

    def edit(self, kpi: str) -> None:
        t = self.trends[kpi]["target"]
        self.editor.start(Target(kpi, t["value"], t["direction"], t["period"]),
                          lambda v: self.format(kpi, v))
        self._label_editor()
        self.editor.show()

    def step(self, sign: int) -> None:
        self.editor.step(sign)

    def save(self) -> None:
        self.editor.save()

    def save_target(self, target: Target) -> None:
        """The manager's target, stored with its audit row and HQ event (source 'admin')."""
        store = self.writer.store
        try:
            if store is None:
                raise OSError(self.writer.last_error or "not open")
            store.set_target(target, "admin")
        except DB_ERRORS as exc:
            log.error("could not set the %s target: %s", target.kpi, exc)
            self.failed.emit(str(exc))
            return
        self.editor.hide()
        # the new target on its card at once (its text and line); the status and the figures
        # of its span follow when the trends are read again
        card = self.cards[target.kpi]
        self._render_target(card, {"value": target.value, "direction": target.direction,
                                   "period": target.period})
        card.draw(self.trends[target.kpi][self.span], target.value)
        self.refresh()

    # -- drawing ---------------------------------------------------------------------------
    def get(self, key: str, **kw):
        return self.strings.get(self.lang, key, **kw)

    def format(self, kpi: str, value: float) -> str:
        return kpi_text(kpi, value, self.get, self.lang)

    def retranslate(self, lang: str) -> None:
        self.lang = lang
        for card in self.cards.values():
            card.lang = lang
        self.title.setText(keep_together(self.get("goals.title")))
        for span, button in self.span_buttons.items():
            button.setText(self.get(f"goals.{span}"))
        for card in self.cards.values():
            card.change.setText(self.get("goals.change"))
            card.set_axes(self.font_px, self.get(f"goals.axis.{self.span}"),
                          self.get(f"goals.axis.{card.kpi}"))
        for period, button in self.editor.period_buttons.items():
            button.setText(self.get(f"goals.editor.{period}"))
        self.editor.save_button.setText(self.get("goals.editor.save"))
        self.editor.cancel_button.setText(self.get("goals.editor.cancel"))
        if self.editor.kpi:
            self._label_editor()
        self.render()

    def _label_editor(self) -> None:
        kpi = self.editor.kpi
        self.editor.title.setText(self.get("goals.editor.title",
                                           kpi=self.get(f"goals.kpi.{kpi}")))
        self.editor.direction.setText(self.get(f"goals.editor.{TARGET_KPIS[kpi].direction}"))
        self.editor._show_value()

    def render(self) -> None:
        while self.grid.count():
            self.grid.takeAt(0)
        for card in self.cards.values():
            card.setVisible(card.kpi in self.trends)
        self.empty.setVisible(not self.trends)
        self.empty.setText(self.get("goals.none"))
        shown = [k for k in TARGET_KPIS if k in self.trends]
        spots = card_spots(shown, self.columns)
        columns = max((column + span for column, span in (s[1:] for s in spots)), default=0)
        rows = max((row + 1 for row, _, _ in spots), default=0)
        for i in range(len(TARGET_KPIS)):
            self.grid.setColumnStretch(i, 1 if i < columns else 0)
            self.grid.setRowStretch(i, 1 if i < rows else 0)
        self.rows = [[] for _ in range(rows)]
        for kpi, (row, column, span) in zip(shown, spots):
            self.grid.addWidget(self.cards[kpi], row, column, 1, span)
            self.rows[row].append(kpi)
            self._render_card(self.cards[kpi], self.trends[kpi])
        self.fit_rows()
        # never sideways: cards wider than the screen widen the page (which the layout check
        # sees) rather than being cut at the scroll area's edge
        self.scroll.setMinimumWidth(self.cards_box.minimumSizeHint().width() +
                                    self.scroll.verticalScrollBar().sizeHint().width())

    def fit_rows(self) -> None:
        """Each row of cards at least as high as its cards' wrapped text needs at their
        width: the grid's own sum of the rows knows no width, and squeezed a card's chart
        under the text beneath it where a line more wrapped."""
        for row in range(len(TARGET_KPIS)):
            kpis = self.rows[row] if row < len(self.rows) else []
            need = max((self.cards[k].heightForWidth(self.cards[k].width()) for k in kpis),
                       default=0)
            if need != self.grid.rowMinimumHeight(row):
                self.grid.setRowMinimumHeight(row, max(0, need))

    def _render_card(self, card: KpiGoal, trend: dict) -> None:
        kpi, target, overall = card.kpi, trend["target"], trend["overall"]
        days = SPAN_DAYS[target["period"]]
        card.name.setText(self.get(f"goals.kpi.{kpi}"))
        card.status.setText(self.get(f"goals.status.{overall['status']}"))
        card.status.setStyleSheet(f"color: {STATUS_COLOURS[overall['status']]}; "
                                  "font-weight: bold;")
        card.status.setProperty("status", overall["status"])
        card.fit_head()
        self._render_target(card, target)
        count = quantity(overall["n"] or 0, KPI_NOUNS[kpi], self.lang)
        if overall["value"] is None:
            text = self.get("goals.overall.none", days=days, count=count)
        elif overall["interval"]:
            low, high = overall["interval"]
            text = self.get("goals.overall", days=days, value=self.format(kpi, overall["value"]),
                            low=self.format(kpi, low), high=self.format(kpi, high), count=count)
        else:
            text = self.get("goals.overall.point", days=days,
                            value=self.format(kpi, overall["value"]), count=count)
        card.overall.setText(keep_together(text))
        cells = trend[self.span]
        card.draw(cells, target["value"])
        gaps = sum(c["value"] is None for c in cells)
        card.gaps.setVisible(gaps > 0)
        card.gaps.setText(keep_together(self.get(
            GAP_KEYS.get(kpi, "goals.gaps.answers"), gaps=gaps, total=len(cells),
            min_n=self.config.privacy.min_n)))
        if kpi == "nps":
            card.reasons.setText(self._reasons_text(overall.get("detractor_reasons") or [],
                                                    days))

    def _render_target(self, card: KpiGoal, target: dict) -> None:
        card.target.setText(keep_together(self.get(
            f"goals.target.{target['direction']}", value=self.format(card.kpi, target["value"]),
            period=self.get(f"goals.period.{target['period']}"))))

    def _reasons_text(self, reasons: list, days: int) -> str:
        if not reasons:
            return keep_together(self.get("goals.reasons.none"))
        names = {r.id: getattr(r, self.lang) for r in self.config.kiosk.reasons.detractor}
        return keep_together("\n".join([self.get("goals.reasons", days=days)] + [
            self.get("goals.reason", reason=names.get(r["reason"], r["reason"]),
                     count=r["count"], share=r["share"]) for r in reasons]))
