"""HQ's report reads whatever `handcount` events its receiver accepted (fuzzed: they arrive
from the network): a value the receiver lets through never breaks the counter figures, and
what it refuses is refused with the field named."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings, strategies as st

from hq import report_kpis
from hq.db import HqDb
from hq.views import open_readonly
from station import events
from sync.envelope import Topic, parse_message

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) |
                    st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)
STATION = "acme/fuzz/kiosk-1"
SENT = {"action": "added", "correction": True, "checks": 1, "factor": 1.25, "check_id": "c1",
        "start": "2026-11-15T03:00:00.000Z", "end": "2026-11-15T03:30:00.000Z", "count": 125,
        "camera_count": 100, "who": "manager"}


def _event(seq: int, data: dict) -> bytes:
    return json.dumps(events.envelope(STATION, seq, f"e{seq}", "handcount",
                                      1_794_711_600.0 + seq, data)).encode()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({}, optional={k: JSON for k in SENT}) |
                st.builds(lambda changes: {**SENT, **changes},
                          st.dictionaries(st.sampled_from(sorted(SENT)), JSON, max_size=2)),
                min_size=1, max_size=4))
@example([{**SENT, "checks": "x"}])
@example([{**SENT, "check_id": [1]}, {**SENT, "action": "removed", "check_id": [1]}])
@example([{**SENT, "start": 5, "factor": 1e308, "checks": 10 ** 30}])
@example([{**SENT, "factor": None}, {**SENT, "action": "correction", "check_id": None}])
def test_accepted_handcount_events_never_break_the_counter_figures(datas):
    accepted = []
    for seq, data in enumerate(datas, 1):
        try:
            events.HandCount.check(data)
        except events.Invalid as exc:
            assert "handcount" in str(exc)
            continue
        envs, rejects = parse_message(Topic(STATION, "handcount"), _event(seq, data), now=2e9)
        accepted += envs
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hq.db"
        hq = HqDb.open(path)
        hq.commit(accepted, [], now=2e9)
        hq.close()
        db = open_readonly(path)
        try:
            counters = report_kpis.counters(db, 2e9)
            for state in counters.values():
                summary = report_kpis.counter_summary([{**state, "entries": 100}], None)
                json.dumps(summary)
                assert summary["corrected"] == (state["factor"] is not None and
                                                state["corrected"])
        finally:
            db.close()


def test_bad_values_are_refused_with_the_field_named():
    for changes, field in (({"checks": "3"}, "checks"), ({"checks": -1}, "checks"),
                           ({"check_id": 7}, "check_id"), ({"start": 5}, "start"),
                           ({"factor": 0}, "factor"), ({"correction": 1}, "correction")):
        try:
            events.HandCount.check({**SENT, **changes})
        except events.Invalid as exc:
            assert field in str(exc)
        else:
            raise AssertionError(f"{changes} passed")


def test_what_a_station_sends_reads_back_as_sent(tmp_path):
    envs, rejects = parse_message(Topic(STATION, "handcount"), _event(1, SENT), now=2e9)
    assert envs and not rejects
    hq = HqDb.open(tmp_path / "hq.db")
    hq.commit(envs, [], now=2e9)
    hq.close()
    db = open_readonly(tmp_path / "hq.db")
    state = report_kpis.counters(db, 2e9)[STATION]
    db.close()
    assert state["corrected"] and state["factor"] == 1.25 and state["checks"] == 1
    (check,) = state["in_force"].values()
    assert (check.hand, check.camera, check.start) == (125, 100, 1_794_711_600.0)
