"""cx-hq run against real mosquitto (sync/hq/receiver.py): bad input, shared load."""
from __future__ import annotations

import json
import random
import re
import time
import uuid

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from station.config import load_config
from station.store import Store
from sync_testlib import add_events, hq_count, hq_rows, wait_until, write_config

GOOD = "acme/s1/k9"


def envelope(seq, station=GOOD, **overrides):
    doc = {"v": 1, "station": station, "seq": seq, "id": str(uuid.uuid4()), "type": "response",
           "ts": "2026-11-23T10:00:00.000Z", "data": {"nps": seq % 11}}
    doc.update(overrides)
    return doc


def publisher(broker):
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:6]}")
    client.max_inflight_messages_set(0)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def malformed(i: int, rng: random.Random) -> tuple[str, bytes]:
    """1 000 ways a station (or anyone) can get it wrong: each makes exactly one dead letter."""
    base = "cx/v1/acme/s1/k9"
    kind = i % 10
    if kind == 0:
        return f"{base}/response", b'{"v":1,"station":' + str(i).encode()   # bad JSON
    if kind == 1:
        return f"{base}/response", json.dumps(dict(envelope(1000 + i), seq=str(i))).encode()
    if kind == 2:
        return f"{base}/response", json.dumps(envelope(1000 + i, station="acme/s1/k1")).encode()
    if kind == 3:
        return f"{base}/response", json.dumps(envelope(1000 + i, data={
            "nps": 3, "comment": "x" * rng.randint(70_000, 200_000)})).encode()
    if kind == 4:
        return f"{base}/response", rng.randbytes(rng.randint(1, 400))           # binary
    if kind == 5:
        return f"{base}/response", json.dumps(envelope(1000 + i, v=2)).encode()  # future
    if kind == 6:
        return f"{base}/response", json.dumps(envelope(1000 + i, data={"nps": "ten"})).encode()
    if kind == 7:                        # a batch with one broken item
        return f"{base}/batch", json.dumps([envelope(1000 + i, ts="not a time")]).encode()
    if kind == 8:
        return f"{base}/selfie", b"{}"                                            # unknown kind
    return f"cx/v1/{'x' * (i % 5)}/nowhere", b"\x00\x01"                          # bad topic


def test_1000_malformed_payloads_are_dead_lettered_and_good_events_still_flow(tmp_path, broker,
                                                                              services):
    cfg = write_config(tmp_path / "hq.toml", broker)
    hq = services("hq", cfg)
    pub = publisher(broker)
    db = tmp_path / "hq.db"
    try:
        # The receiver's first session subscribes after it connects: probe until it listens.
        first = json.dumps(envelope(1)).encode()
        wait_until(lambda: pub.publish("cx/v1/acme/s1/k9/response", first, qos=1) and
                   hq_count(db, GOOD) == 1, 20, interval=0.3, message="receiver subscribed")
        rng = random.Random(6)
        for i in range(1000):
            topic, payload = malformed(i, rng)
            assert pub.publish(topic, payload, qos=1).rc == paho.MQTT_ERR_SUCCESS
            if i % 10 == 0:                              # good events keep coming in between
                seq = 2 + i // 10
                pub.publish("cx/v1/acme/s1/k9/response", json.dumps(envelope(seq)).encode(),
                            qos=1)
        wait_until(lambda: hq_rows(db, GOOD)["dead_letters"] >= 1000 and
                   hq_count(db, GOOD) >= 101, 60, interval=0.2, message="all processed")
        time.sleep(0.5)
        rows = hq_rows(db, GOOD)
        assert rows["dead_letters"] == 1000
        assert (rows["count"], rows["min"], rows["max"], rows["gaps"]) == (101, 1, 101, [])
        assert rows["acked_seq"] == 101
        assert hq.alive
        # Still accepting after all that.
        pub.publish("cx/v1/acme/s1/k9/response", json.dumps(envelope(102)).encode(), qos=1)
        wait_until(lambda: hq_count(db, GOOD) == 102, 10, message="a good event afterwards")
    finally:
        pub.disconnect()
        pub.loop_stop()
    import sqlite3
    con = sqlite3.connect(db)
    reasons = [r for (r,) in con.execute("SELECT reason FROM dead_letters")]
    for needle in ("not UTF-8 JSON", "seq must be", "does not match the topic", "exceeds",
                   "version 2", "nps must be", "RFC 3339", "unknown topic kind", "is not cx/v1/<org>"):
        assert any(needle in r for r in reasons), needle
    big = con.execute("SELECT max(length(payload)) FROM dead_letters").fetchone()[0]
    assert big > 70_000                                   # raw bytes kept, not truncated


def test_two_receivers_share_the_load_and_store_each_event_once(tmp_path, broker, services):
    cfg_a = write_config(tmp_path / "a.toml", broker,
                         sync={"mqtt_version": "5", "batch_threshold": 100_000,
                               "ack_timeout_s": 2},
                         hq={"client_id": "hq-a", "database": str(tmp_path / "hq.db")})
    cfg_b = write_config(tmp_path / "b.toml", broker,
                         hq={"client_id": "hq-b", "database": str(tmp_path / "hq.db")})
    a = services("hq", cfg_a)
    b = services("hq", cfg_b)
    store = Store.open(load_config(cfg_a))
    add_events(store, 5000)                       # one message per event: many to share
    services("sync", cfg_a)
    wait_until(lambda: store.outbox_status()["pending"] == 0, 90, interval=0.2,
               message="all acknowledged")
    rows = hq_rows(tmp_path / "hq.db", "acme/s1/k1")
    assert (rows["count"], rows["distinct"], rows["min"], rows["max"], rows["gaps"]) == \
        (5000, 5000, 1, 5000, [])
    shares = []
    for svc in (a, b):
        svc.stop()
        stats = json.loads(re.search(r"stopped: (\{.*\})", svc.log_text()).group(1))
        shares.append(stats["inserted"])
    assert sum(shares) == 5000
    assert min(shares) > 500, shares                 # both took a real part of the load


@pytest.mark.slow
def test_a_dead_receiver_in_the_shared_group_delays_but_loses_nothing(tmp_path, broker,
                                                                      services):
    """mosquitto keeps routing a share to the dead member's stored session; the station's
    resend rounds get every event through the live one."""
    cfg_a = write_config(tmp_path / "a.toml", broker,
                         sync={"ack_timeout_s": 1, "batch_threshold": 100_000},
                         hq={"client_id": "hq-a", "database": str(tmp_path / "hq.db")})
    cfg_b = write_config(tmp_path / "b.toml", broker,
                         hq={"client_id": "hq-b", "database": str(tmp_path / "hq.db")})
    services("hq", cfg_a)
    b = services("hq", cfg_b)
    wait_until(lambda: "as hq-b" in broker.log_text(), 10, message="hq-b session")
    time.sleep(1)                                 # its shared subscription is in place
    b.kill()
    store = Store.open(load_config(cfg_a))
    add_events(store, 1000)
    services("sync", cfg_a)
    wait_until(lambda: store.outbox_status()["pending"] == 0, 120, interval=0.2,
               message="all acknowledged through the live receiver")
    rows = hq_rows(tmp_path / "hq.db", "acme/s1/k1")
    assert (rows["count"], rows["distinct"], rows["gaps"], rows["acked_seq"]) == \
        (1000, 1000, [], 1000)
