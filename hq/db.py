"""The HQ database: every station's events exactly once, with marks, gaps and dead letters.

    db = HqDb.open("hq.db")
    result = db.commit(envelopes, rejects, now=time.time())   # one transaction
    result.marks        # {station: highest seq committed with no gap below it}

Several receivers may share one file: every write is one ``BEGIN IMMEDIATE`` transaction that
reads the current marks and gaps inside it, so their bookkeeping cannot interleave.
"""
from __future__ import annotations

import json
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
    # 4: settings pushed to stations (hq/push.py): one row per station and version, with who,
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
    def __init__(self, connection: sqlite3.Connection):
        self.db = connection

    @classmethod
    def open(cls, path, busy_timeout_ms: int = 30_000, synchronous: str = "FULL") -> "HqDb":
        """synchronous=FULL: HQ tells stations to forget what it committed, so a commit must be
        on disk when it returns. In WAL mode NORMAL defers the fsync to the next checkpoint,
        and a power cut would lose events the stations were already told are safe."""
        try:
            db = sqlite.connect(path, busy_timeout_ms, synchronous)
        except (sqlite3.Error, OSError) as exc:
            raise HqDbError(f"cannot open the HQ database {path}: {exc}") from exc
        hq = cls(db)
        hq.migrate()
        return hq

    def migrate(self) -> None:
        try:
            sqlite.migrate(self.db, MIGRATIONS)
        except sqlite.SchemaTooNew as exc:
            raise HqDbError(f"the HQ database is at schema version {exc.current}, newer than "
                            f"this cx-hq ({exc.known}); upgrade cx-hq") from None

    def close(self) -> None:
        self.db.close()

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
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for station, items in by_station.items():
                self._store_station(station, items, clashes.get(station, []), now, result, dead,
                                    flush_duplicates.get(station, 0))
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
                result.acks[station] = self._ack(station)
                result.marks[station] = result.acks[station]["acked_seq"]
        except BaseException:
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
                       duplicates: int) -> None:
        self._ensure_station(station, now)
        acked, max_seq = self.db.execute(
            "SELECT acked_seq, max_seq FROM stations WHERE station = ?", (station,)).fetchone()
        seqs = sorted(items)
        existing = self._existing_ids(station, seqs)
        new, confirmed = [], []
        refused = [(env, existing.get(env.seq) or items[env.seq].id) for env in clashes]
        for seq in seqs:
            env = items[seq]
            old_id = existing.get(seq)
            if old_id is None:
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
        self.db.executemany(
            "INSERT INTO events (station, seq, id, type, ts, ts_epoch, data, received_at) "
            "VALUES (?,?,?,?,?,?,?,?)",
            [(station, e.seq, e.id, e.type, e.ts, e.ts_epoch, e.data_json(), now) for e in new])
        max_seq = self._update_gaps(station, sorted([e.seq for e in new] + list(again)),
                                    max_seq)
        self._settle_conflicts(station, confirmed, renumbered)
        for env, stored_id in refused:
            self._conflict(env, stored_id, acked, now, dead)
        first_gap = self.db.execute("SELECT min(from_seq) FROM gaps WHERE station = ?",
                                    (station,)).fetchone()[0]
        first_conflict = self.db.execute("SELECT min(seq) FROM conflicts WHERE station = ?",
                                         (station,)).fetchone()[0]
        holes = [s for s in (first_gap, first_conflict) if s is not None]
        acked = min(holes) - 1 if holes else max_seq
        self.db.execute(
            "UPDATE stations SET acked_seq = ?, max_seq = ?, received = received + ?, "
            "duplicates = duplicates + ?, last_seen = ? WHERE station = ?",
            (acked, max_seq, len(new), duplicates, now, station))
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
        cursor = self.db.execute("INSERT OR IGNORE INTO conflicts (station, seq, id, first_at, "
                                 "last_at) VALUES (?,?,?,?,?)",
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

    def _existing_ids(self, station: str, seqs: list[int]) -> dict[int, str]:
        """{seq: event id} for the seqs already received: stored, or aliases of a stored event."""
        found = {}
        dense = seqs[-1] - seqs[0] < 4 * len(seqs)        # dense: one range scan per table
        for table in ("events", "seq_aliases"):
            if dense:
                found.update(self.db.execute(
                    f"SELECT seq, id FROM {table} WHERE station = ? AND seq BETWEEN ? AND ?",
                    (station, seqs[0], seqs[-1])))
            else:
                found.update(self._rows_in(
                    f"SELECT seq, id FROM {table} WHERE station = ? AND seq IN", station, seqs))
        return found

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

    def _update_gaps(self, station: str, new_seqs: list[int], max_seq: int) -> int:
        """Fold newly stored seqs (sorted, none stored before) into the gap ranges."""
        for first, last in _runs(new_seqs):
            if first > max_seq:
                if first > max_seq + 1:
                    self.db.execute("INSERT INTO gaps (station, from_seq, to_seq) VALUES (?,?,?)",
                                    (station, max_seq + 1, first - 1))
                max_seq = last
                continue
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
        return max_seq

    def _ensure_station(self, station: str, now: float) -> None:
        self.db.execute("INSERT INTO stations (station, first_seen, last_seen) VALUES (?,?,?) "
                        "ON CONFLICT (station) DO NOTHING", (station, now, now))

    # -- reading (tests, cx-hq stats) ----------------------------------------------------------------
    def marks(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT station, acked_seq FROM stations"))

    def gaps(self, station: str) -> list[tuple[int, int]]:
        return self.db.execute("SELECT from_seq, to_seq FROM gaps WHERE station = ? "
                               "ORDER BY from_seq", (station,)).fetchall()


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


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
