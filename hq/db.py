"""The HQ database: every station's events exactly once, with marks, gaps and dead letters.

    db = HqDb.open("hq.db")                                   # SQLite (one machine, the demo)
    db = HqDb.open("postgresql://hq@db/hq")                   # PostgreSQL (a chain)
    db = HqDb.for_config(config.database)                     # whichever the HQ config names
    result = db.commit(envelopes, rejects, now=time.time())   # one transaction
    result.marks        # {station: highest seq committed with no gap below it}

Several receivers may share one database: every write is one transaction that reads the
current marks and gaps inside it, so their bookkeeping cannot interleave. On SQLite that is
``BEGIN IMMEDIATE`` (one writer at a time); on PostgreSQL receivers commit side by side, each
first taking a transaction-scoped advisory lock per station it touches, in one sorted order
(no deadlock): a station's mark is recomputed from the gaps table under that lock, so no
receiver acks past a seq another has not committed.

The two backends share one schema, migrated in the same numbered steps (MIGRATIONS for
SQLite, PG_MIGRATIONS for PostgreSQL, the same tables and meaning); on PostgreSQL the typed
views for analysts and BI tools are real views in the schema (hq/views.py).
"""
from __future__ import annotations

import contextlib
import json
import math
import sqlite3
from dataclasses import dataclass, field

from station.store import sqlite
from sync.envelope import Envelope, Reject

# Holes listed in each ack (a station with more resends everything after the last one listed).
# 256 ranges keep the retained ack under ~6 KB.
ACK_GAPS = 256
DEAD_LETTER_BYTES = 64 * 1024   # what a dead letter keeps of its payload (with the full size)

MIGRATIONS = [
    """
    CREATE TABLE IF NOT EXISTS events (
        station     TEXT NOT NULL,
        seq         INTEGER NOT NULL,
        id          TEXT NOT NULL,
        type        TEXT NOT NULL,
        ts          TEXT NOT NULL,
        ts_epoch    REAL NOT NULL,
        data        TEXT NOT NULL,
        received_at REAL NOT NULL,
        PRIMARY KEY (station, seq)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS events_type_ts ON events(type, ts_epoch);
    CREATE TABLE IF NOT EXISTS stations (
        station      TEXT PRIMARY KEY,
        acked_seq    INTEGER NOT NULL DEFAULT 0,   -- highest seq with no gap below it
        max_seq      INTEGER NOT NULL DEFAULT 0,
        received     INTEGER NOT NULL DEFAULT 0,
        duplicates   INTEGER NOT NULL DEFAULT 0,
        dead_letters INTEGER NOT NULL DEFAULT 0,
        first_seen   REAL,
        last_seen    REAL,
        status       TEXT,
        status_at    REAL,
        health       TEXT
    );
    CREATE TABLE IF NOT EXISTS gaps (
        station  TEXT NOT NULL,
        from_seq INTEGER NOT NULL,
        to_seq   INTEGER NOT NULL,
        PRIMARY KEY (station, from_seq)
    );
    CREATE TABLE IF NOT EXISTS dead_letters (
        id          INTEGER PRIMARY KEY,
        received_at REAL NOT NULL,
        topic       TEXT NOT NULL,
        payload     BLOB NOT NULL,
        reason      TEXT NOT NULL,
        station     TEXT
    );
    CREATE INDEX IF NOT EXISTS dead_letters_station ON dead_letters(station, received_at);
    """,
    # 2: a renumbered event HQ already holds under another seq is stored once; its new seq is
    # noted here as received, so the station's mark can pass it.
    """
    CREATE TABLE IF NOT EXISTS seq_aliases (
        station TEXT NOT NULL,
        seq     INTEGER NOT NULL,
        id      TEXT NOT NULL,          -- the event, stored under another seq
        PRIMARY KEY (station, seq)
    ) WITHOUT ROWID;
    """,
    # 3: dead letters keep the first DEAD_LETTER_BYTES and the size; a seq that arrived with a
    # second id while above the mark is held open until the station settles it (see _conflict).
    """
    ALTER TABLE dead_letters ADD COLUMN size INTEGER;
    CREATE TABLE IF NOT EXISTS conflicts (
        station    TEXT NOT NULL,
        seq        INTEGER NOT NULL,
        id         TEXT NOT NULL,       -- the event refused: another is stored at this seq
        first_at   REAL NOT NULL,
        last_at    REAL NOT NULL,
        count      INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (station, seq)
    ) WITHOUT ROWID;
    """,
    # 4: `data` holds JSON every SQL engine parses (see storable_data); where that differs from
    # what the station sent (Infinity, NaN; NUL characters on PostgreSQL), the exact text.
    """
    ALTER TABLE events ADD COLUMN data_text TEXT;
    """,
    # 5: settings pushed to stations (hq/push.py): one row per station and version, with who,
    # when and the settings file; published_at stays NULL when the broker did not take it.
    """
    CREATE TABLE IF NOT EXISTS settings_pushes (
        station      TEXT NOT NULL,
        version      INTEGER NOT NULL,
        pushed_at    REAL NOT NULL,
        who          TEXT NOT NULL,
        settings     TEXT NOT NULL,
        published_at REAL,
        PRIMARY KEY (station, version)
    );
    CREATE INDEX IF NOT EXISTS settings_pushes_version ON settings_pushes(version);
    """,
]

# The same steps for PostgreSQL: jsonb data (indexable, what BI tools read), bytea payloads.
PG_MIGRATIONS = [
    """
    CREATE TABLE IF NOT EXISTS events (
        station     text NOT NULL,
        seq         bigint NOT NULL,
        id          text NOT NULL,
        type        text NOT NULL,
        ts          text NOT NULL,
        ts_epoch    double precision NOT NULL,
        data        jsonb NOT NULL,
        received_at double precision NOT NULL,
        PRIMARY KEY (station, seq)
    );
    CREATE INDEX IF NOT EXISTS events_type_ts ON events(type, ts_epoch);
    CREATE TABLE IF NOT EXISTS stations (
        station      text PRIMARY KEY,
        acked_seq    bigint NOT NULL DEFAULT 0,
        max_seq      bigint NOT NULL DEFAULT 0,
        received     bigint NOT NULL DEFAULT 0,
        duplicates   bigint NOT NULL DEFAULT 0,
        dead_letters bigint NOT NULL DEFAULT 0,
        first_seen   double precision,
        last_seen    double precision,
        status       text,
        status_at    double precision,
        health       text
    );
    CREATE TABLE IF NOT EXISTS gaps (
        station  text NOT NULL,
        from_seq bigint NOT NULL,
        to_seq   bigint NOT NULL,
        PRIMARY KEY (station, from_seq)
    );
    CREATE TABLE IF NOT EXISTS dead_letters (
        id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        received_at double precision NOT NULL,
        topic       text NOT NULL,
        payload     bytea NOT NULL,
        reason      text NOT NULL,
        station     text
    );
    CREATE INDEX IF NOT EXISTS dead_letters_station ON dead_letters(station, received_at);
    """,
    """
    CREATE TABLE IF NOT EXISTS seq_aliases (
        station text NOT NULL,
        seq     bigint NOT NULL,
        id      text NOT NULL,
        PRIMARY KEY (station, seq)
    );
    """,
    """
    ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS size bigint;
    CREATE TABLE IF NOT EXISTS conflicts (
        station    text NOT NULL,
        seq        bigint NOT NULL,
        id         text NOT NULL,
        first_at   double precision NOT NULL,
        last_at    double precision NOT NULL,
        count      bigint NOT NULL DEFAULT 1,
        PRIMARY KEY (station, seq)
    );
    """,
    """
    ALTER TABLE events ADD COLUMN IF NOT EXISTS data_text text;
    """,
    """
    CREATE TABLE IF NOT EXISTS settings_pushes (
        station      text NOT NULL,
        version      bigint NOT NULL,
        pushed_at    double precision NOT NULL,
        who          text NOT NULL,
        settings     text NOT NULL,
        published_at double precision,
        PRIMARY KEY (station, version)
    );
    CREATE INDEX IF NOT EXISTS settings_pushes_version ON settings_pushes(version);
    """,
]
_PG_MIGRATION_LOCK = 0x63787371          # advisory lock key: one migrating process at a time


class HqDbError(RuntimeError):
    pass


@dataclass
class CommitResult:
    inserted: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    marks: dict[str, int] = field(default_factory=dict)
    # What HQ tells each station: its mark, the highest seq stored, and the event id at the
    # mark, by which a station sees that the mark belongs to a database it replaced.
    acks: dict[str, dict] = field(default_factory=dict)


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    reject: Reject


class HqDb:
    def __init__(self, connection, backend: str = "sqlite"):
        self.db = connection
        self.backend = backend
        # errors a retry of the same commit can cure (the receiver waits and retries them)
        self.transient: tuple = (sqlite3.OperationalError,)
        if backend == "postgresql":
            from hq import pg
            self.transient = pg.TRANSIENT

    @classmethod
    def for_config(cls, database, synchronous: str = "FULL") -> "HqDb":
        """The HQ database an HQ config's [database] names: url (PostgreSQL) or path."""
        if database.url:
            return cls.open(database.url)
        return cls.open(database.path, database.busy_timeout_ms, synchronous)

    @classmethod
    def open(cls, path, busy_timeout_ms: int = 30_000, synchronous: str = "FULL") -> "HqDb":
        """synchronous=FULL: HQ tells stations to forget what it committed, so a commit must be
        on disk when it returns. In WAL mode NORMAL defers the fsync to the next checkpoint,
        and a power cut would lose events the stations were already told are safe.
        (PostgreSQL's own default, synchronous_commit=on, gives the same promise.)"""
        from hq import pg
        if isinstance(path, str) and pg.is_url(path):
            try:
                hq = cls(pg.PgConnection(path, durable=True), "postgresql")
            except Exception as exc:
                raise HqDbError(f"cannot open the HQ database {_redact(path)}: {exc}") from exc
            hq.migrate()
            return hq
        try:
            db = sqlite.connect(path, busy_timeout_ms, synchronous)
        except (sqlite3.Error, OSError) as exc:
            raise HqDbError(f"cannot open the HQ database {path}: {exc}") from exc
        hq = cls(db)
        hq.migrate()
        return hq

    def migrate(self) -> None:
        if self.backend == "postgresql":
            self._migrate_pg()
            return
        try:
            sqlite.migrate(self.db, MIGRATIONS)
        except sqlite.SchemaTooNew as exc:
            raise HqDbError(f"the HQ database is at schema version {exc.current}, newer than "
                            f"this cx-hq ({exc.known}); upgrade cx-hq") from None

    def _migrate_pg(self) -> None:
        """PG_MIGRATIONS in order, each with its version bump, under an advisory lock (two
        receivers starting together migrate once); then the analysts' views, re-created
        from station/events.py so that a new event field shows up in them."""
        from hq import views
        self.db.execute("BEGIN")
        try:
            self.db.execute(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
            self.db.execute("CREATE TABLE IF NOT EXISTS hq_schema (version integer NOT NULL)")
            row = self.db.execute("SELECT version FROM hq_schema").fetchone()
            current = row[0] if row else 0
            if row is None:
                self.db.execute("INSERT INTO hq_schema (version) VALUES (0)")
            if current > len(PG_MIGRATIONS):
                raise HqDbError(f"the HQ database is at schema version {current}, newer than "
                                f"this cx-hq ({len(PG_MIGRATIONS)}); upgrade cx-hq")
            for version in range(current + 1, len(PG_MIGRATIONS) + 1):
                for statement in sqlite.split_sql(PG_MIGRATIONS[version - 1]):
                    self.db.execute(statement)
                self.db.execute("UPDATE hq_schema SET version = ?", (version,))
            for statement in views.pg_view_statements():
                self.db.execute(statement)
        except BaseException:
            self.db.rollback_quietly()
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def transaction(self, lock: int | None = None):
        """One write transaction on either backend: SQLite's ``BEGIN IMMEDIATE`` (one writer
        at a time); on PostgreSQL ``BEGIN``, then the transaction-scoped advisory lock `lock`
        where given, so that writers of one kind (settings pushes) take turns as on SQLite."""
        if self.backend == "postgresql":
            self.db.execute("BEGIN")
        else:
            self.db.execute("BEGIN IMMEDIATE")
        try:
            if lock is not None and self.backend == "postgresql":
                self.db.execute("SELECT pg_advisory_xact_lock(?)", (lock,))
            yield self.db
        except BaseException:
            if self.backend == "postgresql":
                self.db.rollback_quietly()
            else:
                self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- the hot path ------------------------------------------------------------------------------
    def commit(self, envelopes: list[Envelope], dead: list[DeadLetter], now: float,
               statuses: dict | None = None, healths: dict | None = None) -> CommitResult:
        """Store one flush worth of messages atomically; returns the new per-station marks."""
        result = CommitResult()
        by_station: dict[str, dict[int, Envelope]] = {}
        clashes: dict[str, list[Envelope]] = {}       # a seq's second id within this flush
        flush_duplicates: dict[str, int] = {}
        dead = list(dead)
        for env in envelopes:
            seen = by_station.setdefault(env.station, {})
            if env.seq in seen:
                if seen[env.seq].id != env.id:
                    clashes.setdefault(env.station, []).append(env)
                else:
                    flush_duplicates[env.station] = flush_duplicates.get(env.station, 0) + 1
                continue
            seen[env.seq] = env
        if self.backend == "postgresql":
            self.db.execute("BEGIN")
            touched = {*by_station, *(statuses or {}), *(healths or {}),
                       *(d.reject.station for d in dead if d.reject.station)}
            try:
                # One advisory lock per station, taken in one order by every receiver.
                self.db.execute(
                    "SELECT count(pg_advisory_xact_lock(hashtextextended(s, 0))) FROM "
                    "(SELECT s FROM unnest(?::text[]) AS s ORDER BY s) AS touched",
                    (sorted(touched),))
            except BaseException:
                self.db.rollback_quietly()
                raise
        else:
            self.db.execute("BEGIN IMMEDIATE")
        try:
            flush = _Flush(self, by_station, now) if by_station else None
            for station, items in by_station.items():
                self._store_station(station, items, clashes.get(station, []), now, result, dead,
                                    flush_duplicates.get(station, 0), flush)
            if flush is not None:
                flush.write()
            for letter in dead:
                raw = letter.reject.raw
                self.db.execute("INSERT INTO dead_letters (received_at, topic, payload, reason, "
                                "station, size) VALUES (?,?,?,?,?,?)",
                                (now, letter.topic, raw[:DEAD_LETTER_BYTES],
                                 letter.reject.reason[:1000], letter.reject.station, len(raw)))
                if letter.reject.station:
                    self._ensure_station(letter.reject.station, now)
                    self.db.execute("UPDATE stations SET dead_letters = dead_letters + 1 "
                                    "WHERE station = ?", (letter.reject.station,))
            result.dead_letters = len(dead)
            for station, (status, at) in (statuses or {}).items():
                self._ensure_station(station, now)
                self.db.execute("UPDATE stations SET status = ?, status_at = ?, last_seen = ? "
                                "WHERE station = ?", (status, at, now, station))
            for station, health in (healths or {}).items():
                self._ensure_station(station, now)
                self.db.execute("UPDATE stations SET health = ?, last_seen = ? WHERE station = ?",
                                (health, now, station))
            # A station heard from by status or health alone learns that HQ is up too: a new
            # HQ's first ack tells it to resend what the broker dropped before HQ subscribed.
            for station in {**by_station, **(statuses or {}), **(healths or {})}:
                known = flush.acks.get(station) if flush is not None else None
                result.acks[station] = dict(known) if known else self._ack(station)
                result.marks[station] = result.acks[station]["acked_seq"]
        except BaseException:
            if self.backend == "postgresql":
                self.db.rollback_quietly()
            else:
                self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return result

    def _ack(self, station: str) -> dict:
        acked, max_seq, event_id = self.db.execute(
            "SELECT s.acked_seq, s.max_seq, coalesce(e.id, a.id) FROM stations s "
            "LEFT JOIN events e ON e.station = s.station AND e.seq = s.acked_seq "
            "LEFT JOIN seq_aliases a ON a.station = s.station AND a.seq = s.acked_seq "
            "WHERE s.station = ?", (station,)).fetchone()
        ack = {"acked_seq": acked, "max_seq": max_seq, "id": event_id, **self._ack_gaps(station)}
        held = self.db.execute(
            "SELECT c.seq, coalesce(e.id, a.id) FROM conflicts c "
            "LEFT JOIN events e ON e.station = c.station AND e.seq = c.seq "
            "LEFT JOIN seq_aliases a ON a.station = c.station AND a.seq = c.seq "
            "WHERE c.station = ? ORDER BY c.seq LIMIT 1", (station,)).fetchone()
        if held and held[0] == acked + 1:
            ack["conflict"] = list(held)
        return ack

    def _store_station(self, station: str, items: dict[int, Envelope], clashes: list[Envelope],
                       now: float, result: CommitResult, dead: list[DeadLetter],
                       duplicates: int, flush: "_Flush") -> None:
        acked, max_seq = flush.marks[station]
        seqs = sorted(items)
        existing = flush.existing.get(station, {})
        new, confirmed = [], []
        refused = [(env, existing.get(env.seq) or items[env.seq].id) for env in clashes]
        for seq in seqs:
            env = items[seq]
            old_id = existing.get(seq)
            if old_id is None and seq <= acked:
                # Below the mark every seq was stored: this one was since pruned (cx-hq
                # prune keeps the event at the mark). A resend of it is delivered already.
                duplicates += 1
            elif old_id is None:
                new.append(env)
            elif old_id == env.id:
                duplicates += 1
                confirmed.append(seq)
            else:
                refused.append((env, old_id))
        renumbered = [e for e in items.values() if e.renumbered]
        again = self._held_elsewhere(station, [e for e in new if e.renumbered])
        if again:
            new = [e for e in new if e.seq not in again]
            self.db.executemany("INSERT INTO seq_aliases (station, seq, id) VALUES (?,?,?)",
                                [(station, seq, event_id) for seq, event_id in again.items()])
            duplicates += len(again)
        for e in new:
            data, exact = storable_data(e.data_json(), self.backend)
            flush.rows.append((station, e.seq, e.id, e.type, e.ts, e.ts_epoch, data, exact, now))
        max_seq, gaps_changed = self._update_gaps(
            station, sorted([e.seq for e in new] + list(again)), max_seq)
        self._settle_conflicts(station, confirmed, renumbered)
        for env, stored_id in refused:
            self._conflict(env, stored_id, acked, now, dead)
        # Most flushes of most stations continue their run: no gap or conflict before or
        # after, the mark is the top seq, and the ack needs no query (see _Flush).
        regular = not (gaps_changed or refused or station in flush.irregular)
        if regular:
            acked = max_seq
            ids = {**existing, **again, **{e.seq: e.id for e in new}}
            if acked in ids or acked == 0:
                flush.acks[station] = {"acked_seq": acked, "max_seq": max_seq,
                                       "id": ids.get(acked), "gaps": []}
        else:
            first_gap = self.db.execute("SELECT min(from_seq) FROM gaps WHERE station = ?",
                                        (station,)).fetchone()[0]
            first_conflict = self.db.execute("SELECT min(seq) FROM conflicts WHERE station = ?",
                                             (station,)).fetchone()[0]
            holes = [s for s in (first_gap, first_conflict) if s is not None]
            acked = min(holes) - 1 if holes else max_seq
        flush.updates.append((acked, max_seq, len(new), duplicates, now, station))
        result.inserted += len(new)
        result.duplicates += duplicates

    def _conflict(self, env: Envelope, stored_id: str, acked: int, now: float,
                  dead: list[DeadLetter]) -> None:
        """A second event under a seq HQ holds: a station database that replaced another one,
        or someone else writing under the station's name. HQ cannot tell which event is the
        station's, so it keeps the first, dead-letters the second and, unless the station was
        already told the seq is safe, holds its mark below that seq: its ack names the event
        it holds there, and the station either resends its own (the same id settles it) or,
        finding another event there, moves its pending events past HQ's (a renumbered event
        with the refused id settles it). Nothing the station wrote is marked safe meanwhile."""
        reason = f"conflict: seq {env.seq} is already stored with id {stored_id}"
        if env.seq <= acked:
            dead.append(DeadLetter(env.station, Reject(env.raw_bytes(), reason, env.station)))
            return
        cursor = self.db.execute("INSERT INTO conflicts (station, seq, id, first_at, last_at) "
                                 "VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
                                 (env.station, env.seq, env.id, now, now))
        if cursor.rowcount:
            dead.append(DeadLetter(env.station, Reject(
                env.raw_bytes(), reason + "; the mark waits until the station settles it",
                env.station)))
        else:
            self.db.execute("UPDATE conflicts SET count = count + 1, last_at = ? "
                            "WHERE station = ? AND seq = ?", (now, env.station, env.seq))

    def _settle_conflicts(self, station: str, confirmed: list[int],
                          renumbered: list[Envelope]) -> None:
        """The station resent the event HQ holds at a disputed seq (it is the station's), or
        moved its own event with a refused id to a new seq: either settles that conflict."""
        if not (confirmed or renumbered) or self.db.execute(
                "SELECT 1 FROM conflicts WHERE station = ? LIMIT 1", (station,)).fetchone() is None:
            return
        for seq in confirmed:
            self.db.execute("DELETE FROM conflicts WHERE station = ? AND seq = ?", (station, seq))
        for row in list(self._rows_in("SELECT seq FROM conflicts WHERE station = ? AND id IN",
                                      station, [e.id for e in renumbered])):
            self.db.execute("DELETE FROM conflicts WHERE station = ? AND seq = ?",
                            (station, row[0]))

    def _ack_gaps(self, station: str) -> dict:
        """The first holes below the highest seq, for the ack: the station then resends those
        alone instead of everything after its mark."""
        rows = self.db.execute("SELECT from_seq, to_seq FROM gaps WHERE station = ? "
                               "ORDER BY from_seq LIMIT ?", (station, ACK_GAPS + 1)).fetchall()
        ack = {"gaps": [list(row) for row in rows[:ACK_GAPS]]}
        if len(rows) > ACK_GAPS:
            ack["gaps_more"] = True
        return ack

    def _in(self, sql: str, values: list, width: int = 1):
        """Rows of `sql`, which ends in ``IN``, for `values` (tuples of `width` for a row-value
        IN), a few hundred bound values per statement."""
        step = max(1, 480 // width)
        item = "?" if width == 1 else f"({','.join('?' * width)})"
        for i in range(0, len(values), step):
            chunk = values[i:i + step]
            if width == 1:
                yield from self.db.execute(f"{sql} ({','.join([item] * len(chunk))})", chunk)
            else:
                yield from self.db.execute(f"{sql} (VALUES {','.join([item] * len(chunk))})",
                                           [v for row in chunk for v in row])

    def _held_elsewhere(self, station: str, renumbered: list[Envelope]) -> dict[int, str]:
        """{seq: id} of renumbered envelopes whose event is stored already under another seq.

        Only flagged envelopes are looked up, and without an index on id: one cut a 1 M-event
        drain from ~60 000 to ~21 000 events/s. So this scans the station's events, once per
        flush, only while a database restored from a backup catches up."""
        stored = {row[0] for row in self._rows_in(
            "SELECT id FROM events WHERE station = ? AND id IN", station,
            [e.id for e in renumbered])}
        return {e.seq: e.id for e in renumbered if e.id in stored}

    def _rows_in(self, sql: str, station: str, values: list):
        """Rows of `sql`, which ends in ``IN``, for `values`, 500 bound values at a time."""
        for i in range(0, len(values), 500):
            chunk = values[i:i + 500]
            yield from self.db.execute(f"{sql} ({','.join('?' * len(chunk))})",
                                       (station, *chunk))

    def _update_gaps(self, station: str, new_seqs: list[int], max_seq: int) -> tuple[int, bool]:
        """Fold newly stored seqs (sorted, none stored before) into the gap ranges; returns
        the new highest seq and whether the gaps changed."""
        changed = False
        for first, last in _runs(new_seqs):
            if first > max_seq:
                if first > max_seq + 1:
                    self.db.execute("INSERT INTO gaps (station, from_seq, to_seq) VALUES (?,?,?)",
                                    (station, max_seq + 1, first - 1))
                    changed = True
                max_seq = last
                continue
            changed = True
            # Below the high-water mark a new run lies inside exactly one gap: cut it out.
            row = self.db.execute(
                "SELECT from_seq, to_seq FROM gaps WHERE station = ? AND from_seq <= ? "
                "ORDER BY from_seq DESC LIMIT 1", (station, first)).fetchone()
            if row is None or row[1] < last:
                raise HqDbError(f"gap table of {station} does not cover {first}..{last}")
            lo, hi = row
            self.db.execute("DELETE FROM gaps WHERE station = ? AND from_seq = ?", (station, lo))
            if lo <= first - 1:
                self.db.execute("INSERT INTO gaps VALUES (?,?,?)", (station, lo, first - 1))
            if last + 1 <= hi:
                self.db.execute("INSERT INTO gaps VALUES (?,?,?)", (station, last + 1, hi))
        return max_seq, changed

    def _ensure_station(self, station: str, now: float) -> None:
        self.db.execute("INSERT INTO stations (station, first_seen, last_seen) VALUES (?,?,?) "
                        "ON CONFLICT (station) DO NOTHING", (station, now, now))

    # -- reading (tests, cx-hq stats) ----------------------------------------------------------------
    def marks(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT station, acked_seq FROM stations"))

    def gaps(self, station: str) -> list[tuple[int, int]]:
        return self.db.execute("SELECT from_seq, to_seq FROM gaps WHERE station = ? "
                               "ORDER BY from_seq", (station,)).fetchall()


class _Flush:
    """One commit's view of its stations, read up front in a few statements for all of them
    (a dozen per station cost ~8 ms a station on PostgreSQL, a round trip each), and the rows
    it writes, sent together at the end. On SQLite (in-process: statements are cheap) that is
    executemany and IN lists; on PostgreSQL one statement over arrays (unnest) for each, as
    binding thousands of separate parameters or rows costs more there than the work."""

    def __init__(self, hq: HqDb, by_station: dict[str, dict[int, Envelope]], now: float):
        self.hq = hq
        self.pg = hq.backend == "postgresql"
        db = hq.db
        stations = sorted(by_station)
        if self.pg:
            db.execute("INSERT INTO stations (station, first_seen, last_seen) SELECT s, ?, ? "
                       "FROM unnest(?::text[]) AS s ON CONFLICT (station) DO NOTHING",
                       (now, now, stations))
            self.marks = {s: (a, m) for s, a, m in db.execute(
                "SELECT station, acked_seq, max_seq FROM stations WHERE station = ANY(?)",
                (stations,))}
            # stations with a gap or a held conflict: their marks are worked out by query
            self.irregular = {row[0] for table in ("gaps", "conflicts") for row in db.execute(
                f"SELECT DISTINCT station FROM {table} WHERE station = ANY(?)", (stations,))}
        else:
            db.executemany("INSERT INTO stations (station, first_seen, last_seen) "
                           "VALUES (?,?,?) ON CONFLICT (station) DO NOTHING",
                           [(s, now, now) for s in stations])
            self.marks = {s: (a, m) for s, a, m in hq._in(
                "SELECT station, acked_seq, max_seq FROM stations WHERE station IN", stations)}
            self.irregular = {row[0] for table in ("gaps", "conflicts") for row in hq._in(
                f"SELECT DISTINCT station FROM {table} WHERE station IN", stations)}
        pairs = [(s, seq) for s in stations for seq in by_station[s]]
        self.existing: dict[str, dict[int, str]] = {}
        for table in ("events", "seq_aliases"):
            for station, seq, event_id in self._stored(table, pairs):
                self.existing.setdefault(station, {})[seq] = event_id
        self.rows: list[tuple] = []
        self.updates: list[tuple] = []
        self.acks: dict[str, dict] = {}

    def _stored(self, table: str, pairs: list[tuple[str, int]]):
        """(station, seq, id) of the pairs found in `table`, each looked up by its key. On
        PostgreSQL a row-value IN list becomes a hash join over the whole table (measured:
        a flush's cost grew with the table); a LATERAL lookup per pair, kept apart from the
        planner's join search by its LIMIT, stays an index probe."""
        if not self.pg:
            yield from self.hq._in(f"SELECT station, seq, id FROM {table} "
                                   f"WHERE (station, seq) IN", pairs, 2)
            return
        yield from self.hq.db.execute(
            f"SELECT k.station, k.seq, t.id FROM unnest(?::text[], ?::bigint[]) "
            f"AS k(station, seq) CROSS JOIN LATERAL (SELECT id FROM {table} "
            f"WHERE station = k.station AND seq = k.seq LIMIT 1) AS t",
            ([p[0] for p in pairs], [p[1] for p in pairs]))

    def write(self) -> None:
        db = self.hq.db
        if not self.pg:
            db.executemany(
                "INSERT INTO events (station, seq, id, type, ts, ts_epoch, data, data_text, "
                "received_at) VALUES (?,?,?,?,?,?,?,?,?)", self.rows)
            db.executemany(
                "UPDATE stations SET acked_seq = ?, max_seq = ?, received = received + ?, "
                "duplicates = duplicates + ?, last_seen = ? WHERE station = ?", self.updates)
            return
        if self.rows:
            db.execute(
                "INSERT INTO events (station, seq, id, type, ts, ts_epoch, data, data_text, "
                "received_at) SELECT station, seq, id, type, ts, ts_epoch, data::jsonb, "
                "data_text, received_at FROM unnest(?::text[], ?::bigint[], ?::text[], "
                "?::text[], ?::text[], ?::float8[], ?::text[], ?::text[], ?::float8[]) AS "
                "r(station, seq, id, type, ts, ts_epoch, data, data_text, received_at)",
                [list(column) for column in zip(*self.rows)])
        if self.updates:
            db.execute(
                "UPDATE stations s SET acked_seq = u.acked, max_seq = u.top, "
                "received = s.received + u.n, duplicates = s.duplicates + u.dups, "
                "last_seen = u.seen FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], "
                "?::bigint[], ?::float8[], ?::text[]) AS u(acked, top, n, dups, seen, station) "
                "WHERE s.station = u.station",
                [list(column) for column in zip(*self.updates)])


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False,
                           allow_nan=False).encode


def storable_data(text: str, backend: str) -> tuple[str, str | None]:
    """(JSON for the `data` column, the exact text where that differs, else None).

    A station may send numbers beyond a double (1e999 arrives as Infinity) and, being JSON,
    NUL characters. Neither SQLite's json_extract nor PostgreSQL's jsonb reads Infinity or NaN,
    and jsonb refuses \\u0000: one such event would fail every view query (SQLite) or its
    whole commit (PostgreSQL). So `data` holds them as the strings "Infinity", "-Infinity",
    "NaN" (and NUL as U+FFFD on PostgreSQL), and `data_text` the station's exact JSON, which
    `cx-hq export` prints: nothing is lost, and every view stays readable."""
    if "NaN" not in text and "Infinity" not in text and \
            not (backend == "postgresql" and "\\u0000" in text):
        return text, None
    clean = _encode(_storable(json.loads(text), backend == "postgresql"))
    return (text, None) if clean == text else (clean, text)


def _storable(value, no_nul: bool):
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if no_nul else value
    if isinstance(value, dict):
        return {_storable(k, no_nul): _storable(v, no_nul) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v, no_nul) for v in value]
    return value


def _redact(url: str) -> str:
    """A database URL for a message: without its password."""
    import re
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def _runs(seqs: list[int]):
    """[1,2,3,7,8] -> (1,3), (7,8)"""
    if not seqs:
        return
    start = prev = seqs[0]
    for s in seqs[1:]:
        if s != prev + 1:
            yield start, prev
            start = s
        prev = s
    yield start, prev
