"""Every event type, station write → envelope → HQ store → HQ view and export, field by field.

station/events.py is the one place an event type is defined; this is the test that a type
added there reaches an HQ analyst whole.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from station import events
from station.store import Store
from station.store.records import Complaint, Crossing, Presence, Response, Visit
from station.targets import Target
from sync.envelope import Topic, parse_message
from hq.db import HqDb
from hq.export import export_to_string
from hq.views import open_readonly

STATION = "acme/s1/k1"
NOW = time.time()


def write_response(store):
    store.append_response(Response(nps=9, csat=4, ces=2, reasons=["staff"], comment="=great",
                                   language="vi", ts=NOW - 60, first_visit=False))


def write_case(store):
    case_id = store.append_response(Response(nps=2, reasons=["wait"], comment="slow",
                                              language="en", ts=NOW - 60))
    store.resolve_case(case_id, note="called back", at=NOW - 30)


def write_traffic(store):
    minute = NOW // 60 * 60 - 300           # all three in one minute, whatever NOW is
    store.append_crossings([Crossing(minute + 1, "door", "in"), Crossing(minute + 2, "door", "out"),
                            Crossing(minute + 3, "door", "in")])
    assert store.roll_up_traffic(NOW) == 1


def write_visit(store):
    store.append_visits([Visit(NOW - 120, NOW - 20, dwell={"kiosk": 12.5, "shelf": 40.0},
                               age_bracket="20-29", age_confidence=0.7, gender="female",
                               gender_confidence=0.91, views=4, p_female=0.91,
                               age_probs=(0.01, 0.2, 0.55, 0.2, 0.04, 0.0, 0.0))])


def write_target(store):
    store.set_target(Target("nps", 40, "higher", "week"), "config", at=NOW - 90)
    store.set_target(Target("nps", 45, "higher", "month"), "admin", who="manager", at=NOW - 30)


def write_alert(store):
    alert_id = store.raise_alert("kpi_below_target", "warning", "nps", at=NOW - 60, context={
        "value": -12.5, "n": 40, "interval": [-30.1, 5.2], "target": 20, "direction": "higher"})
    store.acknowledge_alert(alert_id, at=NOW - 30)


def write_pos(store):
    from station.pos import PosHour
    hour = NOW // 3600 * 3600 - 7200
    store.import_pos([PosHour(hour, 14, 3_250_000.0)], source="sales.csv", at=NOW - 60)
    store.import_pos([PosHour(hour, 15, None)], source="sales-fixed.csv", at=NOW - 30)


def write_handcount(store):
    hour = NOW // 3600 * 3600 - 7200
    store.append_crossings([Crossing(hour + 5, "door", "in", camera="door-cam")])
    check_id = store.add_hand_count(hour, hour + 3600, 2, who="manager", at=NOW - 60)
    store.set_count_correction(True, who="manager", at=NOW - 40)
    store.remove_hand_count(check_id, at=NOW - 20)


def write_complaint(store):
    store.append_response(Response(nps=1, ts=NOW - 60, complaint=Complaint(
        problem="no staff", contact_name="Lan", contact="0901234567", ts=NOW - 40)))


def write_occupancy(store):
    minute = NOW // 60 * 60 - 300
    store.opening_time = "00:00"
    store.append_crossings([Crossing(minute + 1, "door", "in"), Crossing(minute + 2, "door", "in")])
    store.update_presence([Presence("v1", "shelf", minute + 3, minute + 50)])
    assert store.roll_up_occupancy(NOW, max_minutes=6) >= 1


WRITERS = {"response": write_response, "case": write_case, "traffic": write_traffic,
           "visit": write_visit, "target": write_target, "alert": write_alert,
           "pos": write_pos, "handcount": write_handcount, "complaint": write_complaint,
           "occupancy": write_occupancy}


def test_every_event_type_has_a_writer_here():
    assert set(WRITERS) == set(events.TYPES)


def test_the_broker_acl_lets_a_station_publish_every_event_type():
    acl = (Path(__file__).resolve().parents[2] / "config" / "mosquitto" / "acl").read_text()
    allowed = {line.split("/")[-1] for line in acl.splitlines()
               if line.startswith("pattern write cx/v1/%u/")}
    assert set(events.TYPES) <= allowed


@pytest.mark.parametrize("type_", sorted(events.TYPES))
def test_an_event_reaches_hqs_view_and_export_with_every_field(tmp_path, type_):
    store = Store.open_path(tmp_path / "station.db", station=STATION)
    WRITERS[type_](store)
    outbox = [e for e in store.pending_outbox(limit=100) if e.type == type_]
    assert outbox
    hq = HqDb.open(tmp_path / "hq.db")
    for event in outbox:
        topic = events.topic("cx/v1", STATION, event.type)
        accepted, rejected = parse_message(Topic.parse(topic, "cx/v1"),
                                           event.payload.encode(), time.time())
        assert rejected == [] and len(accepted) == 1
        hq.commit(accepted, [], time.time())
    hq.close()
    sent = json.loads(outbox[-1].payload)
    assert sent["v"] == events.VERSION and sent["type"] == type_
    data = sent["data"]
    assert set(data) <= set(events.keys(type_))          # nothing outside the contract
    events.TYPES[type_].check(data)
    db = open_readonly(tmp_path / "hq.db")
    view = db.execute(f"SELECT * FROM {events.TYPES[type_].VIEW} ORDER BY seq DESC LIMIT 1")
    row = dict(zip([c[0] for c in view.description], view.fetchone()))
    for column, key, _default in events.columns(type_):
        if key in data:
            expected = data[key]
            got = row[column]
            if isinstance(expected, (list, dict)):
                got = json.loads(got)
            elif isinstance(expected, bool):
                got = bool(got)
            assert got == expected, (column, got, expected)
    exported = json.loads(export_to_string(db, type_, "jsonl").splitlines()[-1])
    assert exported["station"] == STATION and exported["store"] == "acme/s1"
    for key, value in data.items():
        if isinstance(value, dict):
            assert {k: exported[f"{key}.{k}"] for k in value} == value
        else:
            assert exported[key] == value, key


def test_a_records_json_keys_follow_its_contract_and_optional_fields_stay_out():
    opened = events.Case(case_id="c", status="opened", response_id="r", nps=3, reasons=("x",),
                         comment=None, opened_at="2026-11-23T10:00:00.000Z").to_data()
    assert list(opened) == ["case_id", "status", "response_id", "nps", "reasons",
                            "opened_at"]
    traffic = events.Traffic(minute="m", line="door", entries=2, exits=1).to_data()
    assert traffic == {"minute": "m", "line": "door", "in": 2, "out": 1, "entrance": True}


@pytest.mark.parametrize("type_, data, needle", [
    ("response", {"nps": 11}, "nps"),
    ("response", {"nps": 5, "csat": 6}, "csat"),
    ("case", {"status": "lost"}, "status"),
    ("traffic", {"line": "door", "in": -1, "out": 0}, "count"),
    ("visit", {"dwell": [1]}, "dwell"),
    ("visit", {"p_female": 1.5}, "p_female"),
    ("visit", {"p_female": "0.5"}, "p_female"),
    ("visit", {"age_probs": [0.5, "x"]}, "age_probs"),
    ("visit", {"age_probs": {"0-17": 1}}, "age_probs"),
    ("alert", {"kind": "detractor", "subject": "s", "state": "closed", "count": 1}, "state"),
    ("alert", {"kind": "detractor", "subject": "s", "state": "open", "count": 0}, "count"),
    ("target", {"kpi": "nps", "value": "40", "direction": "higher", "period": "week"}, "value"),
    ("target", {"kpi": "nps", "value": 40, "direction": "up", "period": "week"}, "direction"),
])
def test_each_records_check_names_what_is_wrong(type_, data, needle):
    with pytest.raises(events.Invalid, match=needle):
        events.TYPES[type_].check(data)
