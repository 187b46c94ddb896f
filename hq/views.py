"""Read-only access to the HQ database for analysts: typed views over the event JSON.

    db = open_readonly(config.database.path)
    for store, n in db.execute("SELECT store, count(*) FROM responses GROUP BY store"):
        print(store, n)

The receiver owns the HQ database; stats, export and report only read it. They open it
read-only (an analyst's query can never lock out or damage the receiver) and put their views
in the connection's TEMP schema, so nothing is ever written to the file. Each view flattens one
event type's `data` JSON into columns named as in its record (station/events.py).
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

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
        db = open_readonly(config.database.path)
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
    return (" AND ".join(parts) or "1"), params
