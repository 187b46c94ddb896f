"""The admin screen's Counter page: the manager checks the people counter against a hand count.

    page = CounterCheckPanel(config, strings, writer)
    page.refresh()                        # station.handcount.calibration, on a worker thread
    page.step_day(-1); page.step_start(-4); page.press("2"); page.press("1"); page.save()
    page.set_correction(True)             # entries, participation, conversion corrected

The manager picks a period that is over (the day, and the start and end in quarter hours,
with -/+ buttons: no typing) and enters the count from a clicker at the entrance on the
number pad. The station stores it (`Store.add_hand_count`, which also sends it to HQ), and
the page lists every check with the cameras' entries for the same period beside it, the
error of each (camera / hand - 1) and the running error over all of them, and the factor
hand / camera the correction applies when the manager turns it on. Reads run on a worker
thread with their own connection; writes go through the kiosk's writer connection.
"""
from __future__ import annotations

import html
import logging
import time
from datetime import datetime, timedelta

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QBoxLayout, QFrame, QGridLayout, QHBoxLayout, QLabel,
                               QPushButton, QVBoxLayout, QWidget)

from kiosk.reader import PageReader
from kiosk.typeset import keep_together
from kiosk.writer import DB_ERRORS
from station.handcount import Calibration, calibration, format_factor
from station.wording import number

log = logging.getLogger("kiosk.counter_check")

STEP_MIN = 15                 # one tap on -/+ moves a time by a quarter hour
MAX_COUNT_DIGITS = 6
SHOWN_CHECKS = 5
PAD = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "back")


def _label(name: str = "", wrap: bool = True) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(wrap)
    return label


class CounterCheckPanel(QWidget):
    failed = Signal(str)
    drawn = Signal()                         # a read was drawn (tests, the admin screen)

    def __init__(self, config, strings, writer, parent=None, clock=time.time):
        super().__init__(parent)
        self.config, self.strings, self.writer, self.clock = config, strings, writer, clock
        self.lang = config.kiosk.default_language
        self.reader = PageReader(config, "counter-refresh", again=self.refresh, parent=self)
        self.calibration: Calibration | None = None
        self.reset_entry()

        self.title = _label("panel")
        self.reading = _label("subtle", wrap=False)
        self.reading.hide()
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.reading)

        # the entry: day, from, to with -/+ buttons; the count on a number pad
        self.entry_title = _label("panel")
        self.rows: dict[str, tuple[QLabel, QLabel, QPushButton, QPushButton]] = {}
        grid = QGridLayout()
        for i, (key, step) in enumerate((("day", self.step_day), ("start", self.step_start),
                                         ("end", self.step_end))):
            name, value = _label(), _label("panel", wrap=False)
            minus, plus = QPushButton("−"), QPushButton("+")
            minus.clicked.connect(lambda _=False, s=step: s(-1))
            plus.clicked.connect(lambda _=False, s=step: s(+1))
            grid.addWidget(name, i, 0)
            grid.addWidget(minus, i, 1)
            grid.addWidget(value, i, 2)
            grid.addWidget(plus, i, 3)
            self.rows[key] = (name, value, minus, plus)
        grid.setRowStretch(3, 1)
        self.count_name, self.count_value = _label(), _label("panel", wrap=False)
        count = QHBoxLayout()
        count.addWidget(self.count_name, 1)
        count.addWidget(self.count_value)
        self.pad: dict[str, QPushButton] = {}
        pad = QGridLayout()
        for i, key in enumerate(PAD):
            button = QPushButton(key if key.isdigit() else "")
            button.clicked.connect(lambda _=False, k=key: self.press(k))
            pad.addWidget(button, i // 3, i % 3)
            self.pad[key] = button
        self.save_button = QPushButton()
        self.save_button.clicked.connect(self.save)
        self.entry_note = _label("subtle")
        # the period beside the number pad: the page stays as low as the dashboard
        keys = QVBoxLayout()
        keys.addLayout(count)
        keys.addLayout(pad)
        keys.addWidget(self.save_button)
        controls = QHBoxLayout()
        controls.addLayout(grid, 1)
        controls.addLayout(keys, 1)
        entry = QFrame()
        entry.setObjectName("card")
        entry_layout = QVBoxLayout(entry)
        entry_layout.addWidget(self.entry_title)
        entry_layout.addLayout(controls)
        entry_layout.addWidget(self.entry_note)
        entry_layout.addStretch(1)

        # the checks, the running error, the factor and the switch
        self.checks_title = _label("panel")
        self.checks = _label(wrap=False)
        self.summary = _label()
        self.correction_button = QPushButton()
        self.correction_button.setCheckable(True)
        self.correction_button.clicked.connect(lambda on: self.set_correction(on))
        self.correction_note = _label("subtle")
        results = QFrame()
        results.setObjectName("card")
        results_layout = QVBoxLayout(results)
        results_layout.addWidget(self.checks_title)
        results_layout.addWidget(self.checks)
        results_layout.addWidget(self.summary)
        results_layout.addWidget(self.correction_button)
        results_layout.addWidget(self.correction_note)
        results_layout.addStretch(1)

        # side by side on a landscape screen, the entry over the checks on a portrait one
        self.body = body = QBoxLayout(QBoxLayout.LeftToRight)
        body.addWidget(entry, 3)
        body.addWidget(results, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addLayout(body, 1)

    # -- the entry ----------------------------------------------------------------------------
    def reset_entry(self) -> None:
        """The last whole hour that is over, today (the usual clicker hour), and no count."""
        now = datetime.fromtimestamp(self.clock(), self.config.tz)
        end = now.replace(minute=0, second=0, microsecond=0)
        self.day = end.date()
        self.start_min = end.hour * 60 - 60
        self.end_min = end.hour * 60
        if self.start_min < 0:                 # just after midnight: yesterday's last hour
            self.day -= timedelta(days=1)
            self.start_min, self.end_min = 23 * 60, 24 * 60
        self.count = ""

    def step_day(self, sign: int) -> None:
        today = datetime.fromtimestamp(self.clock(), self.config.tz).date()
        self.day = min(today, self.day + timedelta(days=sign))
        self._render_entry()

    def step_start(self, sign: int) -> None:
        self.start_min = max(0, min(self.end_min - STEP_MIN, self.start_min + sign * STEP_MIN))
        self._render_entry()

    def step_end(self, sign: int) -> None:
        self.end_min = max(self.start_min + STEP_MIN,
                           min(24 * 60, self.end_min + sign * STEP_MIN))
        self._render_entry()

    def press(self, key: str) -> None:
        """A number pad key: a digit, 'back' (the last digit) or 'clear'."""
        if key == "clear":
            self.count = ""
        elif key == "back":
            self.count = self.count[:-1]
        elif key.isdigit() and len(self.count) < MAX_COUNT_DIGITS:
            self.count = (self.count + key).lstrip("0") or "0"
        self._render_entry()

    def period(self) -> tuple[float, float]:
        """The entry's period as epoch seconds (local day and times of the station)."""
        midnight = datetime(self.day.year, self.day.month, self.day.day, tzinfo=self.config.tz)
        return ((midnight + timedelta(minutes=self.start_min)).timestamp(),
                (midnight + timedelta(minutes=self.end_min)).timestamp())

    def save(self) -> bool:
        """Store the hand count (with its HQ event); False, saying why, when it cannot be."""
        if not self.count:
            self.entry_note.setText(self.get("counter.entry.no_count"))
            return False
        start, end = self.period()
        store = self.writer.store
        try:
            if store is None:
                raise OSError(self.writer.last_error or "not open")
            store.add_hand_count(start, end, int(self.count), who="admin")
        except ValueError:
            self.entry_note.setText(self.get("counter.entry.not_over"))
            return False
        except DB_ERRORS as exc:
            log.error("could not store a hand count: %s", exc)
            self.failed.emit(str(exc))
            return False
        self.entry_note.setText(self.get("counter.entry.saved"))
        self.count = ""
        self._render_entry()
        self.refresh()
        return True

    def set_correction(self, on: bool) -> None:
        store = self.writer.store
        try:
            if store is None:
                raise OSError(self.writer.last_error or "not open")
            store.set_count_correction(on, who="admin")
        except DB_ERRORS as exc:
            log.error("could not switch the counter correction: %s", exc)
            self.failed.emit(str(exc))
            return
        self.refresh()

    # -- reading ------------------------------------------------------------------------------
    def refresh(self) -> bool:
        if not self.reader.read(calibration, self._on_ready):
            return False
        self.reading.setText(self.get("counter.reading"))
        self.reading.show()
        return True

    @property
    def reading_now(self) -> bool:
        """From refresh() until its read is drawn."""
        return self.reader.busy

    def _on_ready(self, result) -> None:
        self.reading.hide()
        if isinstance(result, Exception):
            log.error("counter check read failed: %s", result)
            self.failed.emit(str(result))
        else:
            self.calibration = result
            self.render()
            self.drawn.emit()

    def close_connections(self) -> None:
        self.reader.close()

    def set_portrait(self, portrait: bool) -> None:
        self.body.setDirection(QBoxLayout.TopToBottom if portrait else QBoxLayout.LeftToRight)

    # -- drawing ------------------------------------------------------------------------------
    def get(self, key: str, **kw) -> str:
        return self.strings.get(self.lang, key, **kw)

    def retranslate(self, lang: str) -> None:
        self.lang = lang
        self.title.setText(keep_together(self.get("counter.title")))
        self.entry_title.setText(keep_together(self.get("counter.entry.title")))
        self.checks_title.setText(keep_together(self.get("counter.checks.title")))
        for key, (name, *_rest) in self.rows.items():
            name.setText(self.get(f"counter.entry.{key}"))
        self.count_name.setText(keep_together(self.get("counter.entry.count")))
        self.pad["clear"].setText(self.get("counter.pad.clear"))
        self.pad["back"].setText(self.get("counter.pad.back"))
        self.save_button.setText(self.get("counter.entry.save"))
        self.reading.setText(self.get("counter.reading"))
        self._render_entry()
        self.render()

    def _render_entry(self) -> None:
        if not hasattr(self, "rows"):
            return                             # reset_entry() runs before the widgets exist
        self.rows["day"][1].setText(self.day.strftime("%d/%m/%Y"))
        self.rows["start"][1].setText(_clock(self.start_min))
        self.rows["end"][1].setText(_clock(self.end_min))
        self.count_value.setText(self.count or "–")

    def render(self) -> None:
        cal = self.calibration
        if cal is None:
            return
        self.correction_button.setChecked(cal.switched_on)
        self.correction_button.setText(self.get("counter.correction.on" if cal.switched_on
                                                else "counter.correction.off"))
        if not cal.checks:
            self.checks.setText(self.get("counter.checks.none"))
            self.summary.setText("")
        else:
            self.checks.setText(self._table(cal))
            self.summary.setText(keep_together(self.get(
                "counter.summary", checks=len(cal.checks), hand=number(cal.hand, lang=self.lang),
                camera=number(cal.camera, lang=self.lang), error=self._percent(cal.error),
                factor=format_factor(cal.factor, self.lang) if cal.factor else "–")))
        if cal.applied:
            note = self.get("counter.correction.applied", label=cal.label(self.lang))
        elif cal.switched_on:
            note = self.get("counter.correction.no_factor")
        else:
            note = self.get("counter.correction.explain")
        self.correction_note.setText(keep_together(note))

    def _table(self, cal: Calibration) -> str:
        head = "".join(f"<th align='left'>{html.escape(self.get(f'counter.checks.{k}'))}"
                       f"&nbsp;&nbsp;</th>" for k in ("period", "hand", "camera", "error"))
        rows = [f"<tr>{head}</tr>"]
        for c in cal.checks[-SHOWN_CHECKS:]:   # the newest; the summary has them all
            start = datetime.fromtimestamp(c.start, self.config.tz)
            end = datetime.fromtimestamp(c.end, self.config.tz)
            period = f"{start:%d/%m %H:%M}–{end:%H:%M}"
            cells = (period, number(c.hand, lang=self.lang), number(c.camera, lang=self.lang),
                     self._percent(c.error))
            rows.append("<tr>" + "".join(f"<td>{html.escape(v)}&nbsp;&nbsp;</td>"
                                         for v in cells) + "</tr>")
        return "<table>" + "".join(rows) + "</table>"

    def _percent(self, value: float | None) -> str:
        if value is None:
            return "–"
        return f"{'+' if value >= 0 else '−'}{number(abs(100 * value), self.lang, 1)} %"


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
