"""Reads of the station database on a worker thread, with a connection of its own.

    reader = StoreReader(config, name="open-items")
    reader.read(count_open_items, done=self._counted.emit)
    reader.close()                      # waits for a running read, then closes the connection

    pages = PageReader(config, "goals-refresh", again=self.refresh, parent=self)
    pages.read(lambda store: build_trends(store, config, now), show=self._show)
    pages.busy                          # from read() until `show` has had the result

The admin screen, its Goals page and the attract screen's badge read on their own thread and
connection, so a shopper's tap (committed on the kiosk's connection) never queues behind them.
`read` returns False while the previous read still runs. `done` gets the result, or the
database error (the connection is then closed, and opened again by the next read); it runs on
the worker thread, so it should only emit a Qt signal or log. `lock` is held for the length of
a read: hold it to read on another connection without overlapping one.

A PageReader is what each admin page (dashboard, Goals, Alerts, Counter) does with one: `show`
gets the result (or the error) on the GUI thread, and a read asked for while one still runs
is not lost: `again()` (the page's own refresh) runs once that one has been shown.
"""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from kiosk.writer import DB_ERRORS
from station.store import Store


class StoreReader:
    def __init__(self, config, name: str):
        self.config, self.name = config, name
        self.lock = threading.Lock()
        self._store = None

    def read(self, work, done) -> bool:
        if not self.lock.acquire(blocking=False):
            return False

        def run():
            try:
                if self._store is None:
                    self._store = Store.open(self.config)
                result = work(self._store)
            except DB_ERRORS as exc:
                self._close()
                result = exc
            finally:
                self.lock.release()
            done(result)

        threading.Thread(target=run, name=self.name, daemon=True).start()
        return True

    def close(self) -> None:
        with self.lock:
            self._close()

    def _close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


class PageReader(QObject):
    _read = Signal(object, object)          # show, result (from the worker thread)

    def __init__(self, config, name: str, again, parent=None):
        super().__init__(parent)
        self.reader = StoreReader(config, name)
        self.again = again
        self.asked = False                  # a read was asked for while one ran
        self.busy = False
        self._read.connect(self._on_read)   # queued: the worker emits, the GUI thread shows

    @property
    def lock(self) -> threading.Lock:
        return self.reader.lock

    def read(self, work, show, retry: bool = True) -> bool:
        """`work(store)` on the worker thread, then `show(result)` on this one; False while
        the previous read runs (and, with `retry`, `again()` once it has been shown)."""
        if not self.reader.read(work, lambda result: self._read.emit(show, result)):
            self.asked = self.asked or retry
            return False
        self.asked, self.busy = False, True
        return True

    def shown(self, show, result):
        """`show(result)` (read here or on the worker), then the read asked for meanwhile;
        what `show` returns."""
        asked, self.asked = self.asked, False
        try:
            return show(result)
        finally:
            if asked:
                self.again()

    def close(self) -> None:
        self.reader.close()

    def _on_read(self, show, result) -> None:
        self.busy = False
        self.shown(show, result)
