"""Reads of the station database on a worker thread, with a connection of its own.

    reader = StoreReader(config, name="goals-refresh")
    reader.read(lambda store: build_trends(store, config, now), done=self._ready.emit)
    reader.close()                      # waits for a running read, then closes the connection

The admin screen, its Goals page and the attract screen's badge read on their own thread and
connection, so a shopper's tap (committed on the kiosk's connection) never queues behind them.
`read` returns False while the previous read still runs. `done` gets the result, or the
database error (the connection is then closed, and opened again by the next read); it runs on
the worker thread, so it should only emit a Qt signal or log. `lock` is held for the length of
a read: hold it to read on another connection without overlapping one.
"""
from __future__ import annotations

import threading

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
