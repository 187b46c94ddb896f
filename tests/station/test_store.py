"""station/store: migrations, the transactional outbox, survey/vision writes, roll-ups, pruning."""
from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.store import Complaint, Crossing, Presence, Response, Store, StoreError, Visit
from station.events import envelope
from station.store.schema import MIGRATIONS, SCHEMA_VERSION
from station.targets import Target
from station_testlib import STATION, assert_seqs_contiguous, outbox_consistency, start_writer

T0 = 1_800_000_000.0      # a fixed moment (2027-01-15), on a minute boundary


def _schema(db) -> list:
    return db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()


def _raw(path) -> sqlite3.Connection:
    return sqlite3.connect(path)


# -- migrations ------------------------------------------------------------------------------

def test_fresh_database_is_migrated_to_the_latest_version_with_wal(tmp_path):
    store = Store.open_path(tmp_path / "s.db", station=STATION)
    assert store.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2    # FULL
    tables = {r[1] for r in _schema(store.db) if r[0] == "table"}
    assert {"outbox", "responses", "cases", "settings", "visits", "crossings", "traffic",
            "presence", "health"} <= tables
    store.close()
    assert _raw(tmp_path / "s.db").execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def _fill(store: Store, version: int) -> dict:
    """Write what a release at schema `version` could write; returns what to look for later."""
    made = {"responses": [], "cases": [], "visits": []}
    for i, score in enumerate([10, 8, 2]):
        r = Response(nps=score, csat=3, reasons=["wait"], comment=f"v{version}", ts=T0 + i)
        case = store.append_response(r)
        made["responses"].append(r.id)
        if case:
            made["cases"].append(case)
    if version >= 2:
        v = Visit(entered_at=T0, left_at=T0 + 60, dwell={"kiosk": 12.5}, age_bracket="25-34",
                  gender="female")
        store.append_visits([v])
        made["visits"].append(v.id)
        store.append_crossings([Crossing(T0 + 5, "door", "in")])
    if version >= 3:
        store.put_health("vision", {"fps": 9.5})
    if version >= 5:
        store.set_target(Target("nps", 30, "higher", "week"), "config")
    store.set_setting("greeting", {"v": version})
    return made


class StoreBeforeCameras(Store):
    """Releases before this one wrote visits without their camera and the face models' estimates
    (schema migrations 13 and 14), and crossings without their camera."""

    def append_visits(self, visits):
        with self.transaction():
            seqs = self._append_events("visit", [(v.id, v.left_at, {"visit_id": v.id})
                                                 for v in visits])
            self.db.executemany(
                "INSERT INTO visits (id, entered_at, left_at, dwell, age_bracket, gender, "
                "outbox_seq) VALUES (?,?,?,?,?,?,?)",
                [(v.id, v.entered_at, v.left_at, json.dumps(v.dwell), v.age_bracket, v.gender,
                  seq) for v, seq in zip(visits, seqs)])

    def append_crossings(self, crossings):
        self.db.executemany("INSERT INTO crossings (ts, line, direction, visit_id) "
                            "VALUES (?,?,?,?)",
                            [(c.ts, c.line, c.direction, c.visit_id) for c in crossings])


class StoreBeforeV6(StoreBeforeCameras):
    """Releases before schema version 6 raised no alerts."""

    def _raise_alert(self, *args):
        return None


class StoreAtV6(StoreBeforeCameras):
    """Schema version 6 had alerts without the manager's note (version 7)."""

    def _raise_alert(self, kind, severity, subject, context, at):
        self.db.execute(
            "INSERT INTO alerts (id, kind, severity, subject, first_seen, last_seen, count, "
            "state, context, changed_at, sent_at) VALUES (?,?,?,?,?,?,1,'open',?,?,?)",
            (f"a-{at}", kind, severity, subject, at, at, json.dumps(context), at, at))


class StoreBeforeV4(StoreBeforeV6):
    """The outbox writer of schema versions 1-3, which also stored each event's topic."""

    def _append_events(self, type_, items):
        first = (self.db.execute("SELECT max(seq) FROM outbox").fetchone()[0] or 0) + 1
        seqs = list(range(first, first + len(items)))
        self.db.executemany(
            "INSERT INTO outbox (seq, id, type, topic, payload, created_at) VALUES (?,?,?,?,?,?)",
            [(seq, event_id, type_, f"cx/v1/{self.station}/{type_}",
              json.dumps(envelope(self.station, seq, event_id, type_, ts, data)), T0)
             for seq, (event_id, ts, data) in zip(seqs, items)])
        return seqs


# What every release kept of each table (the outbox lost its topic column in version 4).
KEPT = {"outbox": "seq, id, type, payload, created_at, acked_at",
        "responses": "id, ts, nps, csat, ces, reasons, comment, language, complete, presence, "
                     "visit_id, outbox_seq",
        "cases": "*", "settings": "*"}


@pytest.mark.parametrize("start", range(0, SCHEMA_VERSION))
def test_migrating_from_every_previous_version_keeps_the_data(tmp_path, start):
    path = tmp_path / "s.db"
    writer = StoreBeforeV4 if start < 4 else StoreBeforeV6 if start < 6 else \
        StoreAtV6 if start == 6 else StoreBeforeCameras
    old = writer.open_path(path, station=STATION, migrate=False)
    assert old.schema_version == 0
    assert old.migrate(target=start) == start
    made = _fill(old, start) if start >= 1 else {"responses": [], "cases": [], "visits": []}
    before = {t: old.db.execute(f"SELECT {KEPT[t]} FROM {t} ORDER BY 1").fetchall()
              for t in KEPT if start >= 1}
    old.close()

    store = Store.open_path(path, station=STATION)           # the new release opens it
    assert store.schema_version == SCHEMA_VERSION
    assert _raw(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    for table, rows in before.items():
        assert store.db.execute(f"SELECT {KEPT[table]} FROM {table} ORDER BY 1").fetchall() \
            == rows
    assert [r["id"] for r in store.recent_responses()][::-1] == made["responses"]
    assert all(store.case(c) is not None for c in made["cases"])
    if start >= 6:                  # the detractor's alert, now with room for a note
        (alert,) = store.alerts()
        assert alert.kind == "detractor" and alert.note is None
        assert store.close_alert(alert.id, note="called back", who="lan").note == "called back"
    outbox_consistency(store.db)
    # and the new tables work, continuing the same seq
    last = store.outbox_status()["last_seq"]
    store.append_visits([Visit(entered_at=T0, left_at=T0 + 1, p_female=0.3, age_probs=(0.1,) * 7)])
    assert store.outbox_status()["last_seq"] == last + 1
    if made["visits"]:              # visits from before the estimates have none
        assert store.visit_estimates(0, T0 + 10)[0] == [0.3]
    assert_seqs_contiguous(store.db)


def test_migrating_twice_is_a_no_op(tmp_path):
    store = Store.open_path(tmp_path / "s.db", station=STATION)
    store.append_response(Response(nps=9, ts=T0))
    schema, rows = _schema(store.db), store.db.execute("SELECT * FROM outbox").fetchall()
    assert store.migrate() == SCHEMA_VERSION
    store.close()
    again = Store.open_path(tmp_path / "s.db", station=STATION)
    assert again.migrate() == SCHEMA_VERSION
    assert _schema(again.db) == schema
    assert again.db.execute("SELECT * FROM outbox").fetchall() == rows


def test_every_migration_statement_is_idempotent(tmp_path):
    store = Store.open_path(tmp_path / "s.db", station=STATION)
    schema = _schema(store.db)
    store.db.execute("PRAGMA user_version = 0")     # as if a manual run was half-applied
    assert store.migrate() == SCHEMA_VERSION
    assert _schema(store.db) == schema


def test_a_database_from_a_newer_release_is_refused(tmp_path):
    path = tmp_path / "s.db"
    Store.open_path(path, station=STATION).close()
    db = _raw(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreError) as info:
        Store.open_path(path, station=STATION)
    message = str(info.value)
    assert f"version {SCHEMA_VERSION + 1}" in message
    assert f"version {SCHEMA_VERSION}" in message and "newer" in message
    # and nothing was changed
    assert _raw(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1


def test_a_directory_that_cannot_hold_the_database_gives_a_store_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="cannot open the station database"):
        Store.open_path(tmp_path / "file" / "s.db", station=STATION)


# -- the outbox -------------------------------------------------------------------------------

def test_events_carry_the_envelope_contract(store):
    r = Response(nps=9, csat=5, ces=6, reasons=["staff"], comment="Cảm ơn", language="vi",
                 ts=T0 + 0.25)
    store.append_response(r)
    (event,) = store.pending_outbox()
    assert event.seq == 1 and event.type == "response" and event.id == r.id
    envelope = json.loads(event.payload)
    assert envelope["v"] == 1 and envelope["station"] == STATION and envelope["seq"] == 1
    assert envelope["id"] == r.id and envelope["type"] == "response"
    assert envelope["ts"] == "2027-01-15T08:00:00.250Z"
    data = envelope["data"]
    assert (data["nps"], data["csat"], data["ces"], data["reasons"], data["comment"],
            data["language"]) == (9, 5, 6, ["staff"], "Cảm ơn", "vi")
    assert "Cảm ơn" in event.payload           # UTF-8, not \\u escapes


def test_seq_is_gap_free_across_store_objects_and_event_types(tmp_path):
    a = Store.open_path(tmp_path / "s.db", station=STATION)
    b = Store.open_path(tmp_path / "s.db", station=STATION)
    for i in range(10):
        (a if i % 2 else b).append_response(Response(nps=i, ts=T0 + i))
        b.append_visits([Visit(entered_at=T0, left_at=T0 + i)])
    n = assert_seqs_contiguous(a.db)
    # responses, cases for 0..6, visits, and the one detractor alert (its repeats within
    # the rate limit are counted on it, not sent again)
    assert n == 10 + 7 + 10 + 1
    outbox_consistency(a.db)


def test_seq_is_gap_free_and_increasing_across_concurrent_writer_processes(tmp_path):
    db = tmp_path / "s.db"
    Store.open_path(db, station=STATION).close()
    writers = [start_writer(db, "--batches", 25, "--batch-size", 2, "--no-traffic",
                            "--tag", f"p{i}", "--seed", i, "--t0", T0 + i * 1e5)
               for i in range(3)]
    for w in writers:
        out, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
    conn = _raw(db)
    assert conn.execute("SELECT count(*) FROM responses").fetchone()[0] == 3 * 25 * 2
    assert_seqs_contiguous(conn)
    outbox_consistency(conn)
    # within each writer, later batches got later seqs (strictly increasing per process)
    for i in range(3):
        seqs = [s for (s,) in conn.execute(
            "SELECT outbox_seq FROM responses WHERE comment LIKE ? ORDER BY ts, outbox_seq",
            (f"p{i}-%",))]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_seq_is_never_reused_after_acked_rows_are_pruned(store):
    for i in range(5):
        store.append_response(Response(nps=9, ts=T0 + i))
    store.mark_acked(5, at=T0 + 10)
    counts = store.prune(now=T0 + 30 * 86400, raw_vision_days=30, acked_outbox_days=7,
                         rollup_days=800)
    assert counts["outbox"] == 5
    assert store.db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    store.append_response(Response(nps=9, ts=T0 + 100))
    (event,) = store.pending_outbox()
    assert event.seq == 6 and json.loads(event.payload)["seq"] == 6
    assert store.outbox_status()["last_seq"] == 6


def test_seq_is_not_reused_after_reopening_a_pruned_database(tmp_path):
    path = tmp_path / "s.db"
    store = Store.open_path(path, station=STATION)
    for i in range(3):
        store.append_response(Response(nps=8, ts=T0 + i))
    store.mark_acked(3, at=T0)
    store.prune(now=T0 + 86400 * 30, raw_vision_days=30, acked_outbox_days=1, rollup_days=800)
    store.close()
    again = Store.open_path(path, station=STATION)
    again.append_response(Response(nps=8, ts=T0 + 50))
    assert [e.seq for e in again.pending_outbox()] == [4]


def test_a_rolled_back_transaction_leaves_no_outbox_row_and_no_domain_row(store):
    store.append_response(Response(nps=9, ts=T0))
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.append_response(Response(nps=2, ts=T0 + 1))       # response + case
            store.append_visits([Visit(entered_at=T0, left_at=T0 + 5)])
            raise RuntimeError("power cut in the middle")
    counts = store.table_counts()
    assert [counts[t] for t in ("responses", "cases", "visits", "outbox")] == [1, 0, 0, 1]
    # and the seq the rolled-back rows had taken is handed out again: no gap
    store.append_response(Response(nps=9, ts=T0 + 2))
    assert [e.seq for e in store.pending_outbox()] == [1, 2]
    outbox_consistency(store.db)


def test_a_failing_write_rolls_back_its_own_outbox_rows(store):
    v = Visit(entered_at=T0, left_at=T0 + 5)
    store.append_visits([v])
    with pytest.raises(sqlite3.IntegrityError):
        store.append_visits([Visit(entered_at=T0, left_at=T0 + 1), v])   # duplicate id
    assert store.table_counts()["visits"] == 1
    assert store.outbox_status()["last_seq"] == 1
    outbox_consistency(store.db)


def test_the_store_can_write_again_after_a_rolled_back_transaction(store):
    with pytest.raises(ValueError):
        with store.transaction():
            store.append_response(Response(nps=9, ts=T0))
            raise ValueError
    with store.transaction():
        store.append_response(Response(nps=9, ts=T0))
    assert store.table_counts()["responses"] == 1


def test_pending_outbox_mark_acked_and_outbox_status(store):
    assert store.outbox_status() == {"pending": 0, "oldest_pending_at": None,
                                     "last_acked_seq": None, "last_acked_at": None, "last_seq": 0}
    for i in range(5):
        store.append_response(Response(nps=8, ts=T0 + i))
    assert [e.seq for e in store.pending_outbox()] == [1, 2, 3, 4, 5]
    assert [e.seq for e in store.pending_outbox(after_seq=2, limit=2)] == [3, 4]
    assert store.mark_acked(3, at=T0 + 60) == 3
    assert store.mark_acked(3, at=T0 + 70) == 0           # acking again changes nothing
    assert [e.seq for e in store.pending_outbox()] == [4, 5]
    status = store.outbox_status()
    assert status["pending"] == 2 and status["last_acked_seq"] == 3
    assert status["last_acked_at"] == T0 + 60 and status["last_seq"] == 5
    assert status["oldest_pending_at"] is not None
    assert store.mark_acked(100, at=T0 + 80) == 2
    assert store.pending_outbox() == [] and store.outbox_status()["pending"] == 0


def test_renumbering_pending_events_moves_payloads_and_domain_rows_and_keeps_acked_ones(store):
    """A database that replaced another one under the same station id follows HQ's seqs."""
    store.append_response(Response(nps=9, ts=T0))
    store.mark_acked(1, at=T0 + 1)
    case = store.append_response(Response(nps=2, ts=T0 + 2))  # response, case, alert: 2..4
    store.append_visits([Visit(entered_at=T0, left_at=T0 + 5)])      # 5
    store.resolve_case(case, "called back", at=T0 + 9)               # 6
    assert store.renumber_pending(after_seq=500) == 499
    events = store.pending_outbox()
    assert [e.seq for e in events] == [500 + i for i in range(1, 6)]
    assert [json.loads(e.payload)["seq"] for e in events] == [e.seq for e in events]
    assert all(json.loads(e.payload)["renumbered"] is True for e in events)   # HQ checks ids
    assert [e.type for e in events] == ["response", "case", "alert", "visit", "case"]
    assert store.outbox_id(1) is not None and store.outbox_id(2) is None
    outbox_consistency(store.db)                      # every domain row points at its event
    store.append_response(Response(nps=10, ts=T0 + 20))
    assert store.pending_outbox()[-1].seq == 506
    assert store.renumber_pending(after_seq=100) == 0  # already beyond: nothing moves


def test_renumbering_with_nothing_pending_makes_the_next_event_follow(tmp_path):
    store = Store.open_path(tmp_path / "s.db", station=STATION)
    assert store.renumber_pending(after_seq=40) == 0
    store.append_response(Response(nps=9, ts=T0))
    assert [e.seq for e in store.pending_outbox()] == [41]
    store.close()


# -- survey ----------------------------------------------------------------------------------

@pytest.mark.parametrize("score", [7, 8, 9, 10])
def test_a_passive_or_promoter_opens_no_case(store, score):
    assert store.append_response(Response(nps=score, ts=T0)) is None
    assert store.table_counts()["cases"] == 0


@pytest.mark.parametrize("score", [0, 6])
def test_a_detractor_response_opens_a_case_with_its_event(store, score):
    r = Response(nps=score, reasons=["wait", "staff"], comment="slow", ts=T0)
    case_id = store.append_response(r)
    assert case_id
    case = store.case(case_id)
    assert (case.response_id, case.nps, case.reasons, case.comment, case.opened_at,
            case.resolved_at) == (r.id, score, ["wait", "staff"], "slow", T0, None)
    events = store.pending_outbox()
    assert [e.type for e in events] == ["response", "case", "alert"]     # station/alerts.py
    data = json.loads(events[1].payload)["data"]
    assert data["status"] == "opened" and data["case_id"] == case_id
    assert data["response_id"] == r.id
    assert [c.id for c in store.cases(T0 - 1, T0 + 1, open_only=True)] == [case_id]


def test_resolving_a_case_emits_a_second_case_event(store):
    case_id = store.append_response(Response(nps=3, ts=T0))
    case = store.resolve_case(case_id, "Called back", at=T0 + 600)
    assert case.resolved_at == T0 + 600 and case.resolution_note == "Called back"
    events = store.pending_outbox()
    assert [e.type for e in events] == ["response", "case", "alert", "case"]
    data = json.loads(events[3].payload)["data"]
    assert data["status"] == "resolved" and data["case_id"] == case_id
    assert data["handling_s"] == 600 and data["note"] == "Called back"
    # resolving again changes nothing and emits nothing
    store.resolve_case(case_id, "again", at=T0 + 900)
    assert len(store.pending_outbox()) == 4
    assert store.case(case_id).resolution_note == "Called back"
    assert store.cases(T0 - 1, T0 + 1, open_only=True) == []
    assert store.case_totals(T0 - 1, T0 + 1) == {"opened": 1, "resolved": 1,
                                                 "handling_s": [600.0]}
    outbox_consistency(store.db)


def test_resolving_an_unknown_case_is_an_error(store):
    with pytest.raises(StoreError, match="no case"):
        store.resolve_case("nope", "x")
    assert store.outbox_status()["last_seq"] == 0


def test_bad_responses_are_refused_before_touching_the_db():
    for kwargs in ({"nps": 11}, {"nps": -1}, {"nps": 5, "csat": 6}, {"nps": 5, "ces": 0},
                   {"nps": True}, {"nps": 5, "reasons": [1]}):
        with pytest.raises(ValueError):
            Response(**kwargs)


# -- kiosk presence linking --------------------------------------------------------------------

def _live_camera(store, ts):
    store.put_health("vision", {"fps": 10.0, "last_frame": ts}, ts=ts)


def test_a_tap_is_linked_to_the_visitor_with_the_longest_overlap_in_the_window(store):
    tap = T0 + 100
    _live_camera(store, tap)
    store.update_presence([
        Presence("short", "kiosk", tap - 14, tap - 10),            # 4 s in the window
        Presence("long", "kiosk", tap - 9, tap - 1),               # 8 s
        Presence("before", "kiosk", tap - 200, tap - 16),          # left before the window
        Presence("elsewhere", "till", tap - 15, tap),              # other zone, 15 s
        Presence("started_early", "kiosk", tap - 100, tap - 8),    # only 7 s inside the window
    ])
    store.append_response(Response(nps=9, ts=tap))
    row = store.recent_responses(1)[0]
    assert (row["presence"], row["visit_id"]) == ("linked", "long")
    assert json.loads(store.pending_outbox()[0].payload)["data"]["visit_id"] == "long"


def test_presence_extended_while_the_visitor_stays_counts_its_whole_span(store):
    tap = T0 + 100
    store.update_presence([Presence("a", "kiosk", tap - 12, tap - 9),
                           Presence("b", "kiosk", tap - 8, tap - 2)])      # b: 6 s
    store.update_presence([Presence("a", "kiosk", tap - 9, tap - 1)])     # a: now 11 s
    store.append_response(Response(nps=9, ts=tap))
    assert store.recent_responses(1)[0]["visit_id"] == "a"


def test_no_presence_when_the_camera_is_live_and_nobody_is_there(store):
    tap = T0 + 100
    _live_camera(store, tap - 1)
    store.update_presence([Presence("gone", "kiosk", tap - 60, tap - 20)])
    store.append_response(Response(nps=10, ts=tap))
    row = store.recent_responses(1)[0]
    assert (row["presence"], row["visit_id"]) == ("no_presence", None)
    assert store.response_totals(T0, T0 + 200)["no_presence"] == 1


def test_presence_is_unknown_without_vision_health(store):
    store.append_response(Response(nps=10, ts=T0))
    assert store.recent_responses(1)[0]["presence"] == "unknown"


def test_presence_is_unknown_when_the_camera_went_silent(store):
    _live_camera(store, T0 - 600)
    store.append_response(Response(nps=10, ts=T0))
    assert store.recent_responses(1)[0]["presence"] == "unknown"


def test_presence_is_unknown_without_a_kiosk_zone(tmp_path):
    store = Store.open_path(tmp_path / "s.db", station=STATION, kiosk_zone="")
    _live_camera(store, T0)
    store.update_presence([Presence("a", "kiosk", T0 - 5, T0)])
    store.append_response(Response(nps=10, ts=T0))
    assert store.recent_responses(1)[0]["presence"] == "unknown"


# -- traffic roll-up ---------------------------------------------------------------------------

def _crossings(minute, n_in, n_out, line="door"):
    return ([Crossing(minute + 1 + i, line, "in") for i in range(n_in)] +
            [Crossing(minute + 30 + i, line, "out") for i in range(n_out)])


def test_roll_up_closes_only_finished_minutes_and_never_double_counts(store):
    m0, m1, m2 = T0, T0 + 60, T0 + 120
    store.append_crossings(_crossings(m0, 3, 1) + _crossings(m0, 2, 0, "side") +
                           _crossings(m1, 4, 2) + _crossings(m2, 5, 5))
    raw = store.entries(T0 - 3600, T0 + 3600)
    assert raw == {"entries": 14, "exits": 8}
    assert store.roll_up_traffic(until_ts=m2 + 30) == 3            # m0 door+side, m1 door
    rows = store.db.execute("SELECT minute, line, entries, exits FROM traffic "
                            "ORDER BY minute, line").fetchall()
    assert rows == [(m0, "door", 3, 1), (m0, "side", 2, 0), (m1, "door", 4, 2)]
    assert store.roll_up_traffic(until_ts=m2 + 59) == 0            # m2 still open: nothing
    assert store.entries(T0 - 3600, T0 + 3600) == raw             # roll-up + raw, no overlap
    store.append_crossings([Crossing(m2 + 50, "door", "in")])
    assert store.roll_up_traffic(until_ts=m2 + 61) == 1
    assert store.roll_up_traffic(until_ts=m2 + 61) == 0
    assert store.db.execute("SELECT sum(entries), sum(exits) FROM traffic").fetchone() == (15, 8)
    assert store.entries(T0 - 3600, T0 + 3600) == {"entries": 15, "exits": 8}
    assert store.entries(T0 - 3600, T0 + 3600, lines=["side"]) == {"entries": 2, "exits": 0}
    assert store.entries(T0 - 3600, T0 + 3600, lines=[]) == {"entries": 0, "exits": 0}
    events = [json.loads(e.payload) for e in store.pending_outbox()]
    assert [e["type"] for e in events] == ["traffic"] * 4
    assert events[0]["data"] == {"minute": "2027-01-15T08:00:00.000Z", "line": "door",
                                 "in": 3, "out": 1, "entrance": True}
    outbox_consistency(store.db)


def test_roll_up_skips_quiet_minutes_and_handles_the_first_call(store):
    assert store.roll_up_traffic(T0 + 600) == 0
    store.append_crossings(_crossings(T0 + 600, 1, 0) + _crossings(T0 + 900, 2, 0))
    assert store.roll_up_traffic(T0 + 1000) == 2
    assert store.db.execute("SELECT minute, entries FROM traffic ORDER BY minute").fetchall() \
        == [(T0 + 600, 1), (T0 + 900, 2)]


# -- retention -------------------------------------------------------------------------------

def test_prune_never_deletes_unacked_outbox_rows(store):
    for i in range(10):
        store.append_response(Response(nps=9, ts=T0 + i))
    store.mark_acked(4, at=T0 + 20)
    counts = store.prune(now=T0 + 365 * 86400, raw_vision_days=1, acked_outbox_days=0,
                         rollup_days=1)
    assert counts["outbox"] == 4
    assert [e.seq for e in store.pending_outbox()] == list(range(5, 11))
    assert store.table_counts()["responses"] == 10        # survey data itself is kept


def test_prune_keeps_recently_acked_rows(store):
    for i in range(3):
        store.append_response(Response(nps=9, ts=T0 + i))
    store.mark_acked(3, at=T0 + 3 * 86400)
    assert store.prune(now=T0 + 5 * 86400, raw_vision_days=30, acked_outbox_days=7,
                       rollup_days=800)["outbox"] == 0
    assert store.prune(now=T0 + 11 * 86400, raw_vision_days=30, acked_outbox_days=7,
                       rollup_days=800)["outbox"] == 3


def test_prune_drops_raw_crossings_only_once_rolled_up(store):
    store.append_crossings(_crossings(T0, 2, 1) + _crossings(T0 + 60, 1, 0))
    store.roll_up_traffic(T0 + 60)                      # closes only the first minute
    counts = store.prune(now=T0 + 40 * 86400, raw_vision_days=30, acked_outbox_days=7,
                         rollup_days=800)
    assert counts["crossings"] == 3                     # the un-rolled minute survives
    assert store.table_counts()["crossings"] == 1
    assert store.entries(T0 - 60, T0 + 3600) == {"entries": 3, "exits": 1}


def test_prune_drops_old_presence_and_old_rollups(store):
    store.update_presence([Presence("a", "kiosk", T0, T0 + 10)])
    store.append_crossings(_crossings(T0, 1, 0) + _crossings(T0 + 120, 2, 0))
    store.roll_up_traffic(T0 + 180)
    kept = store.prune(now=T0 + 900 * 86400, raw_vision_days=30, acked_outbox_days=7,
                       rollup_days=800)
    assert kept["traffic"] == 0                         # HQ has not confirmed them yet
    store.mark_acked(store.outbox_status()["last_seq"], at=T0 + 200)
    counts = store.prune(now=T0 + 900 * 86400, raw_vision_days=30, acked_outbox_days=7,
                         rollup_days=800)
    assert counts["presence"] == 0 and counts["traffic"] == 1
    # the newest minute is kept as the roll-up's high-water mark
    assert store.db.execute("SELECT minute FROM traffic").fetchall() == [(T0 + 120,)]
    assert counts["outbox"] == 2                        # acked long enough ago: gone too
    assert store.outbox_status()["pending"] == 0


def test_pruned_rollups_are_not_rolled_up_again(store):
    # rollup_days shorter than raw_vision_days: the raw crossings outlive their roll-up
    store.append_crossings(_crossings(T0, 3, 1))
    assert store.roll_up_traffic(T0 + 60) == 1
    store.prune(now=T0 + 2 * 86400, raw_vision_days=30, acked_outbox_days=7, rollup_days=1)
    assert store.roll_up_traffic(T0 + 2 * 86400) == 0      # HQ must not get that minute twice
    assert [e.type for e in store.pending_outbox()] == ["traffic"]
    store.append_crossings(_crossings(T0 + 2 * 86400, 1, 0))
    assert store.roll_up_traffic(T0 + 2 * 86400 + 60) == 1


# -- status ----------------------------------------------------------------------------------

def test_health_and_settings_round_trip(store):
    store.put_health("vision", {"fps": 9.5}, ts=T0)
    store.put_health("vision", {"fps": 7.0}, ts=T0 + 1)
    assert store.health() == {"vision": {"ts": T0 + 1, "fps": 7.0}}
    assert store.setting("missing", "dflt") == "dflt"
    store.set_setting("thanks", {"vi": "Cảm ơn"})
    assert store.setting("thanks") == {"vi": "Cảm ơn"}
    assert store.outbox_status()["last_seq"] == 0        # local state, not sent to HQ


# -- opening from a config ---------------------------------------------------------------------

def _config(tmp_path, **sections):
    from station.config import parse_config
    raw = {"station": {"org": "acme", "store": "hcm-01", "id": "kiosk-1"},
           "database": {"path": "db/station.db"},
           "vision": {"kiosk_zone": "kiosk",
                      "zones": [{"name": "kiosk", "polygon": [[0, 0], [1, 0], [1, 1]]}]},
           **sections}
    return parse_config(raw, base_dir=tmp_path)


def test_open_from_config_uses_its_path_station_and_kiosk_zone(tmp_path):
    config = _config(tmp_path)
    store = Store.open(config)
    assert (tmp_path / "db" / "station.db").exists()
    _live_camera(store, T0)
    store.append_response(Response(nps=9, ts=T0))
    (event,) = store.pending_outbox()
    assert json.loads(event.payload)["station"] == "acme/hcm-01/kiosk-1"
    assert store.recent_responses(1)[0]["presence"] == "no_presence"     # kiosk zone is used
    store.close()


def test_with_vision_disabled_presence_is_never_claimed(tmp_path):
    config = _config(tmp_path, vision={"enabled": False, "kiosk_zone": "kiosk", "zones": [
        {"name": "kiosk", "polygon": [[0, 0], [1, 0], [1, 1]]}]})
    store = Store.open(config)
    _live_camera(store, T0)
    store.append_response(Response(nps=9, ts=T0))
    assert store.recent_responses(1)[0]["presence"] == "unknown"
    store.close()


# -- property: any sequence of writes keeps the outbox contract ----------------------------------

_ops = st.lists(st.one_of(
    st.tuples(st.just("response"), st.integers(0, 10)),
    st.tuples(st.just("resolve"), st.integers(0, 50)),
    st.tuples(st.just("visits"), st.integers(0, 5)),
    st.tuples(st.just("crossings"), st.integers(1, 5)),
    st.tuples(st.just("ack"), st.integers(0, 60)),
    st.tuples(st.just("rollback"), st.integers(0, 10)),
    st.tuples(st.just("prune"), st.integers(0, 1)),
), max_size=30)


@settings(max_examples=25, deadline=None)
@given(_ops)
def test_property_any_sequence_of_writes_keeps_the_outbox_contract(ops):
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open_path(Path(tmp) / "s.db", station=STATION, synchronous="OFF")
        clock, cases, acked_upto, pruned = T0, [], 0, False
        for op, arg in ops:
            clock += 61
            if op == "response":
                case = store.append_response(Response(nps=arg, ts=clock))
                cases += [case] if case else []
            elif op == "resolve" and cases:
                store.resolve_case(cases[arg % len(cases)], "done", at=clock)
            elif op == "visits":
                store.append_visits([Visit(entered_at=clock - 5, left_at=clock)
                                     for _ in range(arg)])
            elif op == "crossings":
                store.append_crossings([Crossing(clock + i, "door", "in") for i in range(arg)])
                store.roll_up_traffic(clock)
            elif op == "ack":
                # HQ can only confirm seqs that exist (its mark comes from received events)
                arg = min(arg, store.outbox_status()["last_seq"])
                store.mark_acked(arg, at=clock)
                acked_upto = max(acked_upto, arg)
            elif op == "rollback":
                with pytest.raises(KeyError):
                    with store.transaction():
                        store.append_response(Response(nps=arg, ts=clock))
                        raise KeyError
            elif op == "prune":
                store.prune(now=clock + 86400 * 10, raw_vision_days=1, acked_outbox_days=arg,
                            rollup_days=1)
                pruned = True
            # pending is exactly everything after the highest ack, in order
            last = store.outbox_status()["last_seq"]
            pending = [e.seq for e in store.pending_outbox(limit=10_000)]
            assert pending == list(range(acked_upto + 1, last + 1))
        refs = {s for (s,) in store.db.execute(
            "SELECT outbox_seq FROM responses UNION ALL SELECT opened_seq FROM cases "
            "UNION ALL SELECT resolved_seq FROM cases WHERE resolved_seq IS NOT NULL "
            "UNION ALL SELECT outbox_seq FROM visits UNION ALL SELECT outbox_seq FROM traffic "
            "UNION ALL SELECT outbox_seq FROM alert_events")}
        in_outbox = {s for (s,) in store.db.execute("SELECT seq FROM outbox")}
        assert in_outbox <= refs                                  # no orphan events ever
        assert all(s <= acked_upto for s in refs - in_outbox)     # only acked ones pruned
        if not pruned:
            outbox_consistency(store.db)
            assert_seqs_contiguous(store.db)
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        store.close()


# -- read queries for the kiosk dashboard ------------------------------------------------------

HCM = 7 * 3600        # Asia/Ho_Chi_Minh, UTC+7


def test_response_day_summary_counts_per_local_day_and_age_bracket(store):
    store.append_visits([Visit(entered_at=T0, left_at=T0 + 60, age_bracket="18-24", id="y")])
    store.update_presence([Presence("y", "kiosk", T0 + 50, T0 + 60)])
    _live_camera(store, T0 + 60)
    store.append_response(Response(nps=10, csat=5, ces=7, ts=T0 + 60))      # linked to y
    _live_camera(store, T0 + 3600)
    store.append_response(Response(nps=3, csat=2, ts=T0 + 3600))           # nobody there
    store.append_response(Response(nps=8, complete=False, ts=T0 + 17 * 3600))  # next local day
    rows = {(r["day"], r["age_bracket"]): r
            for r in store.response_day_summary(T0 - 86400, T0 + 86400, HCM)}
    day = int((T0 + HCM) // 86400)
    assert set(rows) == {(day, "18-24"), (day, None), (day + 1, None)}
    young = rows[(day, "18-24")]
    assert young["scores"][10] == 1 and sum(young["scores"]) == 1
    assert young["csat"] == {1: 0, 2: 0, 3: 0, 4: 0, 5: 1}
    assert young["ces"][7] == 1 and young["linked"] == 1
    other = rows[(day, None)]
    assert other["scores"][3] == 1 and other["csat"][2] == 1 and other["no_presence"] == 1
    late = rows[(day + 1, None)]
    assert (late["responses"], late["complete"]) == (1, 0)
    assert late["csat"] == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}      # counts, never None
    assert all(v == 0 for v in late["ces"].values())


def test_case_day_summary_and_handling_times(store):
    a = store.append_response(Response(nps=1, ts=T0))
    store.append_response(Response(nps=2, ts=T0 + 60))
    store.append_response(Response(nps=0, ts=T0 + 17 * 3600))
    store.resolve_case(a, "ok", at=T0 + 900)
    day = int((T0 + HCM) // 86400)
    assert store.case_day_summary(T0 - 86400, T0 + 86400, HCM) == {
        day: {"opened": 2, "resolved": 1, "handling_s": [900.0]},
        day + 1: {"opened": 1, "resolved": 0, "handling_s": []}}


def test_dwell_counts_bins_visit_lengths(store):
    lengths = [10, 59.9, 60, 299, 300, 4000]
    store.append_visits([Visit(entered_at=T0, left_at=T0 + s) for s in lengths])
    assert store.dwell_counts(T0, T0 + 86400, [0, 60, 300, 900]) == [2, 2, 2]
    assert store.dwell_counts(T0 + 86400, T0 + 2 * 86400, [0, 60, 300]) == [0, 0]


def test_a_failed_nested_block_rolls_back_only_its_own_rows(store):
    with store.transaction():
        store.append_response(Response(nps=10))
        with pytest.raises(ValueError):
            with store.transaction():
                store.append_response(Response(nps=9))
                raise ValueError("caught by the caller")
        store.append_response(Response(nps=8))
    counts = store.table_counts()
    assert counts["responses"] == counts["outbox"] == 2
    assert [e.seq for e in store.pending_outbox()] == [1, 2]


def test_prune_blanks_old_comments_and_keeps_the_answers(store):
    old = Response(nps=2, reasons=["wait"], comment="call me 0903", ts=T0)
    new = Response(nps=1, reasons=["staff"], comment="rude", ts=T0 + 100 * 86400)
    old_case = store.append_response(old)
    store.resolve_alert("detractor", store.station, at=T0 + 1)
    new_case = store.append_response(new)
    counts = store.prune(now=T0 + 100 * 86400 + 60, raw_vision_days=30, acked_outbox_days=7,
                         rollup_days=800, comment_days=90)
    assert (counts["response comments"], counts["case comments"],
            counts["alert comments"]) == (1, 1, 1)
    rows = dict(store.db.execute("SELECT id, comment FROM responses").fetchall())
    assert rows == {old.id: None, new.id: "rude"}
    assert store.case(old_case).comment is None and store.case(new_case).comment == "rude"
    assert store.case(old_case).reasons == ["wait"] and store.case(old_case).nps == 2
    contexts = {a.context["case_id"]: a.context for a in store.alerts()}
    assert "comment" not in contexts[old_case] and contexts[new_case]["comment"] == "rude"
    assert contexts[old_case]["score"] == 2


def test_prune_deletes_complaint_contact_details_after_their_own_shorter_retention(store):
    old = Response(nps=1, ts=T0, complaint=Complaint(problem="rude", contact_name="Lan",
                                                     contact="0901234567", ts=T0 + 30))
    new = Response(nps=2, ts=T0 + 40 * 86400,
                   complaint=Complaint(contact="lan@mail.vn", ts=T0 + 40 * 86400))
    old_case, new_case = store.append_response(old), store.append_response(new)
    counts = store.prune(now=T0 + 45 * 86400, raw_vision_days=30, acked_outbox_days=7,
                         rollup_days=800, comment_days=90, complaint_contact_days=30)
    assert counts["complaint contacts"] == 1 and counts["complaint texts"] == 0
    gone, kept = store.case(old_case).complaint, store.case(new_case).complaint
    assert (gone["contact_name"], gone["contact"]) == (None, None)
    assert gone["problem"] == "rude"                     # the shopper's words: comment_days
    assert kept["contact"] == "lan@mail.vn"
    assert store.complaint_totals(0, 2e9)["complaints"] == 2      # the complaints stay
    counts = store.prune(now=T0 + 100 * 86400, raw_vision_days=30, acked_outbox_days=7,
                         rollup_days=800, comment_days=90, complaint_contact_days=30)
    assert counts["complaint texts"] == 1 and store.case(old_case).complaint["problem"] is None


def test_a_complaint_needs_a_low_score():
    with pytest.raises(ValueError, match="after a low score"):
        Response(nps=7, complaint=Complaint())
