"""Per-event checks HQ applies to what stations send (sync/envelope.py)."""
import json
import time

import pytest

from sync.envelope import (MAX_EVENT_BYTES, Invalid, Topic, batch_payload, parse_message)

STATION = "acme/s1/k1"
NOW = time.time()


def envelope(seq=1, **overrides):
    doc = {"v": 1, "station": STATION, "seq": seq, "id": f"id-{seq}", "type": "response",
           "ts": "2026-11-23T10:00:00.000Z", "data": {"nps": 9, "csat": 5, "ces": None}}
    doc.update(overrides)
    return doc


def dumps(doc) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def test_topic_names_station_and_kind():
    topic = Topic.parse("cx/v1/acme/s1/k1/response", "cx/v1")
    assert (topic.station, topic.kind) == (STATION, "response")
    for bad in ("cx/v2/acme/s1/k1/response", "cx/v1/acme/s1/response", "cx/v1/ACME/s1/k1/x"):
        with pytest.raises(Invalid):
            Topic.parse(bad, "cx/v1")


def test_good_single_event_is_accepted_with_epoch_time():
    ok, bad = parse_message(Topic(STATION, "response"), dumps(envelope()), NOW)
    assert bad == [] and len(ok) == 1
    assert ok[0].seq == 1 and ok[0].data["nps"] == 9
    assert ok[0].ts_epoch == pytest.approx(1795428000.0)
    assert ok[0].renumbered is False


def test_only_a_true_renumbered_flag_marks_an_event_renumbered():
    docs = [envelope(1, renumbered=True), envelope(2, renumbered="yes"), envelope(3)]
    ok, bad = parse_message(Topic(STATION, "batch"), batch_payload([json.dumps(d) for d in docs]),
                            NOW)
    assert bad == [] and [e.renumbered for e in ok] == [True, False, False]


@pytest.mark.parametrize("change, reason", [
    ({"v": 2}, "version 2 is not supported"),
    ({"v": "1"}, "v must be an integer"),
    ({"station": "acme/s1/k2"}, "does not match the topic"),
    ({"seq": 0}, "seq must be a positive integer"),
    ({"seq": "7"}, "seq must be a positive integer"),
    ({"seq": True}, "seq must be a positive integer"),
    ({"id": "has space"}, "id must be"),
    ({"type": "visit"}, "does not match the topic's 'response'"),
    ({"type": "selfie"}, "unknown event type"),
    ({"ts": "yesterday"}, "RFC 3339"),
    ({"ts": "1999-12-31T23:59:59Z"}, "sane range"),
    ({"ts": "2999-01-01T00:00:00Z"}, "sane range"),
    ({"ts": "2026-02-30T00:00:00Z"}, "not a real time"),
    ({"data": [1, 2]}, "data must be an object"),
    ({"data": {"nps": 11}}, "nps must be an integer 0..10"),
    ({"data": {"nps": 7, "csat": 9}}, "csat must be null or an integer 1..5"),
])
def test_each_malformation_is_rejected_with_its_reason(change, reason):
    raw = dumps(envelope(**change))
    ok, bad = parse_message(Topic(STATION, "response"), raw, NOW)
    assert ok == [] and len(bad) == 1
    assert reason in bad[0].reason and bad[0].raw == raw and bad[0].station == STATION


def test_missing_keys_and_non_json_are_rejected():
    doc = envelope()
    del doc["ts"]
    ok, bad = parse_message(Topic(STATION, "response"), dumps(doc), NOW)
    assert "missing keys ['ts']" in bad[0].reason
    for raw in (b"\xff\xfe\x00binary", b"{not json", b"[]", b"42"):
        ok, bad = parse_message(Topic(STATION, "response"), raw, NOW)
        assert ok == [] and bad[0].raw == raw


def test_huge_event_is_rejected():
    raw = dumps(envelope(data={"nps": 5, "comment": "x" * MAX_EVENT_BYTES}))
    ok, bad = parse_message(Topic(STATION, "response"), raw, NOW)
    assert ok == [] and "exceeds" in bad[0].reason


def test_batch_rejects_only_its_bad_items_and_keeps_their_exact_text():
    items = [dumps(envelope(1)), dumps(envelope(2, v=9)), dumps(envelope(3, type="case",
                                                                         data={"status": "x"}))]
    payload = batch_payload([i.decode() for i in items])
    ok, bad = parse_message(Topic(STATION, "batch"), payload, NOW)
    assert [e.seq for e in ok] == [1]
    assert [r.raw for r in bad] == items[1:]


def test_batch_with_one_huge_item_among_small_ones_rejects_that_item():
    small = [dumps(envelope(i)).decode() for i in range(1, 400)]
    huge = dumps(envelope(400, data={"nps": 1, "comment": "é" * (MAX_EVENT_BYTES // 2)})).decode()
    ok, bad = parse_message(Topic(STATION, "batch"), batch_payload(small + [huge]), NOW)
    assert len(ok) == 399 and len(bad) == 1 and "exceeds" in bad[0].reason


@pytest.mark.parametrize("payload", [b"[", b"[{}", b"[]", b'[{"v":1}] x', b'{"v":1}', b"\xff"])
def test_broken_batches_are_rejected_whole(payload):
    ok, bad = parse_message(Topic(STATION, "batch"), payload, NOW)
    assert ok == [] and len(bad) == 1 and bad[0].raw == payload
