"""The store manager's dashboard (behind the PIN): KPIs for today / 7 / 30 days, charts,
the detractor case inbox and station health; the Goals and Alerts pages beside it.

    admin = AdminScreen(config, strings, writer)
    admin.open()                 # shown at once; the figures follow from a background read
    admin.set_period("7d")       # read and drawn now
    admin.fit((1080, 1920))      # laid out for the window's size (done on its every resize)

Figures come from `kiosk.dashboard.Dashboard`, the headline ones as a `station.scorecard`
Scorecard; charts are pyqtgraph (kiosk/charts.py). An absent figure says why (too few answers,
privacy floor, no camera yet) instead of showing a misleading number; counts and intervals
are said in plain words ('from 42 responses', '9 in 10 within 58 min'), never 'n =' or 'p90'
(kiosk/admin_words.py).
The layout is a row of KPI cards over the charts and people, with the case inbox beside them
(landscape) or under them (portrait). While the screen is open a new alert or case, whoever
wrote it, shows within about a second (kiosk/arrivals.py), with a beep when [alerts] sound is
on.
"""
from __future__ import annotations

import itertools
import logging
import time

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (QBoxLayout, QButtonGroup, QFrame, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QStackedWidget, QVBoxLayout, QWidget)

from kiosk import theme
from kiosk.admin_words import AdminWords
from kiosk.alerts_panel import AlertsPanel
from kiosk.arrivals import ArrivalWatch
from kiosk.case_list import CasePanel
from kiosk.charts import BarChart
from kiosk.counter_check import CounterCheckPanel
from kiosk.dashboard import DWELL_EDGES_MIN, PERIODS, Dashboard, Figures
from kiosk.goals import GoalsPanel
from kiosk.keyboard import OnScreenKeyboard
from kiosk.reader import PageReader
from kiosk.typeset import keep_together
from kiosk.writer import DB_ERRORS

log = logging.getLogger("kiosk.admin")
AUTO_REFRESH_S = 30
AFTER_PAINT_MS = 100
CARDS = ("nps", "csat", "participation", "complaints")


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


def _row(*widgets, stretch_first: bool = False) -> QWidget:
    """Widgets side by side in a box of their own (moved as one between layouts)."""
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for i, w in enumerate(widgets):
        layout.addWidget(w, 1 if stretch_first and i == 0 else 0)
    return box


class AdminScreen(QWidget):
    """The dashboard page. `open()` shows it at once and reads on a worker thread;
    `refresh()` reads and draws at once (period buttons, after resolving a case); the
    automatic refresh reads on the worker thread too, with its own connection, so a shopper's
    tap on the same process is never queued behind the dashboard's queries."""
    closed = Signal()
    exit_requested = Signal()
    chimed = Signal()                            # a beep for a new alert or case

    def __init__(self, config, strings, writer, parent=None):
        super().__init__(parent)
        self.setObjectName("admin")
        self.config, self.strings, self.writer = config, strings, writer
        self.lang = config.kiosk.default_language
        self.period = "today"
        self.figures: Figures | None = None
        self.last_refresh_ms: float | None = None
        self.dashboard = Dashboard(config)
        self.words = AdminWords(config, strings, self.lang)
        self.reader = PageReader(config, "dashboard-refresh", again=self.refresh_in_background,
                                 parent=self)
        # reads are numbered as they begin (under the reader's lock): an older read finishing
        # late never draws over a newer one
        self._reads = itertools.count(1)
        self._drawn_read = 0
        self._case_asked: str | None = None      # the newest case the case list was read for
        self.store_name = config.station.name or config.station.store
        self.portrait: bool | None = None
        self.min_touch = 0
        self.font_px = theme.BASE["small"]
        self._fitted: tuple | None = None
        self._window: QWidget | None = None
        self._after_paint: list = []             # to start once the screen has been painted

        self._build_head()
        self.error = _text("subtle")
        self.error.hide()
        self.reading = _text("subtle")
        self.reading.hide()
        self._build_overview()
        self.goals = GoalsPanel(config, strings, writer)
        self.goals.failed.connect(self._show_error)
        self.nav.layout().addWidget(self.goals.span_box)      # its day/week toggle up here
        self.goals.span_box.hide()
        self.alerts = AlertsPanel(config, strings, writer)
        self.alerts.failed.connect(self._show_error)
        self.alerts.drawn.connect(self._label_alerts_button)
        self.counter = CounterCheckPanel(config, strings, writer)
        self.counter.failed.connect(self._show_error)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.overview)
        self.pages.addWidget(self.goals)
        self.pages.addWidget(self.alerts)
        self.pages.addWidget(self.counter)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(self.head)
        layout.addWidget(self.error)
        layout.addWidget(self.reading)
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
        self.arrange(portrait=False)
        # once in a window: fitted to it from then on, shown or not
        QTimer.singleShot(0, self._watch_window)

    # -- building --------------------------------------------------------------------------
    def _build_head(self) -> None:
        """The title; the pages (Dashboard, Goals, Alerts) and the dashboard's periods; the
        refresh, close and exit buttons. One row on a landscape screen, two on a portrait
        one."""
        self.title = _text("figure")
        self.dashboard_button, self.goals_button, self.alerts_button, self.counter_button = (
            QPushButton() for _ in range(4))
        pages = QButtonGroup(self)
        for button, show in ((self.dashboard_button, self.show_dashboard),
                             (self.goals_button, self.show_goals),
                             (self.alerts_button, self.show_alerts),
                             (self.counter_button, self.show_counter)):
            button.setCheckable(True)
            button.clicked.connect(lambda _=False, show=show: show())
            pages.addButton(button)
        self.dashboard_button.setChecked(True)
        self.period_buttons: dict[str, QPushButton] = {}
        group = QButtonGroup(self)
        for period in PERIODS:
            button = QPushButton()
            button.setCheckable(True)
            button.clicked.connect(lambda _=False, p=period: self.set_period(p))
            group.addButton(button)
            self.period_buttons[period] = button
        self.period_buttons[self.period].setChecked(True)
        self.refresh_button, self.close_button, self.exit_button = (QPushButton() for _ in range(3))
        self.refresh_button.clicked.connect(self.refresh_page)
        self.close_button.clicked.connect(self.closed)
        self.exit_button.clicked.connect(self.exit_requested)
        self.nav = _row(self.dashboard_button, self.goals_button, self.alerts_button,
                        self.counter_button, *self.period_buttons.values())
        self.nav.layout().insertSpacing(4, 16)
        self.actions = _row(self.refresh_button, self.close_button, self.exit_button)
        # landscape: title, nav, actions in the first line; portrait: nav on a line of its own
        self.head = QVBoxLayout()
        self.head_line, self.nav_line = QHBoxLayout(), QHBoxLayout()
        self.head_line.addWidget(self.title, 1)
        self.head_line.addWidget(self.actions)
        self.head.addLayout(self.head_line)
        self.head.addLayout(self.nav_line)

    def _build_overview(self) -> None:
        # KPI cards
        self.labels = {k: _text("panel") for k in ("nps", "csat", "ces", "participation",
                                                    "complaints", "demographics", "cases",
                                                    "health")}
        self.nps_value, self.nps_detail, self.nps_groups = _text("figure"), _text(), _text()
        self.csat_value, self.ces_value = _text(), _text()
        self.participation_value, self.partial_value = _text(), _text()
        self.complaints_value, self.handling_value = _text(), _text()
        # issue 17: returning shoppers under NPS, conversion and people in the store under
        # participation, complaint handling under the case handling
        self.returning_value, self.conversion_value = _text(), _text()
        self.occupancy_value, self.complaint_handling_value = _text(), _text()
        self.cards = {
            "nps": _card(self.labels["nps"], self.nps_value, self.nps_detail, self.nps_groups,
                         self.returning_value),
            "csat": _card(self.labels["csat"], self.csat_value, self.labels["ces"],
                          self.ces_value),
            "participation": _card(self.labels["participation"], self.participation_value,
                                   self.partial_value, self.conversion_value,
                                   self.occupancy_value),
            "complaints": _card(self.labels["complaints"], self.complaints_value,
                                self.handling_value, self.complaint_handling_value),
        }
        # two pairs of cards: side by side in one row (landscape), one over the other (portrait)
        self.card_row = QWidget()
        self.card_box = QBoxLayout(QBoxLayout.LeftToRight, self.card_row)
        self.card_box.setContentsMargins(0, 0, 0, 0)
        for pair in (("nps", "csat"), ("participation", "complaints")):
            line = QHBoxLayout()
            line.addWidget(self.cards[pair[0]], 3)
            line.addWidget(self.cards[pair[1]], 2)
            self.card_box.addLayout(line, 1)

        # charts
        self.charts = {k: BarChart() for k in ("scores", "traffic", "dwell")}
        self.chart_row = _row(*self.charts.values())
        for chart in self.charts.values():
            self.chart_row.layout().setStretchFactor(chart, 1)
            chart.plot.hide()                 # drawn when the first figures come in

        # demographics and health
        # Not wrapped: the table keeps its natural width and the card grows to show every column.
        self.demographics = _text(wrap=False)
        self.demographics.setTextFormat(Qt.RichText)
        self.demographics_note = _text("subtle")
        self.health = _text()
        self.people_card = _card(self.labels["demographics"], self.demographics,
                                 self.demographics_note)
        self.health_card = _card(self.labels["health"], self.health)
        self.people_row = _row(self.people_card, self.health_card)
        self.people_row.layout().setStretchFactor(self.health_card, 1)

        # the case inbox
        self.case_panel = CasePanel()
        self.case_list = self.case_panel.list
        self.case_note = QLineEdit()
        self.case_note.setMaxLength(300)
        self.resolve_button = QPushButton()
        self.resolve_button.clicked.connect(self.resolve_selected)
        # floats over the window clear of the note (kiosk/keyboard.py): never resizes it
        self.keyboard = OnScreenKeyboard(self.strings, self, self.config.kiosk.screen_diagonal_in)
        self.keyboard.attach(self.case_note)
        self.keyboard.done.connect(self.keyboard.hide)
        self.keyboard.hide()
        self.case_note.mousePressEvent = lambda event: self.keyboard.show()
        self.note_row = QBoxLayout(QBoxLayout.TopToBottom)
        self.note_row.addWidget(self.case_note, 1)
        self.note_row.addWidget(self.resolve_button)
        self.cases_card = QFrame()
        self.cases_card.setObjectName("card")
        cases_box = QVBoxLayout(self.cases_card)
        cases_box.addWidget(self.labels["cases"])
        cases_box.addWidget(self.case_panel, 1)
        # which case the note is for: in sight when the keyboard covers the list
        self.case_chosen = _text("subtle")
        self.case_chosen.hide()
        cases_box.addWidget(self.case_chosen)
        cases_box.addLayout(self.note_row)
        self.case_list.currentRowChanged.connect(lambda _: self._show_chosen())

        # the cards over the rest; the charts over people and health, beside the cases
        # (landscape) or over them (portrait)
        self.overview = QWidget()
        overview = QVBoxLayout(self.overview)
        overview.setContentsMargins(0, 0, 0, 0)
        overview.addWidget(self.card_row)
        self.body = QBoxLayout(QBoxLayout.LeftToRight)
        figures = QVBoxLayout()
        figures.addWidget(self.chart_row, 3)
        figures.addWidget(self.people_row, 2)
        self.body.addLayout(figures, 2)
        self.body.addWidget(self.cases_card, 1)
        overview.addLayout(self.body, 1)

    # -- fitting to the screen -------------------------------------------------------------
    def _watch_window(self) -> None:
        """Fit to the window now and on each of its resizes: a hidden page is resized only
        when shown, which would put the fitting between the PIN's OK and the first paint."""
        window = self.window()                   # itself when shown on its own (a bench)
        if window is self._window:
            return
        self._window = window
        window.installEventFilter(self)
        self.fit((window.width(), window.height()))
        self.ensurePolished()                    # its style sheet applied now, not at the OK

    def eventFilter(self, watched, event) -> bool:
        if watched is self._window and event.type() == QEvent.Resize:
            self.fit((watched.width(), watched.height()))
        return False

    def fit(self, size: tuple[int, int], min_touch: int = 0) -> None:
        """Lay out for a window of `size`: case rows at least the touch minimum high, chart
        text the theme's small size, and on a portrait screen a column at the sizes of the
        same glass turned (the window's stylesheet is for a landscape admin screen)."""
        width, height = size
        portrait = height > width
        scale = theme.scale_for(height, width) if portrait else theme.scale_for(width, height)
        touch = max(theme.min_touch_px(size, self.config.kiosk.screen_diagonal_in),
                    theme.sizes(scale)["touch"], min_touch)
        if (scale, touch, portrait) == self._fitted:
            return
        self._fitted = (scale, touch, portrait)
        self.setStyleSheet(theme.stylesheet(scale, self.config.kiosk.brand_color, touch)
                           if portrait else "")
        self.min_touch = touch
        self.case_panel.set_min_row(touch)
        self.font_px = theme.sizes(scale)["small"]
        for chart in self.charts.values():
            chart.set_font_px(self.font_px)
        self.goals.set_font_px(self.font_px)
        self.goals.set_columns(2 if portrait else 3)
        self.alerts.set_portrait(portrait)
        self.counter.set_portrait(portrait)
        self.arrange(portrait)

    def arrange(self, portrait: bool) -> None:
        """Landscape: one line of buttons, the cards in a row, the cases in a column beside
        the charts. Portrait: the page buttons on a line of their own, the cards two by two,
        the cases under everything, their note beside its button."""
        if portrait == self.portrait:
            return
        self.portrait = portrait
        self.head_line.removeWidget(self.nav)
        self.nav_line.removeWidget(self.nav)
        if portrait:
            self.nav_line.addWidget(self.nav)
            self.nav_line.addStretch(1)
        else:
            self.head_line.insertWidget(1, self.nav)
            while self.nav_line.count():
                self.nav_line.takeAt(0)
        self.card_box.setDirection(QBoxLayout.TopToBottom if portrait else QBoxLayout.LeftToRight)
        self.body.setDirection(QBoxLayout.TopToBottom if portrait else QBoxLayout.LeftToRight)
        self.body.setStretch(0, 2)
        self.body.setStretch(1, 2 if portrait else 1)
        self.note_row.setDirection(QBoxLayout.LeftToRight if portrait else QBoxLayout.TopToBottom)

    def showEvent(self, event):
        if self._fitted is None:                 # shown before the event loop ran
            self._watch_window()
        self.auto_refresh.start()
        self._case_asked = None
        self.after_paint(self._start_watch)
        super().showEvent(event)

    def _start_watch(self) -> None:
        if self.isVisible():
            self.watch.start()

    def after_paint(self, work) -> None:
        """`work` once the screen has been painted (or after AFTER_PAINT_MS at the latest):
        what starts a worker thread waits for the first frame, so the frame is not late."""
        if not self._after_paint:
            QTimer.singleShot(AFTER_PAINT_MS, self._run_after_paint)
        self._after_paint.append(work)

    def paintEvent(self, event):
        super().paintEvent(event)
        if self._after_paint:
            QTimer.singleShot(0, self._run_after_paint)

    def _run_after_paint(self) -> None:
        work, self._after_paint = self._after_paint, []
        for one in work:
            one()

    def hideEvent(self, event):
        self.auto_refresh.stop()
        self.watch.stop()
        self.cases_retry.stop()
        super().hideEvent(event)

    def close_connections(self) -> None:
        self.watch.close()
        self.goals.close_connections()
        self.alerts.close_connections()
        self.counter.close_connections()
        self.reader.close()

    # -- actions ---------------------------------------------------------------------------
    def open(self) -> None:
        """Show the screen now (the PIN's OK never waits for the database): what was drawn
        last, or nothing yet, says that the figures are being read; they are drawn when the
        background read returns."""
        self.reading.setText(self._get("admin.reading"))
        self.reading.show()
        self.after_paint(self._read_now)

    def _read_now(self) -> None:
        self.refresh_in_background(retry=True)   # the start-up warm-up may run: after it

    def refresh_page(self) -> None:
        """The Refresh button: read again what the page on show shows, off the GUI thread."""
        page = self.pages.currentWidget()
        if page is self.goals:
            self.goals.refresh()
        elif page is self.alerts:
            self.alerts.refresh()
        elif page is self.counter:
            self.counter.refresh()
        else:
            self.open()

    def set_period(self, period: str) -> None:
        self.period = period
        self.period_buttons[period].setChecked(True)
        self.show_page(self.overview)
        self.refresh()

    def show_dashboard(self) -> None:
        self.show_page(self.overview)

    def show_goals(self, on: bool = True) -> None:
        """The Goals page (read now) or back to the dashboard; the Goals page has its own
        day/week toggle."""
        self.show_page(self.goals if on else self.overview)

    def show_alerts(self, on: bool = True) -> None:
        """The Alerts page (read now) or back to the dashboard."""
        self.show_page(self.alerts if on else self.overview)

    def show_counter(self) -> None:
        """The Counter page: hand counts against the camera, and the correction switch."""
        self.show_page(self.counter)

    def show_page(self, page: QWidget) -> None:
        """`page` on show; the period buttons only with the dashboard (they mean nothing on
        the Goals and Alerts pages)."""
        self.dashboard_button.setChecked(page is self.overview)
        self.goals_button.setChecked(page is self.goals)
        self.alerts_button.setChecked(page is self.alerts)
        self.counter_button.setChecked(page is self.counter)
        for button in self.period_buttons.values():
            button.setVisible(page is self.overview)
        self.goals.span_box.setVisible(page is self.goals)
        if page is not self.overview:
            self.keyboard.hide()
        if page is self.goals:
            self.goals.editor.hide()          # a half-made edit from an earlier visit is void
            self.goals.refresh()
        if page is self.alerts:
            self.alerts.keyboard.hide()
            self.alerts.refresh()
        if page is self.counter:
            self.counter.reset_entry()        # a half-made entry from an earlier visit is void
            self.counter.retranslate(self.lang)
            self.counter.refresh()
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
        return self.reader.shown(lambda f: self._draw_read(f, start, read, True), figures)

    def refresh_in_background(self, period: str | None = None, draw: bool = True,
                              retry: bool = False) -> bool:
        """Read on a worker thread and draw when done; False if a read is still running
        (with `retry`, read once more when it is done).

        ``refresh_in_background("30d", draw=False)`` at start-up fills the day cache, so the
        manager's first look at 30 days does not wait for a scan of the whole month.
        """
        start = time.perf_counter()
        period = period or self.period
        read = []

        def work(store):
            read.append(next(self._reads))
            return self.dashboard.figures(store, period)

        def show(figures):
            return self._draw_read(figures, start, read[0] if read else 0, draw)

        return self.reader.read(work, show, retry=retry)

    def _draw_read(self, figures, start: float, read: int, draw: bool) -> bool:
        if not draw and not isinstance(figures, Exception):
            return True                       # the warm-up: the day cache is filled
        if read and read < self._drawn_read:
            return True                       # a newer read is on screen already
        self._drawn_read = max(self._drawn_read, read)     # 0: failed before it began
        self.reading.hide()
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
        case_id = item.data(Qt.UserRole) if item is not None else None
        if case_id is None or not note or self.writer.store is None:
            return
        try:
            case = self.writer.store.resolve_case(case_id, note)
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
    def _get(self, key: str, **kw):
        return self.strings.get(self.lang, key, **kw)

    def retranslate(self, lang: str) -> None:
        self.lang = lang
        self.words = AdminWords(self.config, self.strings, lang)
        self.keyboard.set_language(lang)
        get = self._get
        self.title.setText(keep_together(get("admin.title", store=self.store_name)))
        for period, button in self.period_buttons.items():
            button.setText(get(f"admin.period.{period}"))
        self.refresh_button.setText(get("admin.refresh"))
        self.close_button.setText(get("admin.close"))
        self.exit_button.setText(get("admin.exit"))
        self.dashboard_button.setText(get("admin.dashboard"))
        self.goals_button.setText(get("admin.goals"))
        self.counter_button.setText(get("admin.counter"))
        self._label_alerts_button()
        self.goals.retranslate(lang)
        self.alerts.retranslate(lang)
        self.counter.retranslate(lang)
        for key, label in self.labels.items():
            label.setText(keep_together(get(f"admin.{key}")))
        for name, chart in self.charts.items():
            chart.title.setText(keep_together(get(f"admin.chart.{name}")))
            chart.set_axis_titles(get(f"admin.axis.{name}.x"), get(f"admin.axis.{name}.y"))
        self.case_note.setPlaceholderText(get("admin.cases.note"))
        self.resolve_button.setText(get("admin.cases.resolve"))
        self.case_panel.set_words(
            lambda n: get("admin.cases.more", cases=self.words.count(n, "cases")),
            get("admin.cases.top"))
        if self.reading.isVisible():
            self.reading.setText(get("admin.reading"))
        if self.figures is not None:
            self.render()

    def render(self) -> None:
        f, w = self.figures, self.words
        card = f.scorecard
        value, detail, groups = w.nps(card)
        self.nps_value.setText(value)
        self.nps_detail.setText(detail)
        self.nps_groups.setText(groups)
        self.csat_value.setText(w.answers(card.csat, "admin.csat.value", card.min_n, 0))
        self.ces_value.setText(w.answers(card.ces, "admin.ces.value", card.min_n, 1))
        self.participation_value.setText(w.participation(card, f.entries, f.counter))
        self.partial_value.setText(w.partial(f.totals))
        self.complaints_value.setText(w.complaints(card, len(f.open_cases)))
        self.handling_value.setText(w.handling(card))
        for label, text in ((self.returning_value, w.returning(card)),
                            (self.conversion_value, w.conversion(f.conversion)),
                            (self.occupancy_value, w.occupancy(f.occupancy)),
                            (self.complaint_handling_value, w.complaint_handling(card))):
            label.setText(text)
            label.setVisible(bool(text))
        self._render_charts(self._get)
        self._render_people()
        self._render_cases()
        self.health.setText(w.health(f, time.time()))

    def _render_charts(self, get) -> None:
        f, lang = self.figures, self.lang
        self.charts["scores"].set_bars(range(11), f.score_counts,
                                       ticks=[(i, str(i)) for i in range(11)], lang=lang,
                                       steps=(1, 2, 5))
        no_camera = keep_together(get("admin.nocamera"))
        if f.traffic_by_hour:
            hours = list(range(24))
            self.charts["traffic"].set_bars(hours, [f.traffic_by_hour.get(h, 0) for h in hours],
                                            ticks=[(h, f"{h:02d}") for h in hours], lang=lang,
                                            steps=(3, 6, 12))
        else:
            self.charts["traffic"].set_bars([], [], empty_text=no_camera)
        if any(f.dwell_counts):
            # the bins' edges under the bars' sides: 0 1 2 5 10 20 30 60 (the last bar: 60+)
            edges = [(i - 0.5, str(edge)) for i, edge in enumerate(DWELL_EDGES_MIN)]
            self.charts["dwell"].set_bars(range(len(f.dwell_counts)), f.dwell_counts,
                                          ticks=edges, lang=lang, steps=(1, 2, 3))
        else:
            self.charts["dwell"].set_bars([], [], empty_text=no_camera)

    def _render_people(self) -> None:
        if not self.figures.visits:
            self.demographics.setMinimumWidth(0)
            self.demographics.setText(self._get("admin.nocamera"))
            self.demographics_note.setText("")
            return
        table, note = self.words.people(self.figures)
        self.demographics.setText(table)
        # Rich text gives no minimum width of its own; without one the last columns are cut.
        self.demographics.setMinimumWidth(self.demographics.sizeHint().width())
        self.demographics_note.setText(note)

    def _render_cases(self) -> None:
        f = self.figures
        # the manager's choice survives a redraw (a new case may come in while they type)
        chosen = self.case_list.currentItem()
        chosen = chosen.data(Qt.UserRole) if chosen is not None else None
        # ... and so does the page they turned to (the auto refresh redraws the list)
        page = self.case_list.verticalScrollBar().value()
        self.case_list.clear()
        for case in f.open_cases:
            self.case_list.addItem(self.words.case(case))
            self.case_list.item(self.case_list.count() - 1).setData(Qt.UserRole, case.id)
        if not f.open_cases:
            self.case_list.addItem(self._get("admin.cases.none"))
            self.case_list.item(0).setFlags(Qt.ItemIsEnabled)
        else:
            ids = [case.id for case in f.open_cases]
            self.case_list.setCurrentRow(ids.index(chosen) if chosen in ids else 0)
            bar = self.case_list.verticalScrollBar()
            bar.setValue(min(page, bar.maximum()))
        self._show_chosen()
        self.case_panel.fit()

    def _show_chosen(self) -> None:
        item = self.case_list.currentItem()
        case = item.data(Qt.UserRole) if item is not None else None
        self.case_chosen.setVisible(case is not None)
        if case is not None:
            first = item.text().split("\n")[0]
            self.case_chosen.setText(keep_together(self._get("admin.cases.chosen",
                                                             case=first)))
