"""The store manager's dashboard (behind the PIN): KPIs for today / 7 / 30 days, charts,
the detractor case inbox and station health; the Goals and Alerts pages beside it.

Figures come from `kiosk.dashboard.Dashboard`, the headline ones as a `station.scorecard`
Scorecard; charts are pyqtgraph. An absent figure says why (too few answers, privacy floor,
no camera yet) instead of showing a misleading number. While the screen is open a new alert or
case, whoever wrote it, shows within about a second (kiosk/arrivals.py), with a beep when
[alerts] sound is on.
"""
from __future__ import annotations

import html
import itertools
import logging
import time
from datetime import datetime

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QButtonGroup, QFrame, QHBoxLayout, QLabel,
                               QLineEdit, QListWidget, QListWidgetItem, QPushButton,
                               QStackedWidget, QVBoxLayout, QWidget)

from kiosk.alerts_panel import AlertsPanel
from kiosk.arrivals import ArrivalWatch
from kiosk.dashboard import DWELL_EDGES_MIN, PERIODS, Dashboard, Figures
from kiosk.goals import GoalsPanel
from kiosk.keyboard import OnScreenKeyboard
from kiosk.reader import StoreReader
from kiosk.writer import DB_ERRORS

log = logging.getLogger("kiosk.admin")
pg.setConfigOptions(antialias=False, background="w", foreground="#16181d")
BAR = pg.mkBrush("#0b5cab")
AUTO_REFRESH_S = 30


def _card(title_label: QLabel, *widgets) -> QFrame:
    frame = QFrame()
    frame.setObjectName("card")
    layout = QVBoxLayout(frame)
    layout.addWidget(title_label)
    for w in widgets:
        layout.addWidget(w)
    layout.addStretch(1)
    return frame


def _text(name: str = "", wrap: bool = True) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(wrap)
    return label


class BarChart(QWidget):
    """A titled pyqtgraph bar chart that can say 'no data' instead of drawing empty axes."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = _text("panel")
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=BAR)
        self.plot.addItem(self.bars)
        self.empty = _text("subtle")
        self.empty.setAlignment(Qt.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.empty, 1)

    def set_bars(self, x, heights, ticks=None, empty_text: str | None = None) -> None:
        self.plot.setVisible(empty_text is None)
        self.empty.setVisible(empty_text is not None)
        self.empty.setText(empty_text or "")
        if empty_text is not None:
            return
        self.bars.setOpts(x=list(x), height=list(heights), width=0.8)
        if ticks is not None:
            self.plot.getAxis("bottom").setTicks([ticks])
        self.plot.setXRange(min(x) - 0.6, max(x) + 0.6, padding=0)
        self.plot.setYRange(0, max(1, max(heights)) * 1.1, padding=0)


class AdminScreen(QWidget):
    """The dashboard page. `refresh()` reads and draws at once (opening, period buttons);
    the automatic refresh reads on a worker thread with its own connection, so a shopper's
    tap on the same process is never queued behind the dashboard's queries."""
    closed = Signal()
    exit_requested = Signal()
    chimed = Signal()                            # a beep for a new alert or case
    _ready = Signal(object, float, int)          # Figures | Exception, start time, read no.

    def __init__(self, config, strings, writer, parent=None):
        super().__init__(parent)
        self.setObjectName("admin")
        self.config, self.strings, self.writer = config, strings, writer
        self.lang = config.kiosk.default_language
        self.period = "today"
        self.figures: Figures | None = None
        self.last_refresh_ms: float | None = None
        self.dashboard = Dashboard(config)
        self.reader = StoreReader(config, "dashboard-refresh")
        self._ready.connect(self._on_ready)
        # reads are numbered as they begin (under the reader's lock): an older read finishing
        # late never draws over a newer one
        self._reads = itertools.count(1)
        self._drawn_read = 0
        self._case_asked: str | None = None      # the newest case the case list was read for
        self.store_name = config.station.name or config.station.store

        self.title = _text("figure")
        self.period_buttons: dict[str, QPushButton] = {}
        group = QButtonGroup(self)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        for period in PERIODS:
            button = QPushButton()
            button.setCheckable(True)
            button.clicked.connect(lambda _=False, p=period: self.set_period(p))
            group.addButton(button)
            top.addWidget(button)
            self.period_buttons[period] = button
        self.period_buttons[self.period].setChecked(True)
        # Goals is a page of its own: its six charts do not fit beside the dashboard's.
        self.goals_button = QPushButton()
        self.goals_button.setCheckable(True)
        self.goals_button.clicked.connect(self.show_goals)
        top.addWidget(self.goals_button)
        self.alerts_button = QPushButton()
        self.alerts_button.setCheckable(True)
        self.alerts_button.clicked.connect(self.show_alerts)
        top.addWidget(self.alerts_button)
        self.refresh_button, self.close_button, self.exit_button = (QPushButton() for _ in range(3))
        self.refresh_button.clicked.connect(self.refresh)
        self.close_button.clicked.connect(self.closed)
        self.exit_button.clicked.connect(self.exit_requested)
        for button in (self.refresh_button, self.close_button, self.exit_button):
            top.addWidget(button)
        self.error = _text("subtle")
        self.error.hide()

        # KPI cards
        self.labels = {k: _text("panel") for k in ("nps", "csat", "ces", "participation",
                                                    "complaints", "demographics", "cases",
                                                    "health")}
        self.nps_value, self.nps_detail, self.nps_groups = _text("figure"), _text(), _text()
        self.csat_value, self.ces_value = _text(), _text()
        self.participation_value, self.partial_value = _text(), _text()
        self.complaints_value, self.handling_value = _text(), _text()
        cards = QHBoxLayout()
        cards.addWidget(_card(self.labels["nps"], self.nps_value, self.nps_detail,
                              self.nps_groups), 3)
        cards.addWidget(_card(self.labels["csat"], self.csat_value, self.labels["ces"],
                              self.ces_value), 2)
        # Participation's two lines are the longest text in a card (more so in Vietnamese), and
        # the row is as tall as its labels' size hints, which do not allow for extra wrapping.
        cards.addWidget(_card(self.labels["participation"], self.participation_value,
                              self.partial_value), 3)
        cards.addWidget(_card(self.labels["complaints"], self.complaints_value,
                              self.handling_value), 2)

        # charts
        self.charts = {k: BarChart() for k in ("scores", "traffic", "dwell")}
        charts = QHBoxLayout()
        for chart in self.charts.values():
            charts.addWidget(chart, 1)

        # bottom row: demographics, cases, health
        # Not wrapped: the table keeps its natural width and the card grows to show every column.
        self.demographics = _text(wrap=False)
        self.demographics.setTextFormat(Qt.RichText)
        self.demographics_note = _text("subtle")
        self.case_list = QListWidget()
        self.case_note = QLineEdit()
        self.case_note.setMaxLength(300)
        self.resolve_button = QPushButton()
        self.resolve_button.clicked.connect(self.resolve_selected)
        # floats over the window clear of the note (kiosk/keyboard.py): never resizes it
        self.keyboard = OnScreenKeyboard(strings, self, config.kiosk.screen_diagonal_in)
        self.keyboard.attach(self.case_note)
        self.keyboard.done.connect(self.keyboard.hide)
        self.keyboard.hide()
        self.case_note.mousePressEvent = lambda event: self.keyboard.show()
        self.health = _text()
        note_row = QHBoxLayout()
        note_row.addWidget(self.case_note, 1)
        note_row.addWidget(self.resolve_button)
        cases_box = QVBoxLayout()
        cases_box.addWidget(self.labels["cases"])
        cases_box.addWidget(self.case_list, 1)
        cases_box.addLayout(note_row)
        cases_frame = QFrame()
        cases_frame.setObjectName("card")
        cases_frame.setLayout(cases_box)
        bottom = QHBoxLayout()
        bottom.addWidget(_card(self.labels["demographics"], self.demographics,
                               self.demographics_note), 1)
        bottom.addWidget(cases_frame, 1)
        bottom.addWidget(_card(self.labels["health"], self.health), 1)

        self.overview = QWidget()
        overview = QVBoxLayout(self.overview)
        overview.setContentsMargins(0, 0, 0, 0)
        overview.addLayout(cards)
        overview.addLayout(charts, 3)
        overview.addLayout(bottom, 3)
        self.goals = GoalsPanel(config, strings, writer)
        self.goals.failed.connect(self._show_error)
        self.alerts = AlertsPanel(config, strings, writer)
        self.alerts.failed.connect(self._show_error)
        self.alerts.drawn.connect(self._label_alerts_button)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.overview)
        self.pages.addWidget(self.goals)
        self.pages.addWidget(self.alerts)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(top)
        layout.addWidget(self.error)
        layout.addWidget(self.pages, 1)
        # New cases show up on their own while the manager keeps the dashboard open.
        self.auto_refresh = QTimer(self)
        self.auto_refresh.setInterval(AUTO_REFRESH_S * 1000)
        self.auto_refresh.timeout.connect(self.refresh_in_background)
        self.auto_refresh.timeout.connect(self.alerts.refresh)
        # ... and within a second when the watch sees one come in
        self.watch = ArrivalWatch(config, self)
        self.watch.changed.connect(self._on_arrival)
        self.watch.chimed.connect(self.chimed)
        self.cases_retry = QTimer(self)       # the dashboard's reader was busy: try again
        self.cases_retry.setSingleShot(True)
        self.cases_retry.setInterval(250)
        self.cases_retry.timeout.connect(self._refresh_cases)

    def showEvent(self, event):
        self.auto_refresh.start()
        self._case_asked = None
        self.watch.start()
        super().showEvent(event)

    def hideEvent(self, event):
        self.auto_refresh.stop()
        self.watch.stop()
        self.cases_retry.stop()
        super().hideEvent(event)

    def close_connections(self) -> None:
        self.watch.close()
        self.goals.close_connections()
        self.alerts.close_connections()
        self.reader.close()

    # -- actions ---------------------------------------------------------------------------
    def set_period(self, period: str) -> None:
        self.period = period
        self.period_buttons[period].setChecked(True)
        self.show_page(self.overview)
        self.refresh()

    def show_goals(self, on: bool = True) -> None:
        """The Goals page (read now) or back to the dashboard; the period buttons stay for
        the dashboard, the Goals page has its own day/week toggle."""
        self.show_page(self.goals if on else self.overview)

    def show_alerts(self, on: bool = True) -> None:
        """The Alerts page (read now) or back to the dashboard."""
        self.show_page(self.alerts if on else self.overview)

    def show_page(self, page: QWidget) -> None:
        self.goals_button.setChecked(page is self.goals)
        self.alerts_button.setChecked(page is self.alerts)
        if page is self.goals:
            self.goals.editor.hide()          # a half-made edit from an earlier visit is void
            self.goals.refresh()
        if page is self.alerts:
            self.alerts.keyboard.hide()
            self.alerts.refresh()
        self.pages.setCurrentWidget(page)

    def _on_arrival(self, news: bool) -> None:
        """Something changed in the alerts or cases (or the watch's first look): read the
        Alerts page again, and the case list when it lacks the newest case (once per case:
        the newest may be resolved, or older than the period shown)."""
        self.alerts.refresh()
        case = self.watch.last.case
        shown = self.figures is not None and any(c.id == case for c in self.figures.open_cases)
        if case is not None and not shown and case != self._case_asked:
            self._case_asked = case
            self._refresh_cases()

    def _refresh_cases(self) -> None:
        if not self.refresh_in_background():
            self.cases_retry.start()

    def _label_alerts_button(self) -> None:
        n = self.alerts.unresolved
        self.alerts_button.setText(self.strings.get(self.lang, "admin.alerts.count", n=n) if n
                                   else self.strings.get(self.lang, "admin.alerts"))

    def _show_error(self, reason: str) -> None:
        self.error.setText(self.strings.get(self.lang, "admin.unavailable", reason=reason))
        self.error.show()

    def refresh(self) -> bool:
        """Re-read every figure for the current period now; False when the DB cannot be read."""
        start = time.perf_counter()
        with self.reader.lock:                    # not beside a background read
            read = next(self._reads)
            store = self.writer.store
            try:
                if store is None:
                    raise OSError(self.writer.last_error or "not open")
                figures = self.dashboard.figures(store, self.period)
            except DB_ERRORS as exc:
                figures = exc
        return self._on_ready(figures, start, read)

    def refresh_in_background(self, period: str | None = None, draw: bool = True) -> bool:
        """Read on a worker thread and draw when done; False if a read is still running.

        ``refresh_in_background("30d", draw=False)`` at start-up fills the day cache, so the
        manager's first look at 30 days does not wait for a scan of the whole month.
        """
        start = time.perf_counter()
        period = period or self.period
        read = []

        def work(store):
            read.append(next(self._reads))
            return self.dashboard.figures(store, period)

        def done(figures):
            if draw or isinstance(figures, Exception):
                self._ready.emit(figures, start, read[0] if read else 0)

        return self.reader.read(work, done)

    def _on_ready(self, figures, start: float, read: int) -> bool:
        if read and read < self._drawn_read:
            return True                       # a newer read is on screen already
        self._drawn_read = max(self._drawn_read, read)     # 0: failed before it began
        if isinstance(figures, Exception):
            log.error("admin refresh failed: %s", figures)
            self.error.setText(self.strings.get(self.lang, "admin.unavailable",
                                                reason=str(figures)))
            self.error.show()
            return False
        self.figures = figures
        self.error.hide()
        self.render()
        self.last_refresh_ms = (time.perf_counter() - start) * 1000
        return True

    def resolve_selected(self) -> None:
        item = self.case_list.currentItem()
        note = self.case_note.text().strip()
        if item is None or not note or self.writer.store is None:
            return
        try:
            case = self.writer.store.resolve_case(item.data(Qt.UserRole), note)
            self.dashboard.invalidate(case.opened_at)
        except DB_ERRORS as exc:
            log.error("could not resolve case: %s", exc)
            self.error.setText(self.strings.get(self.lang, "admin.unavailable", reason=str(exc)))
            self.error.show()
            return
        self.case_note.clear()
        self.keyboard.hide()
        self.refresh()

    # -- drawing ---------------------------------------------------------------------------
    def retranslate(self, lang: str) -> None:
        self.lang = lang
        self.keyboard.set_language(lang)
        get = lambda key, **kw: self.strings.get(lang, key, **kw)     # noqa: E731
        self.title.setText(get("admin.title", store=self.store_name))
        for period, button in self.period_buttons.items():
            button.setText(get(f"admin.period.{period}"))
        self.refresh_button.setText(get("admin.refresh"))
        self.close_button.setText(get("admin.close"))
        self.exit_button.setText(get("admin.exit"))
        self.goals_button.setText(get("admin.goals"))
        self._label_alerts_button()
        self.goals.retranslate(lang)
        self.alerts.retranslate(lang)
        for key, label in self.labels.items():
            label.setText(get(f"admin.{key}"))
        self.charts["scores"].title.setText(get("admin.chart.scores"))
        self.charts["traffic"].title.setText(get("admin.chart.traffic"))
        self.charts["dwell"].title.setText(get("admin.chart.dwell"))
        self.case_note.setPlaceholderText(get("admin.cases.note"))
        self.resolve_button.setText(get("admin.cases.resolve"))
        if self.figures is not None:
            self.render()

    def render(self) -> None:
        f, lang = self.figures, self.lang
        get = lambda key, **kw: self.strings.get(lang, key, **kw)     # noqa: E731
        card = f.scorecard
        self._render_nps(get, card)
        self.csat_value.setText(self._answers_text(get, card.csat, "admin.csat.value",
                                                   card.min_n))
        self.ces_value.setText(self._answers_text(get, card.ces, "admin.ces.value", card.min_n))
        self.participation_value.setText(
            get("admin.participation.value", value=card.participation_rate.value,
                responses=card.responses, entries=f.entries)
            if card.participation_rate.shown else get("admin.participation.nocamera"))
        self.partial_value.setText(get("admin.partial",
                                       partial=f.totals["responses"] - f.totals["complete"],
                                       no_presence=f.totals["no_presence"]))
        self.complaints_value.setText(
            get("admin.complaints.value", rate=card.complaint_rate.value, open=len(f.open_cases))
            if card.complaint_rate.shown else
            get("admin.complaints.hidden", open=len(f.open_cases), min_n=card.min_n))
        median, p90 = card.handling_median_s, card.handling_p90_s
        self.handling_value.setText(get("admin.handling", median=self._duration(median.value),
                                        p90=self._duration(p90.value))
                                    if median.shown else get("admin.handling.none"))
        self._render_charts(get)
        self._render_people(get)
        self._render_cases(get)
        self._render_health(get)

    def _render_nps(self, get, card) -> None:
        """NPS with its interval and the group shares, all three absent together below min n."""
        nps = card.nps
        if nps.shown:
            low, high = nps.interval
            self.nps_value.setText(get("admin.nps.value", nps=nps.value))
            self.nps_detail.setText(get("admin.nps.ci", low=low, high=high, n=nps.n))
            self.nps_groups.setText(get("admin.groups", p=card.promoter_share.value,
                                        pa=card.passive_share.value,
                                        d=card.detractor_share.value))
            return
        self.nps_value.setText("—")
        self.nps_detail.setText(get("admin.nps.hidden", n=nps.n, min_n=card.min_n) if nps.n
                                else get("admin.nps.none"))
        self.nps_groups.setText("")

    @staticmethod
    def _answers_text(get, figure, key: str, min_n: int) -> str:
        """A follow-up question's figure (CSAT, CES), or why there is none."""
        if figure.shown:
            return get(key, value=figure.value, n=figure.n)
        return get("admin.hidden", n=figure.n, min_n=min_n) if figure.n else get("admin.none")

    def _render_charts(self, get) -> None:
        f = self.figures
        self.charts["scores"].set_bars(range(11), f.score_counts,
                                       ticks=[(i, str(i)) for i in range(11)])
        no_camera = get("admin.nocamera")
        if f.traffic_by_hour:
            hours = list(range(24))
            self.charts["traffic"].set_bars(hours, [f.traffic_by_hour.get(h, 0) for h in hours],
                                            ticks=[(h, f"{h:02d}") for h in hours[::3]])
        else:
            self.charts["traffic"].set_bars([], [], empty_text=no_camera)
        if any(f.dwell_counts):
            edges = DWELL_EDGES_MIN
            ticks = [(i, f"{a}–{b}") for i, (a, b) in enumerate(zip(edges, edges[1:]))]
            ticks[-1] = (len(edges) - 2, f"{edges[-2]}+")
            self.charts["dwell"].set_bars(range(len(f.dwell_counts)), f.dwell_counts,
                                          ticks=ticks)
        else:
            self.charts["dwell"].set_bars([], [], empty_text=no_camera)

    def _render_people(self, get) -> None:
        """Visitors by age bracket and gender, and under the same columns each bracket's NPS
        and number of answers (so a bracket's NPS is read against its visitors)."""
        f, k, min_n = self.figures, self.config.privacy.k_floor, self.config.privacy.min_n
        if not f.visitor_mix:
            self.demographics.setMinimumWidth(0)
            self.demographics.setText(get("admin.nocamera"))
            self.demographics_note.setText("")
            return
        ages = sorted({a or "?" for a, _ in f.visitor_mix} | {a or "?" for a in f.nps_by_age})
        below_k = html.escape(get("admin.demographics.suppressed", k=k))

        def row(name: str, cells: list[str]) -> str:
            return (f"<tr><td>{html.escape(name)}</td>" +
                    "".join(f"<td align='right'>&nbsp;&nbsp;{c}</td>" for c in cells) + "</tr>")

        rows = ["<tr><th></th>" + "".join(f"<th align='right'>&nbsp;&nbsp;{a}</th>"
                                         for a in ages) + "</tr>"]
        for g in ("female", "male", None):
            cells = []
            for a in ages:
                value = f.visitor_mix.get((None if a == "?" else a, g), 0)
                cells.append(str(value) if value is not None else below_k)
            rows.append(row(get(f"admin.gender.{g or 'unknown'}"), cells))
        scores = [f.nps_by_age.get("" if a == "?" else a) for a in ages]
        rows.append(row(get("admin.nps_by_age.row"),
                        [f"<b>{r.value:+.0f}</b>" if r and r.shown else "–" for r in scores]))
        answers = [r.n if r else 0 for r in scores]
        rows.append(row(get("admin.nps_by_age.answers"),
                        [str(n) if n == 0 or n >= k else below_k for n in answers]))
        self.demographics.setText("<table>" + "".join(rows) + "</table>")
        # Rich text gives no minimum width of its own; without one the last columns are cut.
        self.demographics.setMinimumWidth(self.demographics.sizeHint().width())
        self.demographics_note.setText(get("admin.demographics.note", k=k) + " " +
                                       get("admin.nps_by_age.note", min_n=min_n))

    def _render_cases(self, get) -> None:
        f = self.figures
        # the manager's choice survives a redraw (a new case may come in while they type)
        chosen = self.case_list.currentItem()
        chosen = chosen.data(Qt.UserRole) if chosen is not None else None
        self.case_list.clear()
        reason_names = {r.id: getattr(r, self.lang) for r in self.config.kiosk.reasons.detractor}
        for case in f.open_cases:
            when = datetime.fromtimestamp(case.opened_at, self.config.tz).strftime("%d/%m %H:%M")
            reasons = ", ".join(reason_names.get(r, r) for r in case.reasons)
            if case.comment:
                reasons = f"{reasons} — “{case.comment}”" if reasons else f"“{case.comment}”"
            item = QListWidgetItem(get("admin.cases.item", time=when, nps=case.nps,
                                       reasons=reasons or "—"))
            item.setData(Qt.UserRole, case.id)
            self.case_list.addItem(item)
        if not f.open_cases:
            self.case_list.addItem(QListWidgetItem(get("admin.cases.none")))
        else:
            ids = [case.id for case in f.open_cases]
            self.case_list.setCurrentRow(ids.index(chosen) if chosen in ids else 0)

    def _render_health(self, get) -> None:
        f, now = self.figures, time.time()
        lines = []
        vision = f.health.get("vision")
        if vision and isinstance(vision.get("last_frame"), (int, float)):
            lines.append(get("admin.health.camera", fps=float(vision.get("fps") or 0),
                             ago=self._ago(now - vision["last_frame"])))
        else:
            lines.append(get("admin.health.camera.none"))
        out = f.outbox
        if out.get("last_acked_at"):
            lines.append(get("admin.health.sync", pending=out["pending"],
                             ago=self._ago(now - out["last_acked_at"])))
        else:
            lines.append(get("admin.health.sync.never", pending=out["pending"]))
        if f.disk_free_bytes is not None:
            lines.append(get("admin.health.disk", gb=f.disk_free_bytes / 1e9))
        self.health.setText("\n".join(lines))

    def _ago(self, seconds: float) -> str:
        s = max(0, int(seconds))
        for key, unit in (("d", 86400), ("h", 3600), ("min", 60)):
            if s >= unit:
                return self.strings.get(self.lang, f"admin.ago.{key}", n=s // unit)
        return self.strings.get(self.lang, "admin.ago.s", n=s)

    def _duration(self, seconds: float) -> str:
        if seconds < 3600:
            return self.strings.get(self.lang, "admin.duration.min", n=seconds / 60)
        return self.strings.get(self.lang, "admin.duration.h", n=seconds / 3600)
