"""HQ database bookkeeping (hq/db.py): exactly once, marks, gaps, conflicts."""
import sqlite3

import itertools

from hypothesis import HealthCheck, given, settings, strategies as st

from sync.envelope import Envelope, Reject
from hq.db import ACK_GAPS, DeadLetter, HqDb

STATION = "acme/s1/k1"
_examples = itertools.count(2)


def ev(seq, id_=None, station=STATION):
    return Envelope(station, seq, id_ or f"id-{seq}", "traffic", "2026-11-23T10:00:00Z",
                    1795428000.0, {"line": "a", "in": 1, "out": 0}, None)


def test_in_order_events_move_the_mark(hq_location):
    db = HqDb.open(hq_location)
    result = db.commit([ev(s) for s in range(1, 11)], [], now=1.0)
    assert result.inserted == 10 and result.marks == {STATION: 10}
    assert db.gaps(STATION) == []
    # what the ack tells the station: the mark, the top seq, the event id at the mark, the holes
    assert result.acks == {STATION: {"acked_seq": 10, "max_seq": 10, "id": "id-10", "gaps": []}}


def test_a_hole_holds_the_mark_until_it_is_filled(hq_location):
    db = HqDb.open(hq_location)
    result = db.commit([ev(s) for s in (1, 2, 3, 7, 8, 12)], [], now=1.0)
    assert db.marks() == {STATION: 3}
    assert result.acks[STATION] == {"acked_seq": 3, "max_seq": 12, "id": "id-3",
                                    "gaps": [[4, 6], [9, 11]]}
    assert db.gaps(STATION) == [(4, 6), (9, 11)]
    result = db.commit([ev(5), ev(10)], [], now=2.0)
    assert db.gaps(STATION) == [(4, 4), (6, 6), (9, 9), (11, 11)]
    assert result.acks[STATION]["gaps"] == [[4, 4], [6, 6], [9, 9], [11, 11]]
    result = db.commit([ev(4), ev(6), ev(9), ev(11)], [], now=3.0)
    assert result.marks == {STATION: 12} and db.gaps(STATION) == []


def test_the_ack_lists_the_first_holes_and_says_when_there_are_more(hq_location):
    db = HqDb.open(hq_location)
    odd = range(1, 2 * ACK_GAPS + 10, 2)              # every even seq missing
    ack = db.commit([ev(s) for s in odd], [], now=1.0).acks[STATION]
    assert ack["acked_seq"] == 1 and ack["max_seq"] == odd[-1]
    assert ack["gaps"] == [[s, s] for s in range(2, 2 * ACK_GAPS + 1, 2)]
    assert ack["gaps_more"] is True
    ack = db.commit([ev(s) for s in range(2, 2 * ACK_GAPS, 2)], [], now=2.0).acks[STATION]
    assert ack["acked_seq"] == 2 * ACK_GAPS - 1
    assert ack["gaps"] == [[s, s] for s in range(2 * ACK_GAPS, odd[-1], 2)]
    assert "gaps_more" not in ack


def test_a_renumbered_event_already_held_is_stored_once_and_its_new_seq_counts_as_received(
        hq_location):
    """A station database restored from a backup renumbers pending events HQ already has."""
    db = HqDb.open(hq_location)
    db.commit([ev(s) for s in range(1, 6)], [], now=1.0)
    back = [ev(6, "id-3"), ev(7, "id-new"), ev(8, "id-4")]
    for e in back:
        e.renumbered = True
    result = db.commit(back, [], now=2.0)
    assert (result.inserted, result.duplicates, result.dead_letters) == (1, 2, 0)
    assert result.acks[STATION] == {"acked_seq": 8, "max_seq": 8, "id": "id-4", "gaps": []}
    rows = db.db.execute("SELECT seq, id FROM events ORDER BY seq").fetchall()
    assert rows == [(s, f"id-{s}") for s in range(1, 6)] + [(7, "id-new")]
    again = db.commit(back, [], now=3.0)                            # resent: duplicates
    assert (again.inserted, again.duplicates, again.dead_letters) == (0, 3, 0)
    assert db.commit([ev(6, "id-other")], [], now=4.0).dead_letters == 1   # still a conflict
    # without the flag an event is not looked up by id (no index): stored under its new seq
    assert db.commit([ev(9, "id-1")], [], now=5.0).inserted == 1
    assert db.marks() == {STATION: 9} and db.gaps(STATION) == []


def test_duplicates_are_counted_not_stored_twice(hq_location):
    db = HqDb.open(hq_location)
    db.commit([ev(1), ev(2)], [], now=1.0)
    result = db.commit([ev(2), ev(2), ev(3)], [], now=2.0)
    assert (result.inserted, result.duplicates) == (1, 2)
    row = db.db.execute("SELECT received, duplicates, max_seq FROM stations").fetchone()
    assert row == (3, 2, 3)
    assert db.db.execute("SELECT count(*) FROM events").fetchone()[0] == 3


def test_same_seq_with_another_id_is_a_dead_lettered_conflict(hq_location):
    db = HqDb.open(hq_location)
    db.commit([ev(1)], [], now=1.0)
    result = db.commit([ev(1, id_="other")], [], now=2.0)
    assert result.inserted == 0 and result.dead_letters == 1
    reason, station = db.db.execute("SELECT reason, station FROM dead_letters").fetchone()
    assert "conflict" in reason and station == STATION
    assert db.db.execute("SELECT id FROM events").fetchone()[0] == "id-1"


def test_dead_letters_keep_raw_bytes_and_count_per_station(hq_location):
    db = HqDb.open(hq_location)
    raw = b"\x00\xffnot json"
    db.commit([], [DeadLetter("cx/v1/acme/s1/k1/response", Reject(raw, "not JSON", STATION)),
                   DeadLetter("elsewhere", Reject(b"x", "bad topic", None))], now=1.0)
    assert db.db.execute("SELECT payload FROM dead_letters ORDER BY id").fetchall() == \
        [(raw,), (b"x",)]
    assert db.db.execute("SELECT dead_letters FROM stations").fetchone()[0] == 1


def test_status_and_health_update_the_station_row(hq_location):
    db = HqDb.open(hq_location)
    result = db.commit([], [], now=5.0, statuses={STATION: ("offline", 5.0)},
                       healths={STATION: '{"backlog": 3}'})
    assert db.db.execute("SELECT status, status_at, health FROM stations").fetchone() == \
        ("offline", 5.0, '{"backlog": 3}')
    # a station HQ has no event of yet still hears from HQ (it resends what the broker dropped)
    assert result.acks == {STATION: {"acked_seq": 0, "max_seq": 0, "id": None, "gaps": []}}
    other = "acme/s2/k1"
    result = db.commit([ev(1)], [], now=6.0, healths={other: "{}"})
    assert set(result.acks) == {STATION, other} and result.acks[STATION]["acked_seq"] == 1


def test_reopening_keeps_the_schema_and_refuses_a_newer_one(hq_location):
    HqDb.open(hq_location).close()
    db = HqDb.open(hq_location)
    if db.backend == "postgresql":
        db.db.execute("UPDATE hq_schema SET version = 99")
        db.close()
    else:
        db.close()
        con = sqlite3.connect(hq_location)
        con.execute("PRAGMA user_version = 99")
        con.close()
    try:
        HqDb.open(hq_location)
    except RuntimeError as exc:
        assert "newer" in str(exc)
    else:
        raise AssertionError("a newer schema was accepted")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.integers(1, 60), max_size=25), min_size=1, max_size=8))
def test_gaps_and_mark_match_a_set_model_for_any_arrival_order(hq_location, flushes):
    db = HqDb.open(hq_location)
    station = f"acme/s1/k{next(_examples)}"        # one database, a new station per example
    seen = set()
    for flush in flushes:
        db.commit([ev(s, station=station) for s in flush], [], now=1.0)
        seen.update(flush)
    top = max(seen, default=0)
    missing = [s for s in range(1, top + 1) if s not in seen]
    mark = (missing[0] - 1) if missing else top
    assert db.marks().get(station, 0) == mark
    covered = [s for a, b in db.gaps(station) for s in range(a, b + 1)]
    assert covered == missing
    assert db.db.execute("SELECT count(*) FROM events WHERE station = ?",
                         (station,)).fetchone()[0] == len(seen)
    db.close()


def test_every_hq_connection_commits_with_synchronous_full(hq_location):
    """HQ acks what it committed: in WAL mode only FULL puts a commit on disk before the ack
    (on PostgreSQL: synchronous_commit on, even where the server's default is off)."""
    db = HqDb.open(hq_location)
    if db.backend == "postgresql":
        assert db.db.execute("SHOW synchronous_commit").fetchone()[0] == "on"
        return
    assert db.db.execute("PRAGMA synchronous").fetchone()[0] == 2        # FULL
    assert db.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_dead_letter_keeps_the_first_64_kb_and_the_size(hq_location):
    db = HqDb.open(hq_location)
    raw = b"x" * (17 * 1024 * 1024)
    db.commit([], [DeadLetter("cx/v1/acme/s1/k1/response", Reject(raw, "too big", STATION))],
              now=1.0)
    kept, size = db.db.execute("SELECT length(payload), size FROM dead_letters").fetchone()
    assert (kept, size) == (64 * 1024, len(raw))


def test_a_forged_event_at_a_future_seq_never_lets_the_mark_pass_the_real_one(hq_location):
    """Someone publishes under the station's name (only the broker ACL stops that) at a seq
    the station has not reached. When the station's own event arrives there, HQ cannot tell
    which is real: it holds its mark below that seq and names the event it holds, and the
    station's renumbered event with the refused id settles it."""
    db = HqDb.open(hq_location)
    db.commit([ev(s) for s in range(1, 4)] + [ev(10, "forged")], [], now=1.0)
    result = db.commit([ev(s) for s in range(4, 13)], [], now=2.0)       # the real 4..12
    assert result.dead_letters == 1 and result.marks == {STATION: 9}
    assert result.acks[STATION]["conflict"] == [10, "forged"]
    again = db.commit([ev(10)], [], now=3.0)                 # resent: counted, not re-lettered
    assert again.dead_letters == 0 and again.marks == {STATION: 9}
    assert db.db.execute("SELECT count FROM conflicts").fetchone()[0] == 2
    # the station finds another event at 10: its pending 10..12 move past HQ's highest seq
    moved = [ev(13, "id-10"), ev(14, "id-11"), ev(15, "id-12")]
    for e in moved:
        e.renumbered = True
    result = db.commit(moved, [], now=4.0)
    assert result.marks == {STATION: 15} and "conflict" not in result.acks[STATION]
    assert (result.inserted, result.duplicates) == (1, 2)     # 11 and 12 were held already
    stored = dict(db.db.execute("SELECT id, seq FROM events"))
    assert stored["id-10"] == 13 and stored["forged"] == 10


def test_a_forged_copy_of_a_seq_above_the_mark_is_settled_by_the_stations_resend(hq_location):
    db = HqDb.open(hq_location)
    db.commit([ev(1), ev(2), ev(4), ev(5)], [], now=1.0)          # 3 is still on its way
    result = db.commit([ev(4, "forged")], [], now=2.0)
    assert result.dead_letters == 1 and result.marks == {STATION: 2}
    result = db.commit([ev(3)], [], now=3.0)
    assert result.marks == {STATION: 3} and result.acks[STATION]["conflict"] == [4, "id-4"]
    result = db.commit([ev(4)], [], now=4.0)                # the station's own event at 4
    assert result.marks == {STATION: 5} and "conflict" not in result.acks[STATION]
    # a copy under an acknowledged seq changes nothing: the station was told it is safe
    result = db.commit([ev(5, "late-forgery")], [], now=5.0)
    assert result.dead_letters == 1 and result.marks == {STATION: 5}


def test_two_ids_for_one_seq_in_one_flush_hold_the_mark_too(hq_location):
    db = HqDb.open(hq_location)
    result = db.commit([ev(1), ev(2, "a"), ev(2, "b"), ev(3)], [], now=1.0)
    assert result.marks == {STATION: 1} and result.acks[STATION]["conflict"] == [2, "a"]


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() |
    st.text(alphabet=st.characters(blacklist_categories=("Cs",))),
    lambda inner: st.lists(inner, max_size=4) |
    st.dictionaries(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=5),
                    inner, max_size=4), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=5, alphabet=st.characters(
    blacklist_categories=("Cs",))), _json_values, max_size=5),
    st.sampled_from(["sqlite", "postgresql"]))
def test_storable_data_is_strict_json_and_keeps_the_exact_text_when_it_differs(data, backend):
    """Whatever JSON a station sends (Infinity, NaN, NUL anywhere), `data` is strict JSON
    (and NUL-free for jsonb) and the station's exact text is kept wherever they differ."""
    import json
    from hq.db import storable_data
    from sync.envelope import storable_text
    text = storable_text(data)

    def strict(constant):
        raise ValueError(f"{constant} is not strict JSON")
    stored, exact = storable_data(text, backend)
    parsed = json.loads(stored, parse_constant=strict)
    if backend == "postgresql":
        assert not _has_nul(parsed)
    if exact is None:
        assert stored == text
    else:
        assert exact == text and stored != text


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
