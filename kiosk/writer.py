"""Commits survey responses, and keeps them in memory while the database cannot be written.

    writer = ResponseWriter(lambda: Store.open(config))
    writer.committed.connect(on_saved)         # (Response, case id or None)
    writer.failed.connect(show_unavailable)    # reason text
    writer.submit(Response(nps=9, language="vi"))

A failed write (locked, disk full, read-only, file gone) closes the connection, logs why and
retries on a timer with a fresh one; responses wait in `pending` in tap order. Nothing that
was committed is touched again, and a commit whose success was reported as an error (the row
is there) is recognised by its id instead of being written twice.
"""
from __future__ import annotations

import logging
import sqlite3
from typing import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from station.store import Response, Store, StoreError

log = logging.getLogger("kiosk.writer")

DB_ERRORS = (sqlite3.Error, StoreError, OSError)


class ResponseWriter(QObject):
    committed = Signal(object, object)     # Response, case id | None
    failed = Signal(str)                   # why the database cannot be written
    recovered = Signal()                   # every pending response is on disk again

    def __init__(self, open_store: Callable[[], Store], retry_s: float = 5.0, parent=None):
        super().__init__(parent)
        self._open_store = open_store
        self._store: Store | None = None
        self.pending: list[Response] = []
        self.last_error: str | None = None
        self.write_errors = 0                # failed writes since start, for cx-watch's rule
        self.retry_timer = QTimer(self)
        self.retry_timer.setInterval(int(retry_s * 1000))
        self.retry_timer.timeout.connect(self.flush)

    @property
    def store(self) -> Store | None:
        """The open store, opening it if needed; None while the database is unavailable."""
        if self._store is None:
            try:
                self._store = self._open_store()
            except DB_ERRORS as exc:
                self._fail(exc)
        return self._store

    def submit(self, response: Response) -> bool:
        """Queue one response and try to write the queue; True when it is on disk now."""
        self.pending.append(response)
        return self.flush()

    def flush(self) -> bool:
        if self.store is None:
            return False
        while self.pending:
            store = self.store
            if store is None:
                return False
            response = self.pending[0]
            try:
                case_id = store.append_response(response)
            except sqlite3.IntegrityError as exc:
                if not self._already_there(store, response):
                    self._fail(exc)
                    return False
                case_id = None
            except DB_ERRORS as exc:
                self._fail(exc)
                return False
            self.pending.pop(0)
            self.committed.emit(response, case_id)
        if self.last_error is not None:
            log.info("database writable again; every pending response is saved")
            self._report_errors(self.store, self.last_error)
            self.last_error = None
            self.retry_timer.stop()
            self.recovered.emit()
        return True

    def close(self) -> None:
        self.retry_timer.stop()
        if self._store is not None:
            self._store.close()
            self._store = None

    def _already_there(self, store: Store, response: Response) -> bool:
        try:
            return store.response_exists(response.id)
        except DB_ERRORS:
            return False

    def _report_errors(self, store: Store, reason: str) -> None:
        """Tell cx-watch (through the health table, once the database takes writes again)
        how many writes failed: the manager gets an alert even though nothing was lost."""
        try:
            store.put_health("kiosk", {"write_errors": self.write_errors,
                                       "last_write_error": reason})
        except DB_ERRORS:
            pass

    def _fail(self, exc: Exception) -> None:
        self.write_errors += 1
        reason = f"{type(exc).__name__}: {exc}"
        if reason != self.last_error:
            log.error("cannot write to the station database (%d response(s) kept in memory, "
                      "retrying every %.0f s): %s", len(self.pending),
                      self.retry_timer.interval() / 1000, reason)
        self.last_error = reason
        if self._store is not None:
            try:
                self._store.close()      # a fresh connection next time: no half-open transaction
            except DB_ERRORS:
                pass
            self._store = None
        if not self.retry_timer.isActive():
            self.retry_timer.start()
        self.failed.emit(reason)
