"""How many things wait for staff, for the attract screen's badge: a number, nothing else.

    counter = OpenItems(config)
    counter.counted.connect(attract.set_open_items)     # int, on the GUI thread
    counter.start()                                     # counts now and every POLL_MS

Open items are the open detractor cases, plus the open alerts other than `detractor` when the
store's alerts (station/alerts.py): a detractor's alert is the same event as its case, so
counting both would count one unhappy shopper twice. The count runs on a worker thread with a
connection of its own, so a shopper's tap is never queued behind it. It reads the database
(not the kiosk's own commits) so a case or an alert written by another process shows too.
"""
from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, QTimer, Signal

from kiosk.reader import StoreReader
from station.alerts import DETRACTOR

log = logging.getLogger("kiosk.open_items")

POLL_MS = 1000
MAX_SHOWN = 99              # the badge says 99+ beyond; no need to count every row


def count_open_items(store) -> int:
    cases = len(store.cases(0, time.time() + 86400, open_only=True, limit=MAX_SHOWN + 1))
    # 'open' only: an acknowledged alert is one the manager has already seen
    alerts = store.alerts("open", limit=MAX_SHOWN + 1)
    return cases + sum(a.kind != DETRACTOR for a in alerts)


class OpenItems(QObject):
    counted = Signal(int)

    def __init__(self, config, parent=None):
        super().__init__(parent)
        self.config = config
        self.reader = StoreReader(config, "open-items")
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.count)

    def start(self) -> None:
        self.count()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def count(self) -> bool:
        """Count on a worker thread; False while the previous count is still running."""
        return self.reader.read(count_open_items, self._counted)

    def _counted(self, n) -> None:
        if isinstance(n, Exception):
            log.warning("cannot count open items: %s", n)
        else:
            self.counted.emit(n)

    def close(self) -> None:
        self.timer.stop()
        self.reader.close()
