"""What comes in while the admin screen is open: a new alert (or a repeat of one) or a new
detractor case, seen within a second whoever wrote it, and the optional beep.

    watch = ArrivalWatch(config)
    watch.changed.connect(on_change)    # bool: True when something new came in, False for a
                                        # change that is no arrival (a state) or the first look
    watch.start()                       # looks now and every POLL_MS until stop()
    watch.chimed.connect(count)         # emitted with each beep ([alerts] sound = true)

A look is two one-row reads on indexed columns (the alert with the newest activity, the newest
case), on a worker thread with a connection of its own: cheap enough for every second, and a
shopper's tap is never queued behind it. The panels re-read their lists only when it changed.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from kiosk.reader import StoreReader

log = logging.getLogger("kiosk.arrivals")

POLL_MS = 1000


@dataclass(frozen=True)
class Newest:
    """The alert with the newest activity and the newest case, as far as a look can tell."""
    alert: tuple | None          # (id, count, state, last_seen)
    case: str | None             # id

    def news_since(self, before: "Newest") -> bool:
        """Whether an alert was raised (or repeated) or a case opened since `before`; an
        acknowledged or resolved alert is a change, not an arrival."""
        if self.case != before.case:
            return True
        if self.alert is None or before.alert is None:
            return self.alert is not None
        return self.alert[0] != before.alert[0] or self.alert[1] > before.alert[1]


def newest(store) -> Newest:
    alerts = store.alerts(limit=1)
    cases = store.cases(0, time.time() + 86400, limit=1)
    a = alerts[0] if alerts else None
    return Newest((a.id, a.count, a.state, a.last_seen) if a else None,
                  cases[0].id if cases else None)


class ArrivalWatch(QObject):
    changed = Signal(bool)             # True: a new alert or case; False: another change
    chimed = Signal()                  # one beep
    _looked = Signal(object, int)      # Newest | Exception, watch generation (worker)

    def __init__(self, config, parent=None):
        super().__init__(parent)
        self.sound = config.alerts.sound
        self.reader = StoreReader(config, "admin-arrivals")
        self.last: Newest | None = None
        self.generation = 0            # a look begun before stop() is not the next baseline
        self.watching = False
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.look)
        self._looked.connect(self._on_look)

    def start(self) -> None:
        self.generation += 1
        self.last, self.watching = None, True
        self.look()
        self.timer.start()

    def stop(self) -> None:
        self.generation += 1
        self.watching = False
        self.timer.stop()

    def close(self) -> None:
        self.stop()
        self.reader.close()

    def look(self) -> bool:
        """Read the newest alert and case off the GUI thread; False while a look still runs."""
        generation = self.generation
        return self.reader.read(newest, lambda result: self._looked.emit(result, generation))

    def _on_look(self, result, generation: int) -> None:
        if isinstance(result, Exception):
            log.warning("cannot look for new alerts and cases: %s", result)
            return
        if not self.watching or generation != self.generation:
            return
        before, self.last = self.last, result
        if before is None:
            self.changed.emit(False)   # the first look: whatever came in since the screen read
            return
        if result == before:
            return
        news = result.news_since(before)
        self.changed.emit(news)
        if news and self.sound:
            QApplication.beep()
            self.chimed.emit()
