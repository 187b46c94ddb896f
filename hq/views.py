"""Access to the HQ database for analysts: typed views over the event JSON, on SQLite or
PostgreSQL alike.

    db = open_database(config)           # whichever backend the HQ config's [database] names
    for store, n in db.execute("SELECT store, count(*) FROM responses WHERE ts_epoch >= ? "
                               "GROUP BY store", (since,)):
        print(store, n)
    db.backend                           # "sqlite" | "postgresql"
    db = open_readonly(path)             # SQLite alone: a plain sqlite3 connection

Each view flattens one event type's `data` JSON into columns named as in its record
(station/events.py), with the same names and kinds of values on both backends: integers and
flags (0/1) as integers, reals as floats, text as text, lists and objects as their JSON text.

The receiver owns the HQ database; stats, export and report only read it. On SQLite they open
the file read-only (an analyst's query can never lock out or damage the receiver) and put the
views in the connection's TEMP schema, so nothing is ever written to the file. On PostgreSQL
the views are real ones, created by the receiver's migrations, so BI tools see them too.
SQL run through `execute` uses ``?`` placeholders and the subset both engines read alike
(no sum() over a comparison, no WHERE 1, TEMP names through `temp_name`).
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import dataclasses

from station import events
from station.period import parse_when


class HqReadError(RuntimeError):
    """The HQ database cannot be read (missing, not an HQ database); the message says why."""


_REQUIRED_TABLES = ("events", "stations", "gaps", "dead_letters")

def _view(record) -> str:
    """One event type's events with their data fields as columns (station/events.py)."""
    fields = [f"coalesce(json_extract(data, '$.{key}'), {default}) AS {column}" if default
              else f"json_extract(data, '$.{key}') AS {column}"
              for column, key, default in events.columns(record.TYPE)]
    return (f"SELECT station, {{store}} AS store, seq, id, ts, ts_epoch, {', '.join(fields)} "
            f"FROM events WHERE type = '{record.TYPE}'")


VIEWS = {record.VIEW: _view(record) for record in events.TYPES.values()}

# PostgreSQL: typed extraction from jsonb that never fails a query on an odd value (a string
# where a number belongs, 10**400): such a value reads as NULL, as the view cannot type it.
# IMMUTABLE one-expression SQL functions are inlined into the view by the planner.
_PG_FUNCTIONS = [
    """CREATE OR REPLACE FUNCTION cx_int(j jsonb) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(j) = 'number' AND j::text ~ '^-?[0-9]{1,18}$'
                THEN j::text::bigint
                WHEN jsonb_typeof(j) = 'boolean' THEN CASE WHEN j = 'true'::jsonb THEN 1 ELSE 0 END
           END $$""",
    """CREATE OR REPLACE FUNCTION cx_real(j jsonb) RETURNS double precision LANGUAGE sql
    IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_typeof(j) = 'number' AND length(j::text) <= 300
                THEN j::text::double precision
                WHEN jsonb_typeof(j) = 'boolean' THEN CASE WHEN j = 'true'::jsonb THEN 1 ELSE 0 END
           END $$""",
]
_PG_STORE_SQL = ("CASE WHEN strpos(station, '/') = 0 THEN station ELSE "
                 "regexp_replace(station, '/[^/]*$', '') END")


def _pg_column(record, name: str, key: str, default: str | None) -> str:
    kind = str(next(f.type for f in dataclasses.fields(record) if f.name == name))
    key = key.replace("'", "''")
    if kind.startswith("int") or kind.startswith("bool"):
        expr = f"cx_int(data -> '{key}')"
    elif kind.startswith("float"):
        expr = f"cx_real(data -> '{key}')"
    elif kind.startswith(("dict", "tuple", "list")):
        expr = f"(data -> '{key}')"          # jsonb: BI tools can open it; Python gets text
    else:
        expr = f"(data ->> '{key}')"
    return f"coalesce({expr}, {default}) AS {name}" if default else f"{expr} AS {name}"


def pg_view_statements() -> list[str]:
    """The SQL that (re)creates the views on PostgreSQL (run by the receiver's migrations)."""
    out = list(_PG_FUNCTIONS)
    for record in events.TYPES.values():
        fields = [_pg_column(record, column, key, default)
                  for column, key, default in events.columns(record.TYPE)]
        out.append(f"CREATE OR REPLACE VIEW {record.VIEW} AS SELECT station, "
                   f"{_PG_STORE_SQL} AS store, seq, id, ts, ts_epoch, {', '.join(fields)} "
                   f"FROM events WHERE type = '{record.TYPE}'")
    return out


def store_of(station: str) -> str:
    """``org/store/station`` -> ``org/store``."""
    return station.rsplit("/", 1)[0] if station.count("/") >= 2 else station


# `store` is org/store: the kiosks of one shop are reported together. rtrim() with the set of
# the station's non-slash characters strips the last path segment, leaving 'org/store/'.
_STORE_SQL = ("CASE WHEN instr(station, '/') = 0 THEN station ELSE "
              "rtrim(rtrim(station, replace(station, '/', '')), '/') END")


def open_readonly(path) -> sqlite3.Connection:
    """Open the HQ database read-only and add the TEMP views; raises HqReadError."""
    path = Path(path)
    if not path.is_file():
        raise HqReadError(f"no HQ database at {path}: start `cx-hq run` first (it creates it) "
                          f"or point [database] path in the HQ config at the right file")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                             check_same_thread=False)
        db.execute("PRAGMA busy_timeout = 5000")
        tables = {row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as exc:
        raise HqReadError(f"cannot read the HQ database {path}: {exc}") from exc
    missing = [t for t in _REQUIRED_TABLES if t not in tables]
    if missing:
        db.close()
        raise HqReadError(f"{path} is not an HQ database (missing tables: {', '.join(missing)})")
    for name, sql in VIEWS.items():
        db.execute(f"CREATE TEMP VIEW IF NOT EXISTS {name} AS " + sql.format(store=_STORE_SQL))
    return db


class ReadDb:
    """A read connection on either backend: ``execute(sql, params)`` with ``?`` placeholders
    (a cursor: fetchone, fetchall, iteration), ``close()``, ``backend``."""

    def __init__(self, connection, backend: str):
        self.connection = connection
        self.backend = backend

    def execute(self, sql: str, params=()):
        return self.connection.execute(sql, params)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> "ReadDb":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def backend_of(db) -> str:
    """"sqlite" for a plain sqlite3 connection (open_readonly), else the ReadDb's backend."""
    return getattr(db, "backend", "sqlite")


def temp_name(db, name: str) -> str:
    """A TEMP table's qualified name for DROP TABLE: SQLite's temp.x, PostgreSQL's pg_temp.x."""
    return ("pg_temp." if backend_of(db) == "postgresql" else "temp.") + name


def open_database(config) -> ReadDb:
    """The HQ database that `config` ([database] url or path) names, for reading; raises
    HqReadError with the reason."""
    url = config.database.url
    if not url:
        return ReadDb(open_readonly(config.database.path), "sqlite")
    from hq import pg
    from hq.db import _redact
    try:
        con = pg.PgConnection(url, application="cx-hq-reader")
    except Exception as exc:
        raise HqReadError(f"cannot reach the HQ database {_redact(url)}: {exc}") from exc
    try:
        tables = {row[0] for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            "current_schema()")}
    except Exception as exc:
        con.close()
        raise HqReadError(f"cannot read the HQ database {_redact(url)}: {exc}") from exc
    missing = [t for t in _REQUIRED_TABLES + tuple(VIEWS) if t not in tables]
    if missing:
        con.close()
        raise HqReadError(f"{_redact(url)} is not an HQ database yet (missing: "
                          f"{', '.join(missing)}): start `cx-hq run` first (it creates it)")
    return ReadDb(con, "postgresql")


def open_for_reading(args, command: str):
    """(config, read-only HQ DB, since, until) for an analyst command, or None once the
    reason (bad config, missing DB, bad --since/--until) is printed; callers exit 2."""
    import sys

    from hq.config import load_hq_config
    from station.config import ConfigError
    try:
        config = load_hq_config(args.config)
        since = parse_when(getattr(args, "since", None), config.tz)
        until = parse_when(getattr(args, "until", None), config.tz, end=True)
        db = open_database(config)
    except (ConfigError, HqReadError, ValueError) as exc:
        print(f"cx-hq {command}: {exc}", file=sys.stderr)
        return None
    return config, db, since, until


def quiet_broken_pipe() -> int:
    """`cx-hq export ... | head`: the reader left. Exit like a killed-by-SIGPIPE process would,
    without a traceback and without Python's second error when it flushes stdout at exit."""
    import os
    import sys
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141


def period_clause(since: float | None, until: float | None, column: str = "ts_epoch"):
    """SQL condition and parameters for since <= column < until (either bound optional)."""
    parts, params = [], []
    if since is not None:
        parts.append(f"{column} >= ?")
        params.append(since)
    if until is not None:
        parts.append(f"{column} < ?")
        params.append(until)
    return (" AND ".join(parts) or "1 = 1"), params
