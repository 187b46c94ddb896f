"""The Store: connection, migrations, transactions and every write to the station DB."""
from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from datetime import timezone
from station import events
from station.events import rfc3339
from station.store.records import (Case, Crossing, Event, Presence, Response, StoreError, Visit,
                                 new_id)
from station.store import sqlite
from station.store.queries import Queries
from station.store.schema import EVENT_REFERENCES, MIGRATIONS, SCHEMA_VERSION
from station.alerts import DETRACTOR, RESEND_AFTER_S
from station.occupancy import occupancy_minutes
from station.store.goals import Goals
from station.store.pushed import PushedSettings
from station.store.sales import Sales
from station.store.handcounts import HandCounts


class Store(Goals, Sales, PushedSettings, HandCounts, Queries):
    def __init__(self, connection: sqlite3.Connection, station: str,
                 kiosk_zone: str = "", link_window_s: float = 15.0,
                 entrance_lines: frozenset[str] | None = None):
        self.db = connection
        self.entrance_lines = entrance_lines   # None: every line is an entrance
        self.station = station
        self.kiosk_zone = kiosk_zone
        self.kiosk_camera = "main"             # the camera whose kiosk_zone that is
        self.footfall_cameras: frozenset[str] | None = None   # None: every camera's visits
        self.link_window_s = link_window_s
        self.alert_resend_s = RESEND_AFTER_S
        self.detractor_alerts = True           # [alerts] detractor
        self.opening_time, self.tz = "08:00", timezone.utc     # [station] opening_time
        self._depth = 0

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, config, synchronous: str = "FULL") -> "Store":
        """Open the DB named in `config` and bring its schema up to date.

        synchronous=FULL (default) makes every commit durable at once: the kiosk thanks a
        shopper only for what is on disk. High-rate writers batch and may pass NORMAL.
        """
        kiosk_zone = config.vision.kiosk_zone if config.vision.enabled else ""
        store = cls.open_path(config.database.path, station=config.station.path,
                             kiosk_zone=kiosk_zone,
                             link_window_s=config.vision.kiosk_link_window_s,
                             busy_timeout_ms=config.database.busy_timeout_ms,
                             synchronous=synchronous,
                             entrance_lines=frozenset(config.vision.entrance_lines))
        store.detractor_alerts = config.alerts.detractor
        cameras = config.vision.cameras
        store.kiosk_camera = next((c.id for c in cameras if c.kiosk_zone), "main")
        # several cameras: the visitors are those of the cameras with an entrance line
        footfall = frozenset(c.id for c in cameras if c.entrance_lines)
        store.footfall_cameras = footfall if len(cameras) > 1 and footfall else None
        store.opening_time, store.tz = config.station.opening_time, config.tz
        return store

    @classmethod
    def open_path(cls, path, station: str, kiosk_zone: str = "",
                  link_window_s: float = 15.0, busy_timeout_ms: int = 5000,
                  synchronous: str = "FULL", migrate: bool = True,
                  entrance_lines: frozenset[str] | None = None) -> "Store":
        try:
            db = sqlite.connect(path, busy_timeout_ms, synchronous)
            db.execute("PRAGMA foreign_keys = ON")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the station database {path}: {exc}") from exc
        store = cls(db, station, kiosk_zone, link_window_s, entrance_lines)
        if migrate:
            store.migrate()
        return store

    def close(self) -> None:
        self.db.close()

    @property
    def schema_version(self) -> int:
        return sqlite.user_version(self.db)

    def migrate(self, target: int = SCHEMA_VERSION) -> int:
        """Apply the missing migrations up to `target`; refuse a DB from a newer release."""
        try:
            return sqlite.migrate(self.db, MIGRATIONS, target)
        except sqlite.SchemaTooNew as exc:
            raise StoreError(
                f"the station database is at schema version {exc.current}, but this cx-station "
                f"only knows up to version {exc.known}: it was written by a newer release. "
                f"Upgrade cx-station (or restore the database that matches this release).") from None

    # -- transactions ----------------------------------------------------------------------
    @contextmanager
    def transaction(self):
        """One atomic write. A nested block is a SAVEPOINT: if it fails, its rows go and the
        outer transaction goes on, so a caught error never commits half a domain write."""
        if self._depth:
            name = f"nested_{self._depth}"
            self.db.execute(f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self.db.execute(f"ROLLBACK TO {name}")
                self.db.execute(f"RELEASE {name}")
                raise
            else:
                self.db.execute(f"RELEASE {name}")
            finally:
                self._depth -= 1
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._depth = 0
            self.db.execute("ROLLBACK")
            raise
        else:
            self._depth = 0
            self.db.execute("COMMIT")

    # -- the outbox ------------------------------------------------------------------------
    def _append_events(self, type_: str, items: list[tuple[str, float, dict]]) -> list[int]:
        """Add outbox rows for (event id, ts, data); returns their seqs. Caller holds the tx."""
        row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
        seq = row[0] if row else 0
        now = time.time()
        rows, seqs = [], []
        for event_id, ts, data in items:
            seq += 1
            envelope = events.envelope(self.station, seq, event_id, type_, ts, data)
            rows.append((seq, event_id, type_, json.dumps(envelope, ensure_ascii=False,
                                                          separators=(",", ":")), now))
            seqs.append(seq)
        self.db.executemany("INSERT INTO outbox (seq, id, type, payload, created_at) "
                            "VALUES (?, ?, ?, ?, ?)", rows)
        return seqs

    def pending_outbox(self, after_seq: int = 0, limit: int = 1000) -> list[Event]:
        """Unacknowledged events with seq > after_seq, in seq order."""
        rows = self.db.execute(
            "SELECT seq, id, type, payload, created_at FROM outbox "
            "WHERE acked_at IS NULL AND seq > ? ORDER BY seq LIMIT ?", (after_seq, limit))
        return [Event(*row) for row in rows]

    def mark_acked(self, up_to_seq: int, at: float | None = None) -> int:
        """HQ has committed everything up to `up_to_seq`; returns how many rows changed."""
        with self.transaction():
            cur = self.db.execute("UPDATE outbox SET acked_at = ? WHERE acked_at IS NULL "
                                  "AND seq <= ?", (at or time.time(), up_to_seq))
            return cur.rowcount

    def outbox_id(self, seq: int) -> str | None:
        """The event id stored at `seq` (None when there is no such row, or it was pruned)."""
        row = self.db.execute("SELECT id FROM outbox WHERE seq = ?", (seq,)).fetchone()
        return row[0] if row else None

    def renumber_pending(self, after_seq: int) -> int:
        """Move every unacknowledged event to follow `after_seq`, order kept; returns the shift.

        For a database that replaced another one under the same station id: HQ already holds
        the old database's seqs, and the new events must not reuse them. The seq inside each
        payload and the domain rows' outbox_seq move with them; acked rows stay as they are.
        """
        with self.transaction():
            first = self.db.execute("SELECT min(seq) FROM outbox WHERE acked_at IS NULL"
                                    ).fetchone()[0]
            if first is None:
                self.db.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) "
                                "WHERE name = 'outbox'", (after_seq,))
                if self.db.execute("SELECT changes()").fetchone()[0] == 0:
                    self.db.execute("INSERT INTO sqlite_sequence (name, seq) "
                                    "VALUES ('outbox', ?)", (after_seq,))
                return 0
            shift = after_seq + 1 - first
            if shift <= 0:
                return 0
            for table, column in EVENT_REFERENCES:
                self.db.execute(f"UPDATE {table} SET {column} = {column} + ? WHERE {column} "
                                f"IN (SELECT seq FROM outbox WHERE acked_at IS NULL)", (shift,))
            # Two steps, so no row is moved onto a pending seq that has not moved yet.
            self.db.execute("UPDATE outbox SET seq = -seq WHERE acked_at IS NULL")
            # The flag tells HQ to look for the event under its old seq too (a database
            # restored from a backup holds events HQ already has).
            self.db.execute("UPDATE outbox SET seq = ? - seq, payload = json_set(payload, '$.seq', "
                            "? - seq, '$.renumbered', json('true')) WHERE seq < 0", (shift, shift))
            self.db.execute("UPDATE sqlite_sequence SET seq = (SELECT max(seq) FROM outbox) "
                            "WHERE name = 'outbox'")
        return shift

    def outbox_status(self) -> dict:
        """Backlog size, oldest unacked event time, last acked seq and time."""
        pending, oldest = self.db.execute(
            "SELECT count(*), min(created_at) FROM outbox WHERE acked_at IS NULL").fetchone()
        # Two single-row reads instead of one two-aggregate query, which read through every
        # acknowledged row kept (a week of them): the newest acked row is found walking down
        # from the top over the (few) pending ones, the latest ack time from its index.
        row = self.db.execute("SELECT seq FROM outbox WHERE acked_at IS NOT NULL "
                              "ORDER BY seq DESC LIMIT 1").fetchone()
        acked_seq = row[0] if row else None
        acked_at = self.db.execute("SELECT max(acked_at) FROM outbox "
                                   "WHERE acked_at IS NOT NULL").fetchone()[0]
        last = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name='outbox'").fetchone()
        return {"pending": pending, "oldest_pending_at": oldest, "last_acked_seq": acked_seq,
                "last_acked_at": acked_at, "last_seq": last[0] if last else 0}

    # -- survey ----------------------------------------------------------------------------
    def append_response(self, response: Response) -> str | None:
        """Commit one survey response (and, for a detractor, its case) with their events.

        The response is linked to the visitor who stood longest in the kiosk zone during the
        seconds before the tap; nobody there gives `no_presence` (an anti-spam signal, the
        response is kept). Returns the case id when a case was opened.
        """
        with self.transaction():
            presence, visit_id = self._kiosk_presence(response.ts)
            data = events.Response(
                response_id=response.id, nps=response.nps, csat=response.csat,
                ces=response.ces, reasons=tuple(response.reasons), comment=response.comment,
                language=response.language, complete=response.complete, presence=presence,
                visit_id=visit_id, first_visit=response.first_visit).to_data()
            (seq,) = self._append_events("response", [(response.id, response.ts, data)])
            row = {"id": response.id, "ts": response.ts, "nps": response.nps,
                   "csat": response.csat, "ces": response.ces,
                   "reasons": json.dumps(list(response.reasons)), "comment": response.comment,
                   "language": response.language, "complete": int(response.complete),
                   "presence": presence, "visit_id": visit_id, "outbox_seq": seq}
            if response.first_visit is not None:      # the column's NULL: not asked, skipped
                row["first_visit"] = int(response.first_visit)
            self.db.execute(f"INSERT INTO responses ({', '.join(row)}) "
                            f"VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
            if response.group == "detractor":
                case_id = self._open_case(response)
                if response.complaint is not None:
                    self._lodge_complaint(response, case_id)
                if self.detractor_alerts:
                    self._raise_alert(DETRACTOR, "warning", self.station,
                                      self._detractor_context(response, visit_id, case_id),
                                      response.ts)
                return case_id
        return None

    def _open_case(self, response: Response) -> str:
        case_id = new_id()
        data = events.Case(case_id=case_id, status="opened", response_id=response.id,
                           nps=response.nps, reasons=tuple(response.reasons),
                           comment=response.comment, opened_at=rfc3339(response.ts)).to_data()
        (seq,) = self._append_events("case", [(new_id(), response.ts, data)])
        self.db.execute(
            "INSERT INTO cases (id, response_id, opened_at, nps, reasons, comment, opened_seq) "
            "VALUES (?,?,?,?,?,?,?)", (case_id, response.id, response.ts, response.nps,
                                       json.dumps(list(response.reasons)), response.comment, seq))
        return case_id

    def _lodge_complaint(self, response: Response, case_id: str) -> None:
        """The complaint row (with the contact details) and its event (without them: HQ
        learns that a complaint was lodged and whether contact was asked for, nothing more)."""
        c = response.complaint
        data = events.Complaint(complaint_id=c.id, case_id=case_id, response_id=response.id,
                                at=rfc3339(c.ts), contact_requested=c.has_contact).to_data()
        (seq,) = self._append_events("complaint", [(new_id(), c.ts, data)])
        self.db.execute(
            "INSERT INTO complaints (id, case_id, response_id, ts, problem, contact_name, "
            "contact, outbox_seq) VALUES (?,?,?,?,?,?,?,?)",
            (c.id, case_id, response.id, c.ts, _text(c.problem), _text(c.contact_name),
             _text(c.contact), seq))

    def resolve_case(self, case_id: str, note: str, at: float | None = None) -> Case:
        """Mark a detractor case handled; HQ gets a `case` event with status `resolved`."""
        at = at or time.time()
        with self.transaction():
            case = self.case(case_id)
            if case is None:
                raise StoreError(f"no case with id {case_id}")
            if case.resolved_at is not None:
                return case
            data = events.Case(case_id=case_id, status="resolved",
                               response_id=case.response_id, nps=case.nps,
                               opened_at=rfc3339(case.opened_at), resolved_at=rfc3339(at),
                               note=note, handling_s=round(at - case.opened_at, 3)).to_data()
            (seq,) = self._append_events("case", [(new_id(), at, data)])
            self.db.execute("UPDATE cases SET resolved_at = ?, resolution_note = ?, "
                            "resolved_seq = ? WHERE id = ?", (at, note, seq, case_id))
        return self.case(case_id)

    def _kiosk_presence(self, ts: float) -> tuple[str, str | None]:
        if not self.kiosk_zone:
            return "unknown", None
        since = ts - self.link_window_s
        row = self.db.execute(
            "SELECT visit_id, sum(min(until, ?) - max(since, ?)) AS overlap FROM presence "
            "WHERE zone = ? AND until >= ? AND since <= ? GROUP BY visit_id "
            "ORDER BY overlap DESC LIMIT 1", (ts, since, self.kiosk_zone, since, ts)).fetchone()
        if row:
            return "linked", row[0]
        vision = self.camera_health().get(self.kiosk_camera)
        if vision is None or not _camera_live(vision, ts):
            return "unknown", None          # no camera, so no evidence either way
        return "no_presence", None

    # -- vision ----------------------------------------------------------------------------
    def append_visits(self, visits: list[Visit]) -> None:
        if not visits:
            return
        with self.transaction():
            items = [(v.id, v.left_at, _visit_data(v)) for v in visits]
            seqs = self._append_events("visit", items)
            self.db.executemany(
                "INSERT INTO visits (id, entered_at, left_at, dwell, age_bracket, "
                "age_confidence, gender, gender_confidence, views, outbox_seq, p_female, age_probs, "
                "camera) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(v.id, v.entered_at, v.left_at, json.dumps(v.dwell), v.age_bracket,
                  v.age_confidence, v.gender, v.gender_confidence, v.views, seq, v.p_female,
                  None if v.age_probs is None else json.dumps(list(v.age_probs)), v.camera)
                 for v, seq in zip(visits, seqs)])

    def append_crossings(self, crossings: list[Crossing]) -> None:
        """Raw line crossings stay local; HQ gets them as per-minute `traffic` roll-ups."""
        if not crossings:
            return
        with self.transaction():
            self.db.executemany(
                "INSERT INTO crossings (ts, line, direction, visit_id, camera) "
                "VALUES (?,?,?,?,?)",
                [(c.ts, c.line, c.direction, c.visit_id, c.camera) for c in crossings])

    def roll_up_traffic(self, until_ts: float) -> int:
        """Close every finished minute (< until_ts) not yet rolled up; returns how many.

        Crossings must be written before their minute is closed: call it with a few seconds
        of lag behind the newest batch (e.g. ``now - 5``).
        """
        end = int(until_ts // 60) * 60
        with self.transaction():
            last = self.db.execute("SELECT max(minute) FROM traffic").fetchone()[0]
            start = -1 if last is None else last + 60
            rows = self.db.execute(
                "SELECT CAST(ts / 60 AS INTEGER) * 60 AS minute, line, "
                "sum(direction = 'in'), sum(direction = 'out'), max(camera) FROM crossings "
                "WHERE ts >= ? AND ts < ? GROUP BY minute, line ORDER BY minute, line",
                (max(start, 0), end)).fetchall()
            if not rows:
                return 0
            # HQ cannot see the line config: say whether 'in' here is store footfall.
            items = [(new_id(), minute, events.Traffic(
                minute=rfc3339(minute), line=line, entries=i, exits=o,
                entrance=self.entrance_lines is None or line in self.entrance_lines,
                camera=camera).to_data())
                     for minute, line, i, o, camera in rows]
            seqs = self._append_events("traffic", items)
            self.db.executemany(
                "INSERT INTO traffic (minute, line, entries, exits, outbox_seq) "
                "VALUES (?,?,?,?,?)", [(*row[:4], seq) for row, seq in zip(rows, seqs)])
            return len(rows)

    def roll_up_occupancy(self, until_ts: float, max_minutes: int = 24 * 60) -> int:
        """Send people in the store and per zone for every minute closed (< until_ts) since the
        last call (station/occupancy.py), as `occupancy` events: minutes with somebody counted,
        and the first minute back at nobody. A first call (or one after a long stop) starts at
        most `max_minutes` back. Returns how many events were sent."""
        end = int(until_ts // 60) * 60
        with self.transaction():
            mark = self.setting("occupancy_rolled_until") or {}
            start = max(int(mark.get("minute", end - max_minutes * 60)), end - max_minutes * 60)
            if start >= end:
                return 0
            last_people = mark.get("people", 0)
            rows = []
            for minute, people, zones in occupancy_minutes(self, start, end, self.opening_time,
                                                           self.tz):
                if people or zones or last_people:
                    rows.append((minute, people, zones))
                last_people = people + sum(zones.values())
            seqs = self._append_events("occupancy", [
                (new_id(), minute, events.Occupancy(minute=rfc3339(minute), people=people,
                                                    zones=zones).to_data())
                for minute, people, zones in rows])
            self.db.executemany(
                "INSERT OR REPLACE INTO occupancy (minute, people, zones, outbox_seq) "
                "VALUES (?,?,?,?)", [(minute, people, json.dumps(zones), seq)
                                     for (minute, people, zones), seq in zip(rows, seqs)])
            self.set_setting("occupancy_rolled_until", {"minute": end, "people": last_people})
        return len(rows)

    def update_presence(self, presences: list[Presence]) -> None:
        """Record that visitors are (still) in a zone; the kiosk link reads this."""
        if not presences:
            return
        with self.transaction():
            self.db.executemany(
                "INSERT INTO presence (visit_id, zone, since, until) VALUES (?,?,?,?) "
                "ON CONFLICT (visit_id, zone) DO UPDATE SET "
                "since = min(since, excluded.since), until = max(until, excluded.until)",
                [(p.visit_id, p.zone, p.since, p.until) for p in presences])

    # -- status ----------------------------------------------------------------------------
    def put_health(self, component: str, data: dict, ts: float | None = None) -> None:
        with self.transaction():
            self.db.execute("INSERT INTO health (component, ts, data) VALUES (?,?,?) "
                            "ON CONFLICT (component) DO UPDATE SET ts = excluded.ts, "
                            "data = excluded.data",
                            (component, ts or time.time(), json.dumps(data)))

    def set_setting(self, key: str, value) -> None:
        with self.transaction():
            self.db.execute("INSERT INTO settings (key, value, updated_at) VALUES (?,?,?) "
                            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                            "updated_at = excluded.updated_at",
                            (key, json.dumps(value), time.time()))

    # -- retention -------------------------------------------------------------------------
    def prune(self, now: float, raw_vision_days: float, acked_outbox_days: float,
              rollup_days: float, comment_days: float | None = None,
              complaint_contact_days: float | None = None) -> dict:
        """Drop old raw vision rows and acked outbox rows (pending events are never dropped),
        blank shoppers' comments older than `comment_days` where the station keeps them
        (a comment still waiting in the outbox goes to HQ first, then leaves with its row),
        and complaint contact details older than `complaint_contact_days` (never in an event)."""
        with self.transaction():
            raw_cut = now - raw_vision_days * 86400
            counts = self._prune_comments(now - comment_days * 86400) \
                if comment_days is not None else {}
            if complaint_contact_days is not None:
                counts["complaint contacts"] = self.db.execute(
                    "UPDATE complaints SET contact_name = NULL, contact = NULL WHERE ts < ? "
                    "AND (contact_name IS NOT NULL OR contact IS NOT NULL)",
                    (now - complaint_contact_days * 86400,)).rowcount
            counts |= {
                "crossings": self.db.execute(
                    "DELETE FROM crossings WHERE ts < ? AND ts < coalesce("
                    "(SELECT max(minute) + 60 FROM traffic), 0)", (raw_cut,)).rowcount,
                "presence": self.db.execute("DELETE FROM presence WHERE until < ?",
                                            (raw_cut,)).rowcount,
                "outbox": self.db.execute(
                    "DELETE FROM outbox WHERE acked_at IS NOT NULL AND acked_at < ?",
                    (now - acked_outbox_days * 86400,)).rowcount,
                # The newest minute stays: it is roll_up_traffic's high-water mark. Without it
                # (rollup_days < raw_vision_days, then a quiet spell) the kept raw crossings
                # would be rolled up again and HQ would get those minutes twice.
                "traffic": self.db.execute(
                    "DELETE FROM traffic WHERE minute < ? AND minute < "
                    "(SELECT max(minute) FROM traffic) AND outbox_seq NOT IN "
                    "(SELECT seq FROM outbox WHERE acked_at IS NULL)",
                    (now - rollup_days * 86400,)).rowcount,
                "occupancy": self.db.execute(
                    "DELETE FROM occupancy WHERE minute < ? AND outbox_seq NOT IN "
                    "(SELECT seq FROM outbox WHERE acked_at IS NULL)",
                    (now - rollup_days * 86400,)).rowcount,
            }
        return counts

    def _prune_comments(self, cut: float) -> dict:
        return {
            "response comments": self.db.execute(
                "UPDATE responses SET comment = NULL WHERE ts < ? AND comment IS NOT NULL",
                (cut,)).rowcount,
            "case comments": self.db.execute(
                "UPDATE cases SET comment = NULL WHERE opened_at < ? AND comment IS NOT NULL",
                (cut,)).rowcount,
            "complaint texts": self.db.execute(
                "UPDATE complaints SET problem = NULL WHERE ts < ? AND problem IS NOT NULL",
                (cut,)).rowcount,
            "alert comments": self.db.execute(
                "UPDATE alerts SET context = json_remove(context, '$.comment') "
                "WHERE last_seen < ? AND json_extract(context, '$.comment') IS NOT NULL",
                (cut,)).rowcount,
        }

    # -- tests and benchmarks only ---------------------------------------------------------
    def append_raw_events(self, type_: str, datas: list[dict], ts: float | None = None) -> list[int]:
        """FOR TESTS AND BENCHMARKS ONLY: outbox events without their domain rows.

        cx-sync's tests and bench/sync_backlog.py use it to build large backlogs quickly;
        services must use the named writers above (append_response, append_visits, ...).
        """
        ts = time.time() if ts is None else ts
        with self.transaction():
            return self._append_events(type_, [(new_id(), ts, data) for data in datas])


def _text(value: str | None) -> str | None:
    """Typed text as stored: trimmed, and None when nothing was typed."""
    return (value or "").strip() or None


def _visit_data(v: Visit) -> dict:
    return events.Visit(visit_id=v.id, entered_at=rfc3339(v.entered_at),
                        left_at=rfc3339(v.left_at), dwell=v.dwell, age_bracket=v.age_bracket,
                        age_confidence=v.age_confidence, gender=v.gender,
                        gender_confidence=v.gender_confidence, views=v.views,
                        p_female=v.p_female, age_probs=v.age_probs,
                        camera=v.camera).to_data()


def _camera_live(vision_health: dict, ts: float, stale_s: float = 30.0) -> bool:
    last = vision_health.get("last_frame")
    return isinstance(last, (int, float)) and ts - stale_s <= last <= ts + stale_s
