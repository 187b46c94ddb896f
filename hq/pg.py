"""PostgreSQL behind the calls HQ makes of SQLite: ``execute(sql, params)`` with ``?``
placeholders, ``executemany``, cursors with fetchone/fetchall/iteration.

    con = PgConnection("postgresql://hq@db.example/hq")
    con.execute("SELECT acked_seq FROM stations WHERE station = ?", (station,)).fetchone()

HQ's SQL is written once, in the subset both databases read alike; this adapter turns ``?``
into psycopg's ``%s`` (outside string literals) and hands numbers and JSON back as SQLite
does: sums and averages (PostgreSQL's numeric) as int or float rather than Decimal, and JSON
columns as their text, so callers parse them the same way on both. The connection runs in
autocommit mode; writers BEGIN and COMMIT themselves, as they do on SQLite.
"""
from __future__ import annotations

import functools

import psycopg
from psycopg.adapt import Loader
from psycopg.types.string import TextLoader

BACKEND = "postgresql"
# What a retry can cure: a lost connection, a deadlock or serialization failure (class 40),
# the server shutting down. Anything else is about the rows and is isolated by the receiver.
TRANSIENT = (psycopg.OperationalError,)


def is_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


class _Number(Loader):
    """numeric -> int where it is whole, else float: sum() over bigint is numeric here."""

    def load(self, data):
        text = bytes(data).decode()
        try:
            return int(text)
        except ValueError:
            return float(text)


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """``?`` -> ``%s`` and ``%`` -> ``%%`` outside single-quoted literals (``%`` inside
    literals is doubled too: psycopg reads every ``%`` of a query given parameters)."""
    out, quoted = [], False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
            out.append(ch)
        elif ch == "%":
            out.append("%%")
        elif ch == "?" and not quoted:
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)


class PgConnection:
    backend = BACKEND

    def __init__(self, url: str, connect_timeout_s: int = 10, application: str = "cx-hq",
                 durable: bool = False):
        """durable: every commit on disk before it returns (synchronous_commit on where the
        server's default is off): the receiver acks what it committed, and an ack tells the
        station to forget the event."""
        self.url = url
        self.durable = durable
        self._timeout = connect_timeout_s
        self._application = application
        self.conn = self._connect()

    def _connect(self) -> psycopg.Connection:
        conn = psycopg.connect(self.url, autocommit=True, connect_timeout=self._timeout,
                               application_name=self._application)
        for name in ("numeric",):
            conn.adapters.register_loader(name, _Number)
        for name in ("json", "jsonb"):
            conn.adapters.register_loader(name, TextLoader)
        if self.durable and conn.execute("SHOW synchronous_commit").fetchone()[0] == "off":
            conn.execute("SET synchronous_commit = on")
        return conn

    def _live(self) -> psycopg.Connection:
        """The connection, opened again after the server dropped it (a restart, a network
        cut): the statement that found it dead raised, and the caller retries its work."""
        if self.conn.closed or self.conn.broken:
            self.conn = self._connect()
        return self.conn

    def execute(self, sql: str, params=()) -> psycopg.Cursor:
        conn = self._live()
        if params:
            return conn.execute(translate(sql), tuple(params))
        return conn.execute(sql)

    def executemany(self, sql: str, rows) -> psycopg.Cursor:
        cursor = self._live().cursor()
        rows = list(rows)
        if rows:
            cursor.executemany(translate(sql), rows)
        return cursor

    def rollback_quietly(self) -> None:
        """ROLLBACK where the connection still lives (a dead one rolled back by itself)."""
        if not (self.conn.closed or self.conn.broken):
            try:
                self.conn.execute("ROLLBACK")
            except psycopg.Error:
                pass

    def close(self) -> None:
        self.conn.close()
