"""cx-hq run against real mosquitto (hq/receiver.py): bad input, shared load."""
from __future__ import annotations

import json
import random
import re
import time
import uuid

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hq.config import load_hq_config
from station.config import load_config
from station.store import Store
from sync_testlib import (add_events, hq_config_of, hq_count, hq_rows, wait_until,
                          write_config)

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
    kept, size = con.execute("SELECT length(payload), size FROM dead_letters "
                             "ORDER BY size DESC LIMIT 1").fetchone()
    assert size > 70_000 and kept == 64 * 1024             # the first 64 KB and the size


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


def stopped_stats(svc) -> dict:
    return json.loads(re.search(r"stopped: (\{.*\})", svc.log_text()).group(1))


def test_an_unstorable_event_is_dead_lettered_alone_and_hq_stops_on_sigterm(tmp_path, broker,
                                                                            services):
    """A lone surrogate escape passes json.loads but no database stores it; it used to stall
    HQ for every station, for good, and make it deaf to SIGTERM."""
    cfg = write_config(tmp_path / "hq.toml", broker)
    hq = services("hq", cfg)
    pub = publisher(broker)
    db = tmp_path / "hq.db"
    other = "acme/s2/k1"
    try:
        first = json.dumps(envelope(1)).encode()
        wait_until(lambda: pub.publish("cx/v1/acme/s1/k9/response", first, qos=1) and
                   hq_count(db, GOOD) == 1, 20, interval=0.3, message="receiver subscribed")
        poison = json.dumps(envelope(2, data={"nps": 3, "comment": "\ud800"})).encode()
        assert b"\\ud800" in poison
        pub.publish("cx/v1/acme/s1/k9/response", poison, qos=1)
        batch = [envelope(3), envelope(4, data={"nps": 1, "\udfff": 2}), envelope(5)]
        pub.publish("cx/v1/acme/s1/k9/batch", json.dumps(batch).encode(), qos=1)
        for seq in range(1, 4):
            pub.publish(f"cx/v1/{other}/response",
                        json.dumps(envelope(seq, station=other)).encode(), qos=1)
        wait_until(lambda: hq_count(db, other) == 3 and hq_count(db, GOOD) == 3, 20,
                   message="the other events stored")
        rows = hq_rows(db, GOOD)
        assert rows["station_dead_letters"] == 2 and rows["acked_seq"] == 1
        assert rows["gaps"] == [(2, 2), (4, 4)]       # the station resends those, if it can
        assert hq_rows(db, other)["acked_seq"] == 3
    finally:
        pub.disconnect()
        pub.loop_stop()
    started = time.monotonic()
    assert hq.stop(timeout=10) == 0 and time.monotonic() - started < 5
    import sqlite3
    reasons = [r for (r,) in sqlite3.connect(db).execute("SELECT reason FROM dead_letters")]
    assert sum("surrogate" in r for r in reasons) == 2


def test_a_row_the_database_refuses_is_isolated_and_the_rest_is_committed(tmp_path, broker):
    """Whatever the envelope checks miss, the database has the last word: the flush is split
    until the refused row stands alone, and only that row becomes a dead letter."""
    from hq.db import HqDb
    from hq.receiver import Receiver
    cfg = write_config(tmp_path / "hq.toml", broker)
    config = load_hq_config(hq_config_of(cfg))
    db = HqDb.open(tmp_path / "hq.db")
    db.db.execute("CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.data LIKE '%poison%' "
                  "BEGIN SELECT RAISE(ABORT, 'refused by policy'); END")
    receiver = Receiver(config, db=db)
    batch = []
    for seq in range(1, 41):
        data = {"nps": 5, "comment": "poison" if seq in (7, 31) else "fine"}
        batch.append(("cx/v1/acme/s1/k9/response", json.dumps(envelope(seq, data=data)).encode(),
                      seq, 1, 0, frozenset({1})))
    batch.append(("cx/v1/acme/s1/k9/status", b"online", 99, 1, 0, frozenset({1})))
    receiver.flush(batch)
    assert receiver.stats["isolated"] == 2 and receiver.stats["inserted"] == 38
    assert db.gaps(GOOD) == [(7, 7), (31, 31)]
    reasons = [r for (r,) in db.db.execute("SELECT reason FROM dead_letters")]
    assert len(reasons) == 2 and all("refused by policy" in r for r in reasons)
    assert db.db.execute("SELECT status FROM stations WHERE station = ?",
                         (GOOD,)).fetchone()[0] == "online"


def test_a_locked_database_is_retried_without_acking_and_stop_is_honoured(tmp_path, broker):
    import sqlite3
    import threading
    from hq.db import HqDb
    from hq.receiver import Receiver
    config = load_hq_config(hq_config_of(write_config(tmp_path / "hq.toml", broker)))
    receiver = Receiver(config, db=HqDb.open(tmp_path / "hq.db", busy_timeout_ms=50))
    blocker = sqlite3.connect(tmp_path / "hq.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    stop = threading.Event()
    receiver._stop = stop
    flushing = threading.Thread(target=receiver.flush, args=([(
        "cx/v1/acme/s1/k9/response", json.dumps(envelope(1)).encode(), 1, 1, 0,
        frozenset({1}))],))
    flushing.start()
    wait_until(lambda: receiver.stats["commit_errors"] >= 2, 10, message="retries")
    assert flushing.is_alive()                           # waits for the database, acks nothing
    stop.set()
    flushing.join(3)
    assert not flushing.is_alive() and receiver.stats["messages"] == 0
    blocker.execute("ROLLBACK")


def test_bad_status_and_health_are_dead_lettered_once_whatever_the_receivers(tmp_path, broker,
                                                                             services):
    """They match the shared subscription and each receiver's plain one: only the shared copy,
    which one receiver of the group gets, may dead-letter them."""
    hq_db = str(tmp_path / "hq.db")
    receivers = [services("hq", write_config(tmp_path / f"{n}.toml", broker,
                                             hq={"database": hq_db})) for n in "ab"]
    pub = publisher(broker)
    probe = json.dumps(envelope(1)).encode()
    wait_until(lambda: pub.publish("cx/v1/acme/s1/k9/response", probe, qos=1) and
               hq_count(hq_db, GOOD) == 1, 20, interval=0.3, message="receivers subscribed")
    time.sleep(1)                                            # both in the group
    pub.publish("cx/v1/acme/s1/k9/status", b"maybe", qos=1, retain=True)
    pub.publish("cx/v1/acme/s1/k9/health", b"[" * 100_000, qos=1, retain=True)
    pub.publish("cx/v1/acme/s1/k9/health", b'{"backlog": 0}', qos=1)
    wait_until(lambda: hq_rows(hq_db, GOOD)["station_dead_letters"] >= 2, 10,
               message="dead letters")
    time.sleep(1.5)
    assert hq_rows(hq_db, GOOD)["station_dead_letters"] == 2
    assert all(r.alive for r in receivers)
    pub.disconnect()
    pub.loop_stop()


def test_two_receivers_started_with_one_config_take_distinct_sessions(tmp_path, broker,
                                                                      services):
    """They used to share one client id and take the session from each other every ~0.4 s."""
    cfg = write_config(tmp_path / "hq.toml", broker)
    a, b = services("hq", cfg), services("hq", cfg)
    wait_until(lambda: broker.log_text().count("as cx-hq-") >= 2, 15, message="two sessions")
    time.sleep(3)
    ids = set(re.findall(r" as (cx-hq-\S+) ", broker.log_text()))
    assert len(ids) == 2 and all(i.endswith(("-0", "-1")) for i in ids), ids
    assert "already connected, closing old connection" not in broker.log_text()
    assert a.alive and b.alive
    a.stop()
    a.start()                                   # a restart takes its old session back
    wait_until(lambda: broker.log_text().count("as cx-hq-") >= 3, 15, message="reconnected")
    assert set(re.findall(r" as (cx-hq-\S+) ", broker.log_text())) == ids


def test_another_hq_acking_on_the_same_broker_is_reported_at_start(tmp_path, broker,
                                                                   services):
    cfg = write_config(tmp_path / "hq.toml", broker)
    services("hq", cfg)
    pub = publisher(broker)
    probe = json.dumps(envelope(1)).encode()
    wait_until(lambda: pub.publish("cx/v1/acme/s1/k9/response", probe, qos=1) and
               hq_count(tmp_path / "hq.db", GOOD) == 1, 20, interval=0.3,
               message="the real HQ acked a station")
    pub.disconnect()
    pub.loop_stop()
    stray = services("hq", write_config(tmp_path / "test" / "hq.toml", broker,
                                        hq={"name": "test-hq"}))
    wait_until(lambda: "another HQ, named 'hq'" in stray.log_text(), 15,
               message="the stray HQ warned about the real one")
    assert stray.alive


def test_receiver_run_raises_and_stops_feeding_the_watchdog_once_its_network_thread_ended(
        tmp_path, broker, monkeypatch):
    """As for cx-sync (see test_station_sender): the installed on_message swapped for one that
    raises, so the exception leaves a real paho loop; cx-hq must exit, not sit deaf."""
    import threading
    from hq.receiver import Receiver
    from sync_testlib import watchdog_feeds
    feeds = watchdog_feeds(tmp_path / "notify.sock", monkeypatch)
    receiver = Receiver(load_hq_config(hq_config_of(write_config(tmp_path / "hq.toml",
                                                                  broker))))
    stop, ended = threading.Event(), {}

    def run():
        try:
            receiver.run(stop)
        except Exception as exc:                        # noqa: BLE001 (what the test checks)
            ended["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    pub = publisher(broker)
    try:
        probe = json.dumps(envelope(1)).encode()
        wait_until(lambda: pub.publish("cx/v1/acme/s1/k9/response", probe, qos=1) and
                   hq_count(tmp_path / "hq.db", GOOD) == 1 and feeds, 20, interval=0.3,
                   message="receiving, and feeding the watchdog")

        def not_total(client, userdata, message):
            raise RuntimeError("a callback that is not total")

        receiver.client.on_message = not_total
        crashed = time.monotonic()
        pub.publish("cx/v1/acme/s1/k9/response", json.dumps(envelope(2)).encode(), qos=1)
        thread.join(10)
        assert not thread.is_alive() and "network thread ended" in str(ended["error"])
        time.sleep(2.5)
        assert not [t for t in feeds if t > crashed + 0.5]
    finally:
        stop.set()
        thread.join(10)
        pub.disconnect()
        pub.loop_stop()
