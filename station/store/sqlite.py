"""Opening and migrating a WAL SQLite file: shared by the station store and the HQ database.

    db = connect(path, busy_timeout_ms=5000, synchronous="FULL")
    migrate(db, MIGRATIONS)          # PRAGMA user_version = len(MIGRATIONS) afterwards

Callers wrap `sqlite3.Error`/`OSError` and `SchemaTooNew` in their own error with a message
that names their database.
"""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path


class SchemaTooNew(Exception):
    """The file was written by a newer release (its user_version is past our migrations)."""

    def __init__(self, current: int, known: int):
        super().__init__(f"schema version {current} is newer than {known}")
        self.current, self.known = current, known


def connect(path, busy_timeout_ms: int, synchronous: str) -> sqlite3.Connection:
    """Autocommit connection (callers BEGIN themselves) in WAL mode; creates the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000,
                         check_same_thread=False)
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    _wal(db, busy_timeout_ms / 1000)
    db.execute(f"PRAGMA synchronous = {synchronous}")
    return db


def _wal(db: sqlite3.Connection, timeout_s: float) -> None:
    """Switch a new file to WAL. Two processes creating one file at once (two HQ receivers
    started together) make one of them see 'database is locked' here at once: the switch does
    not wait on the busy timeout, so wait for it ourselves."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def user_version(db: sqlite3.Connection) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite3.Connection, migrations: list[str], target: int | None = None) -> int:
    """Apply migrations current+1..target, each in its own transaction with its version bump,
    so a crash mid-migration leaves the previous version intact. Returns the new version."""
    target = len(migrations) if target is None else target
    current = user_version(db)
    if current > len(migrations):
        raise SchemaTooNew(current, len(migrations))
    for version in range(current + 1, target + 1):
        db.execute("BEGIN IMMEDIATE")
        if user_version(db) >= version:
            # Another process (a second receiver starting beside this one) applied it
            # between our read and our write lock.
            db.execute("COMMIT")
            continue
        try:
            migration = migrations[version - 1]
            if callable(migration):
                migration(db)
            else:
                for statement in split_sql(migration):
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {version}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    return user_version(db)


def drop_column(db: sqlite3.Connection, table: str, column: str) -> None:
    """ALTER TABLE ... DROP COLUMN, idempotent like every migration (SQLite has no IF EXISTS)."""
    if any(row[1] == column for row in db.execute(f"PRAGMA table_info({table})")):
        db.execute(f"ALTER TABLE {table} DROP COLUMN {column}")


def add_column(db: sqlite3.Connection, table: str, column: str, decl: str) -> None:
    """ALTER TABLE ... ADD COLUMN, idempotent like every migration."""
    if not any(row[1] == column for row in db.execute(f"PRAGMA table_info({table})")):
        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")


def split_sql(script: str) -> list[str]:
    """executescript() would COMMIT the open transaction, so run statement by statement."""
    statements, buffer = [], ""
    for line in script.splitlines():
        buffer += line.split("--", 1)[0] + "\n"
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return [s for s in statements if s.strip(" ;\n")]
