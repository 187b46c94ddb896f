"""The admin screen's Alerts page: what the station raised (station/alerts.py, cx-watch), in
plain words, and the manager's acknowledge and resolve, each with a note.

    panel = AlertsPanel(config, strings, writer)
    panel.refresh()                  # store.alerts(...), on a worker thread
    panel.select(alert_id)
    panel.note.setText("Called the customer back")
    panel.acknowledge()              # store.acknowledge_alert(id, note=..., who="admin")
    panel.resolve()                  # store.close_alert(id, note=..., who="admin")

The list: unresolved alerts first, then the most recently resolved, each newest first, each
row tinted by its severity (kiosk/theme.py). Beside it the selected alert: its kind, subject,
how often and when (local time), its state with the manager's note, and its context's key
facts (kiosk/alert_words.py). Writes go through the kiosk's connection (the writer's store),
as a case's resolution does; reads through a PageReader off the GUI thread.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPixmap
from PySide6.QtWidgets import (QBoxLayout, QFrame, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QPushButton, QVBoxLayout, QWidget)

from kiosk.alert_words import AlertWords
from kiosk.keyboard import OnScreenKeyboard
from kiosk.reader import PageReader
from kiosk.theme import SEVERITY_COLOURS, SEVERITY_TINTS
from kiosk.writer import DB_ERRORS
from station.alerts import Alert

log = logging.getLogger("kiosk.alerts_panel")

WHO = "admin"                    # who acknowledged or resolved, in the alert and its event
UNRESOLVED_SHOWN = 200
RESOLVED_SHOWN = 30              # the most recently resolved, below the unresolved ones
SEVERITY_ROLE = Qt.UserRole + 1


def ordered(alerts: list[Alert]) -> list[Alert]:
    """Unresolved first, then resolved; newest activity first within each."""
    return sorted(alerts, key=lambda a: (a.state == "resolved", -a.last_seen))


def read_alerts(store) -> list[Alert]:
    return ordered(store.alerts("open", limit=UNRESOLVED_SHOWN) +
                   store.alerts("acknowledged", limit=UNRESOLVED_SHOWN) +
                   store.alerts("resolved", limit=RESOLVED_SHOWN))


def _label(name: str = "", wrap: bool = True) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(wrap)
    return label


class AlertsPanel(QWidget):
    """The Alerts page. `refresh()` reads on a worker thread; `drawn` once the list shows what
    was read, `failed` with the reason when the database cannot be read or written."""
    failed = Signal(str)
    drawn = Signal()

    def __init__(self, config, strings, writer, parent=None):
        super().__init__(parent)
        self.config, self.strings, self.writer = config, strings, writer
        self.lang = config.kiosk.default_language
        self.alerts: list[Alert] = []
        self.words = AlertWords(config, strings, self.lang)
        self.reader = PageReader(config, "alerts-refresh", again=self.refresh, parent=self)

        self.title = _label("panel", wrap=False)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        self.list = QListWidget()
        self.list.setObjectName("alerts")
        self.list.setWordWrap(True)
        self.list.setSpacing(3)               # the tints apart
        self.list.setIconSize(QSize(10, 40))
        self.list.currentRowChanged.connect(lambda _: self._show_selected())

        self.heading, self.status = _label("panel"), _label("status")
        self.subject, self.seen, self.changed = _label(), _label(), _label()
        self.facts = _label()
        self.facts.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.note = QLineEdit()
        self.note.setMaxLength(300)
        self.note.textChanged.connect(lambda _: self._enable_buttons())
        self.acknowledge_button, self.resolve_button = QPushButton(), QPushButton()
        self.resolve_button.setObjectName("primary")
        self.acknowledge_button.clicked.connect(self.acknowledge)
        self.resolve_button.clicked.connect(self.resolve)
        # floats over the window clear of the note (kiosk/keyboard.py): never resizes it
        self.keyboard = OnScreenKeyboard(strings, self, config.kiosk.screen_diagonal_in)
        self.keyboard.attach(self.note)
        self.keyboard.done.connect(self.keyboard.hide)
        self.keyboard.hide()
        self.note.mousePressEvent = lambda event: self.keyboard.show()

        self.detail = QFrame()
        self.detail.setObjectName("card")
        detail = QVBoxLayout(self.detail)
        for widget in (self.heading, self.status, self.subject, self.seen, self.changed):
            detail.addWidget(widget)
        detail.addWidget(self.facts, 1)
        detail.addWidget(self.note)
        buttons = QHBoxLayout()
        buttons.addWidget(self.acknowledge_button, 1)
        buttons.addWidget(self.resolve_button, 1)
        detail.addLayout(buttons)
        # the list beside the selected alert (landscape), over it (portrait)
        self.body = body = QBoxLayout(QBoxLayout.LeftToRight)
        body.addWidget(self.list, 3)
        body.addWidget(self.detail, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addLayout(body, 1)

    # -- reading ---------------------------------------------------------------------------
    def refresh(self) -> bool:
        """Read the alerts off the GUI thread and draw them when done; False (and one more
        read afterwards) while a read is still running."""
        return self.reader.read(read_alerts, self._on_ready)

    @property
    def reading_now(self) -> bool:
        return self.reader.busy

    def _on_ready(self, result) -> None:
        if isinstance(result, Exception):
            log.error("alerts refresh failed: %s", result)
            self.failed.emit(str(result))
        else:
            if result != self.alerts:
                self.alerts = result
                self.render()
            self.drawn.emit()

    def close_connections(self) -> None:
        self.reader.close()

    def set_portrait(self, portrait: bool) -> None:
        self.body.setDirection(QBoxLayout.TopToBottom if portrait else QBoxLayout.LeftToRight)

    @property
    def unresolved(self) -> int:
        return sum(a.state != "resolved" for a in self.alerts)

    # -- actions ---------------------------------------------------------------------------
    def selected(self) -> Alert | None:
        item = self.list.currentItem()
        alert_id = item.data(Qt.UserRole) if item is not None else None
        return next((a for a in self.alerts if a.id == alert_id), None)

    def select(self, alert_id: str) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(Qt.UserRole) == alert_id:
                self.list.setCurrentRow(row)
                return

    def acknowledge(self) -> None:
        """The manager has seen it (a note is optional); it stays unresolved."""
        self._change("acknowledge_alert")

    def resolve(self) -> None:
        """The manager has dealt with it; what was done is the note (required, as for a case)."""
        if self.note.text().strip():
            self._change("close_alert")

    def _change(self, method: str) -> None:
        alert, store = self.selected(), self.writer.store
        if alert is None or alert.state == "resolved":
            return
        note = self.note.text().strip() or None
        try:
            if store is None:
                raise OSError(self.writer.last_error or "not open")
            changed = getattr(store, method)(alert.id, note=note, who=WHO)
        except DB_ERRORS as exc:
            log.error("could not change alert %s: %s", alert.id, exc)
            self.failed.emit(str(exc))
            return
        self.note.clear()
        self.keyboard.hide()
        # shown at once; the read that follows brings what else changed meanwhile
        self.alerts = ordered([changed if a.id == changed.id else a for a in self.alerts])
        self.render()
        self.refresh()

    # -- drawing ---------------------------------------------------------------------------
    def get(self, key: str, **kw) -> str:
        return self.strings.get(self.lang, key, **kw)

    def retranslate(self, lang: str) -> None:
        self.lang = lang
        self.words = AlertWords(self.config, self.strings, lang)
        self.keyboard.set_language(lang)
        self.title.setText(self.get("alerts.title"))
        self.note.setPlaceholderText(self.get("alerts.note"))
        self.acknowledge_button.setText(self.get("alerts.acknowledge"))
        self.resolve_button.setText(self.get("alerts.resolve"))
        self.render()

    def render(self) -> None:
        chosen = self.selected()
        self.list.blockSignals(True)
        self.list.clear()
        for alert in self.alerts:
            self.list.addItem(self._row(alert))
        if not self.alerts:
            empty = QListWidgetItem(self.get("alerts.none"))
            empty.setFlags(Qt.NoItemFlags)
            self.list.addItem(empty)
        self.list.blockSignals(False)
        if self.alerts:
            self.list.setCurrentRow(0)
            if chosen is not None:
                self.select(chosen.id)
        self._show_selected()

    def _row(self, alert: Alert) -> QListWidgetItem:
        w = self.words
        detail = self.get("alerts.row.detail", count=alert.count, last=w.time(alert.last_seen),
                          state=w.state(alert.state))
        item = QListWidgetItem(f"{w.title(alert)}\n{detail}")
        item.setData(Qt.UserRole, alert.id)
        item.setData(SEVERITY_ROLE, alert.severity)
        item.setBackground(QBrush(QColor(SEVERITY_TINTS.get(alert.severity, "#ffffff"))))
        colour = QColor(SEVERITY_COLOURS.get(alert.severity, "#16181d"))
        item.setForeground(QBrush(colour))
        item.setIcon(self._strip(colour))          # the severity, kept on the selected row
        font = item.font()
        font.setBold(alert.state == "open")        # not yet seen by anyone
        item.setFont(font)
        return item

    def _strip(self, colour: QColor) -> QIcon:
        pixmap = QPixmap(self.list.iconSize())
        pixmap.fill(colour)
        icon = QIcon(pixmap)
        icon.addPixmap(pixmap, QIcon.Selected)     # not blended with the selection's colour
        return icon

    def _show_selected(self) -> None:
        alert, w = self.selected(), self.words
        self.detail.setVisible(alert is not None)
        self._enable_buttons()
        if alert is None:
            return
        colour = SEVERITY_COLOURS.get(alert.severity, "#16181d")
        self.heading.setText(w.kind(alert.kind))
        self.heading.setStyleSheet(f"color: {colour};")
        self.status.setText(self.get("alerts.status", severity=w.severity(alert.severity),
                                     state=w.state(alert.state)))
        self.status.setStyleSheet(f"color: {colour}; font-weight: bold;")
        subject = w.subject(alert)
        self.subject.setVisible(bool(subject))
        self.subject.setText(self.get("alerts.subject", subject=subject or ""))
        self.seen.setText(self.get("alerts.seen", count=alert.count, first=w.time(alert.first_seen),
                                   last=w.time(alert.last_seen)))
        self.changed.setVisible(bool(alert.note or alert.changed_by))
        state = w.state(alert.state)
        self.changed.setText(self.get("alerts.changed", state=state[:1].upper() + state[1:],
                                      who=alert.changed_by or "—", note=alert.note or "—"))
        self.facts.setText("\n".join(w.facts(alert)))

    def _enable_buttons(self) -> None:
        alert = self.selected()
        self.acknowledge_button.setEnabled(alert is not None and alert.state == "open")
        self.resolve_button.setEnabled(alert is not None and alert.state != "resolved" and
                                       bool(self.note.text().strip()))
