"""cx-sync end to end against real mosquitto (sync/station_sender.py)."""
from __future__ import annotations

import json
import logging
import threading
import time

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from station.config import load_config
from station.store import Response, Store
from sync.station_sender import Sender
from sync_testlib import (add_events, hq_count, hq_rows, wait_until, watchdog_feeds,
                          write_config)

STATION = "acme/s1/k1"


class Observer:
    """A plain subscriber that records every message under the prefix (a tap on the wire)."""

    def __init__(self, broker, topic="cx/v1/#"):
        self.messages: list[tuple[str, bytes, bool]] = []
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="observer")
        self.client.on_message = lambda c, u, m: self.messages.append((m.topic, m.payload,
                                                                        m.retain))
        self.client.connect(broker.host, broker.port)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()

    def on(self, suffix):
        return [m for m in self.messages if m[0].endswith("/" + suffix)]


def fake_hq(broker, client_id="fake-hq"):
    """A plain client that publishes acks as HQ would, to script what the sender hears."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def hq_ack(acked_seq: int, hq: str = "hq", **fields) -> str:
    """An ack as the HQ named `hq` publishes it (the station trusts "hq" by default)."""
    return json.dumps({"acked_seq": acked_seq, **fields, "hq": hq})


def run_sender(config):
    """A Sender on its own thread and store; the store returned is another connection to the
    same file, for the test's thread (one sqlite3 connection must not serve two threads)."""
    sender = Sender(config, Store.open(config))
    store = Store.open(config)
    stop = threading.Event()
    thread = threading.Thread(target=sender.run, args=(stop,), daemon=True)
    thread.start()
    return sender, store, stop, thread


@pytest.mark.parametrize("version", ["3.1.1", "5"])
def test_responses_reach_hq_once_and_hq_ack_marks_the_outbox(tmp_path, broker, services,
                                                            version):
    cfg = write_config(tmp_path / "station.toml", broker,
                       sync={"mqtt_version": version, "health_interval_s": 1,
                             "ack_timeout_s": 2})
    store = Store.open(load_config(cfg))
    for nps in range(11):
        store.append_response(Response(nps=nps, csat=3))
    services("hq", cfg)
    services("sync", cfg)
    wait_until(lambda: store.outbox_status()["pending"] == 0, 30, message="HQ's ack")
    rows = hq_rows(tmp_path / "hq.db")
    # 11 responses, 7 detractor cases and the one detractor alert counting all 7
    last = store.outbox_status()["last_seq"]
    assert last == 19
    assert (rows["count"], rows["min"], rows["max"], rows["gaps"]) == (19, 1, 19, [])
    assert rows["acked_seq"] == 19 and rows["status"] == "online"


def test_puback_alone_never_marks_a_row_delivered(tmp_path, broker):
    cfg = write_config(tmp_path / "station.toml", broker, sync={"ack_timeout_s": 1})
    config = load_config(cfg)
    sender, store, stop, thread = run_sender(config)
    try:
        add_events(store, 50)
        wait_until(lambda: sender.stats["published_events"] >= 50, 10, message="publish")
        time.sleep(1.0)                                # PUBACKs are in; no HQ is listening
        assert store.outbox_status()["pending"] == 50
        assert sender.stats["rewinds"] >= 1            # it kept trying from HQ's mark (0)
    finally:
        stop.set()
        thread.join(10)


@pytest.mark.parametrize("gaps, more, resent", [
    ([[3, 3], [7, 8]], False, {3, 7, 8}),    # HQ lists its holes: only those go again
    ([[3, 3], [5, 5]], True, {3, 5, 6, 7, 8, 9, 10}),   # ...the first ones: then all after
    (None, False, set(range(3, 11))),        # an older HQ names its mark alone: all after it
])
def test_a_resend_after_the_ack_timeout_sends_only_the_holes_hq_lists(tmp_path, broker, gaps,
                                                                      more, resent):
    cfg = write_config(tmp_path / "station.toml", broker, sync={"ack_timeout_s": 1})
    config = load_config(cfg)
    sender, store, stop, thread = run_sender(config)
    observer = Observer(broker, f"cx/v1/{STATION}/traffic")
    hq = fake_hq(broker)
    try:
        add_events(store, 10)
        wait_until(lambda: len(observer.messages) >= 10, 10, message="first sends")
        ack = {"max_seq": 10, "id": store.outbox_id(2)}
        if gaps is not None:
            ack["gaps"] = gaps
        if more:
            ack["gaps_more"] = True
        hq.publish(f"cx/v1/{STATION}/ack", hq_ack(2, **ack), qos=1, retain=True).wait_for_publish(5)
        wait_until(lambda: store.outbox_status()["last_acked_seq"] == 2, 10, message="mark 2")
        # A round from before the ack (HQ silent: everything again) may still be on the wire;
        # the first round after it starts a full ack timeout (1 s) after the mark moved.
        time.sleep(0.3)
        before, rounds = len(observer.messages), sender.stats["rewinds"]
        wait_until(lambda: sender.stats["rewinds"] >= rounds + 2, 10, message="two rounds")
        time.sleep(0.3)                              # the second round's messages arrive
        again = {json.loads(p)["seq"] for _, p, _ in observer.messages[before:]}
        assert again == resent
        assert (sender.stats["selective_rewinds"] > 0) == (gaps is not None)
    finally:
        stop.set()
        thread.join(10)
        observer.close()
        hq.publish(f"cx/v1/{STATION}/ack", b"", qos=1, retain=True).wait_for_publish(5)
        hq.disconnect()
        hq.loop_stop()


def test_an_ack_with_malformed_gaps_is_ignored_whole(tmp_path, broker):
    cfg = write_config(tmp_path / "station.toml", broker, sync={"ack_timeout_s": 60})
    config = load_config(cfg)
    sender, store, stop, thread = run_sender(config)
    hq = fake_hq(broker)
    try:
        add_events(store, 10)
        wait_until(lambda: sender.stats["published_events"] >= 10, 10, message="sends")
        for bad in ([[2, 3]], [[5, 4]], [[4, 12]], [[6, 7], [5, 5]], "4-5", [[4, True]]):
            ack = hq_ack(2, max_seq=10, id=store.outbox_id(2), gaps=bad)
            hq.publish(f"cx/v1/{STATION}/ack", ack, qos=1).wait_for_publish(5)
        ack = hq_ack(4, max_seq=10, id=store.outbox_id(4), gaps=[[5, 9]])
        hq.publish(f"cx/v1/{STATION}/ack", ack, qos=1).wait_for_publish(5)
        # the good one after them is taken; the bad ones (before it on the same topic) are not
        wait_until(lambda: store.outbox_status()["last_acked_seq"] == 4, 10, message="mark 4")
        assert sender.window.hq.acks == 1 and sender.window.hq.gaps == (4, ((5, 9),), False)
    finally:
        stop.set()
        thread.join(10)
        hq.disconnect()
        hq.loop_stop()


def test_a_brand_new_hq_gets_what_the_broker_dropped_without_waiting_out_the_backoff(
        tmp_path, broker, services):
    """Events sent before HQ's first subscription are lost by the broker; the backed-off
    timeout (8 s here) must not decide when they arrive once HQ is up."""
    cfg = write_config(tmp_path / "station.toml", broker, sync={"ack_timeout_s": 1})
    config = load_config(cfg)
    sender, store, stop, thread = run_sender(config)
    try:
        add_events(store, 20)
        wait_until(lambda: sender.stats["rewinds"] >= 3, 15, message="three silent rounds")
        assert sender.window.ack_timeout == 8           # 1 -> 2 -> 4 -> 8: HQ was silent
        started = time.monotonic()
        services("hq", cfg)
        wait_until(lambda: store.outbox_status()["pending"] == 0, 20, interval=0.1,
                   message="all acknowledged by the new HQ")
        # HQ's start and first commit take ~2 s here; the backed-off round was 8 s away
        assert time.monotonic() - started < 6
        assert hq_rows(tmp_path / "hq.db")["count"] == 20
    finally:
        stop.set()
        thread.join(10)


def test_small_backlog_goes_singly_and_large_backlog_in_bounded_batches(tmp_path, broker):
    cfg = write_config(tmp_path / "station.toml", broker,
                       sync={"batch_threshold": 100, "batch_max_events": 50,
                             "batch_max_bytes": 8192, "ack_timeout_s": 60})
    config = load_config(cfg)
    observer = Observer(broker)
    store = Store.open(config)
    add_events(store, 20)
    sender, _, stop, thread = run_sender(config)
    try:
        wait_until(lambda: len(observer.on("traffic")) >= 20, 10, message="singles")
        assert observer.on("batch") == []
        add_events(store, 2000)
        wait_until(lambda: sum(len(json.loads(p)) for _, p, _ in observer.on("batch")) +
                   len(observer.on("traffic")) >= 2020, 20, message="batches")
    finally:
        stop.set()
        thread.join(10)
        observer.close()
    batches = [json.loads(p) for _, p, _ in observer.on("batch")]
    assert batches and all(len(b) <= 50 for b in batches)
    assert all(len(p) <= 8192 for _, p, _ in observer.on("batch"))
    for batch in batches:                               # consecutive seqs inside a batch
        seqs = [e["seq"] for e in batch]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_status_is_retained_online_then_offline_by_last_will_on_sigkill(tmp_path, broker,
                                                                     services):
    cfg = write_config(tmp_path / "station.toml", broker, sync={"health_interval_s": 1})
    sync = services("sync", cfg)
    observer = Observer(broker, "cx/v1/acme/s1/k1/+")
    try:
        wait_until(lambda: any(p == b"online" for _, p, _ in observer.on("status")), 15,
                   message="birth")
        wait_until(lambda: observer.on("health"), 15, message="health")
        health = json.loads(observer.on("health")[-1][1])
        for key in ("backlog", "oldest_unacked_age_s", "last_acked_seq", "disk_free_bytes",
                    "versions"):
            assert key in health
        sync.kill()
        wait_until(lambda: observer.on("status")[-1][1] == b"offline", 15, message="will")
    finally:
        observer.close()
    late = Observer(broker, "cx/v1/acme/s1/k1/status")   # a newcomer sees the retained value
    try:
        wait_until(lambda: late.messages, 5, message="retained status")
        assert late.messages[-1][1:] == (b"offline", True)
    finally:
        late.close()


def test_new_events_are_not_blocked_behind_a_large_backlog(tmp_path, broker, services):
    cfg = write_config(tmp_path / "station.toml", broker, sync={"ack_timeout_s": 2})
    store = Store.open(load_config(cfg))
    add_events(store, 30_000)
    services("hq", cfg)
    services("sync", cfg)
    wait_until(lambda: hq_count(tmp_path / "hq.db") > 0, 30, message="drain starts")
    store.append_response(Response(nps=10))
    seq = store.outbox_status()["last_seq"]
    wait_until(lambda: hq_rows(tmp_path / "hq.db")["acked_seq"] >= seq, 60,
               message="the new response behind 30 000 events")
    wait_until(lambda: store.outbox_status()["pending"] == 0, 10, message="station marks")


def test_a_mark_beyond_our_last_seq_moves_our_events_after_it_instead_of_skipping_them(
        tmp_path, broker):
    """A station whose database was replaced must not trust HQ's old, higher mark, nor reuse
    the seqs HQ holds: its events are renumbered to follow them (no HQ here to confirm)."""
    cfg = write_config(tmp_path / "station.toml", broker, sync={"ack_timeout_s": 60})
    config = load_config(cfg)
    pub = paho.Client(CallbackAPIVersion.VERSION2, client_id="old-hq")
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    pub.publish(f"cx/v1/{STATION}/ack", hq_ack(500), qos=1,
                retain=True).wait_for_publish(5)
    pub.disconnect()
    pub.loop_stop()
    store = Store.open(config)
    add_events(store, 10)
    observer = Observer(broker, f"cx/v1/{STATION}/traffic")
    sender, store, stop, thread = run_sender(config)
    try:
        wait_until(lambda: len(observer.messages) >= 10, 10, message="sent after renumbering")
        time.sleep(0.5)
        sent = [json.loads(payload)["seq"] for _, payload, _ in observer.messages]
        assert sent == list(range(501, 511))           # nothing went out under a reused seq
        assert sender.stats["renumbered"] == 1
        assert store.outbox_status()["pending"] == 10   # HQ's old mark acked none of them
        assert [e.seq for e in store.pending_outbox()] == list(range(501, 511))
    finally:
        observer.close()
        stop.set()
        thread.join(10)


@pytest.mark.parametrize("new_events", [40, 130], ids=["fewer", "more"])
def test_a_replaced_station_database_reaches_hq_whole_after_the_old_one(tmp_path, broker,
                                                                        services, new_events):
    """The old database sent 100 events; a new one under the same station id holds fewer or
    more than that before it first connects. HQ keeps the old 100 and gets every new event,
    none dead-lettered as a seq conflict, none marked delivered that HQ does not hold."""
    cfg = write_config(tmp_path / "station.toml", broker, sync={"ack_timeout_s": 2})
    config = load_config(cfg)
    store = Store.open(config)
    add_events(store, 100)
    services("hq", cfg)
    first = services("sync", cfg)
    wait_until(lambda: store.outbox_status()["pending"] == 0, 30, message="old database sent")
    first.stop()
    store.close()
    for suffix in ("", "-wal", "-shm"):
        config.database.path.with_name(config.database.path.name + suffix).unlink(missing_ok=True)
    store = Store.open(config)                          # a fresh disk, the same config
    for nps in range(new_events):
        store.append_response(Response(nps=nps % 11))   # detractors add a case event each
    total = 100 + store.outbox_status()["last_seq"]
    services("sync", cfg)
    wait_until(lambda: store.outbox_status()["pending"] == 0, 30, message="new database sent")
    rows = hq_rows(tmp_path / "hq.db")
    assert rows["count"] == rows["distinct"] == total
    assert (rows["min"], rows["max"], rows["acked_seq"]) == (1, total, total)
    assert rows["dead_letters"] == 0 and rows["gaps"] == []
    import sqlite3
    con = sqlite3.connect(tmp_path / "hq.db")
    try:
        assert con.execute("SELECT count(*) FROM events WHERE type = 'response'"
                           ).fetchone()[0] == new_events
    finally:
        con.close()


def test_a_station_database_restored_from_a_backup_loses_and_doubles_nothing(tmp_path, broker,
                                                                             services):
    """The backup holds 40 events HQ got later, and HQ holds 20 the backup never saw. After
    the restore, 10 new events: HQ ends with each event once, none dead-lettered."""
    import shutil
    import sqlite3
    cfg = write_config(tmp_path / "station.toml", broker, sync={"ack_timeout_s": 2})
    config = load_config(cfg)
    path = config.database.path
    services("hq", cfg)

    def drain():
        sync = services("sync", cfg)
        wait_until(lambda: store.outbox_status()["pending"] == 0, 30, message="drained")
        sync.stop()

    store = Store.open(config)
    add_events(store, 60)
    drain()
    add_events(store, 40)
    store.close()
    shutil.copy(path, tmp_path / "backup.db")        # closed cleanly: no -wal to copy
    store = Store.open(config)
    drain()
    add_events(store, 20)                            # HQ gets these; the backup never will
    drain()
    store.close()
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    shutil.copy(tmp_path / "backup.db", path)
    store = Store.open(config)
    add_events(store, 10)
    drain()
    con = sqlite3.connect(tmp_path / "hq.db")
    try:
        ids = [row[0] for row in con.execute("SELECT id FROM events")]
    finally:
        con.close()
    rows = hq_rows(tmp_path / "hq.db")
    assert len(ids) == len(set(ids)) == 60 + 40 + 20 + 10
    assert rows["dead_letters"] == 0 and rows["gaps"] == []
    assert rows["acked_seq"] == rows["max"] == store.outbox_status()["last_seq"]
    station_ids = {row[0] for row in store.db.execute("SELECT id FROM outbox")}
    assert station_ids <= set(ids)                  # everything the backup holds is at HQ


def test_health_reports_the_backlog_and_an_empty_one_at_once_after_the_drain(tmp_path, broker,
                                                                             services):
    cfg = write_config(tmp_path / "station.toml", broker,
                       sync={"health_interval_s": 3600, "ack_timeout_s": 2})
    store = Store.open(load_config(cfg))
    add_events(store, 3000)
    observer = Observer(broker, "cx/v1/acme/s1/k1/health")
    try:
        services("hq", cfg)
        services("sync", cfg)
        wait_until(lambda: observer.messages, 15, message="first health")
        assert json.loads(observer.messages[0][1])["backlog"] == 3000
        wait_until(lambda: json.loads(observer.messages[-1][1])["backlog"] == 0, 30,
                   message="health after the drain, long before the hourly one")
    finally:
        observer.close()


HOSTILE_ACKS = [
    b"[" * 100_000,                                     # RecursionError in json.loads
    b'{"hq": "hq", "acked_seq": 1, "gaps": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    b"not json", b"\xff\xfe\x00garbage", b"", b"null", b"[1, 2]", b'"hq"',
    json.dumps({"acked_seq": 10 ** 4000, "hq": "hq"}).encode(),   # no SQLite INTEGER holds it
    json.dumps({"acked_seq": 2, "max_seq": 2 ** 63, "hq": "hq"}).encode(),
    b'{"acked_seq": "\\udfff", "hq": "hq"}',            # lone surrogates, as JSON allows
    b'{"acked_seq": 3, "hq": "hq", "id": "\\ud800"}',
    b'{"acked_seq": 3, "hq": "\\ud800"}',
    json.dumps({"acked_seq": 3, "hq": "hq", "gaps": [[[[1]]]]}).encode(),
    json.dumps({"acked_seq": {"a": 1}, "hq": ["hq"]}).encode(),
]


def test_hostile_acks_neither_stop_cx_sync_nor_its_delivery(tmp_path, broker, services):
    """Whatever arrives on the ack topic, retained or not, cx-sync keeps delivering to the
    real HQ and still stops cleanly on SIGTERM."""
    cfg = write_config(tmp_path / "station.toml", broker,
                       sync={"ack_timeout_s": 1, "health_interval_s": 1})
    store = Store.open(load_config(cfg))
    services("hq", cfg)
    sync = services("sync", cfg)
    hostile = fake_hq(broker, "hostile")
    health = Observer(broker, f"cx/v1/{STATION}/health")
    topic = f"cx/v1/{STATION}/ack"

    def counted(health):
        data = json.loads(health)
        return data["malformed_acks"], data["foreign_acks"]

    def delivered(n):
        add_events(store, n)
        wait_until(lambda: store.outbox_status()["pending"] == 0, 30, message="HQ's ack")
        assert sync.alive, sync.log_text()

    try:
        delivered(10)
        for payload in HOSTILE_ACKS:
            hostile.publish(topic, payload, qos=1).wait_for_publish(5)
        delivered(10)
        wait_until(lambda: counted(health.messages[-1][1]) == (12, 2), 10,
                   message="every hostile ack counted")
        assert sync.stop() == 0, sync.log_text()
        # retained: the next cx-sync gets it the moment it subscribes
        hostile.publish(topic, HOSTILE_ACKS[0], qos=1, retain=True).wait_for_publish(5)
        sync = services("sync", cfg)
        delivered(10)
        assert sync.stop() == 0, sync.log_text()
        assert "ignoring a malformed ack" in sync.log_text()
    finally:
        hostile.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        hostile.disconnect()
        hostile.loop_stop()
        health.close()
    rows = hq_rows(tmp_path / "hq.db")
    assert (rows["count"], rows["min"], rows["max"], rows["gaps"]) == (30, 1, 30, [])
    assert "Traceback" not in sync.log_text()


def test_acks_of_another_hq_move_nothing_and_renumber_nothing(tmp_path, broker, services,
                                                              caplog):
    """A test HQ on the same broker (or an HQ too old to name itself) acks seqs this station
    has, and one it has not: nothing is marked delivered, nothing renumbered, each name is
    logged once; the trusted HQ's acks then work as ever."""
    cfg = write_config(tmp_path / "station.toml", broker, sync={"ack_timeout_s": 1})
    config = load_config(cfg)
    caplog.set_level(logging.WARNING, logger="cx-sync")
    sender, store, stop, thread = run_sender(config)
    stranger = fake_hq(broker, "test-hq")
    topic = f"cx/v1/{STATION}/ack"
    try:
        add_events(store, 10)
        wait_until(lambda: sender.stats["published_events"] >= 10, 10, message="sends")
        stranger.publish(topic, hq_ack(50, hq="test-hq", max_seq=50, id="not-our-event"),
                         qos=1, retain=True).wait_for_publish(5)
        for seq in (5, 10):
            ack = hq_ack(seq, hq="test-hq", max_seq=seq, id=store.outbox_id(seq))
            stranger.publish(topic, ack, qos=1).wait_for_publish(5)
        old = json.dumps({"acked_seq": 10, "max_seq": 10, "id": store.outbox_id(10)})
        stranger.publish(topic, old, qos=1).wait_for_publish(5)
        time.sleep(1.0)                                 # delivered, and many main-loop rounds
        assert store.outbox_status()["pending"] == 10 and sender.stats["renumbered"] == 0
        assert [e.seq for e in store.pending_outbox()] == list(range(1, 11))
        wait_until(lambda: sender.stats["foreign_acks"] == 4, 10, message="foreign acks")
        warned = [r.getMessage() for r in caplog.records if "acks from HQ" in r.getMessage()]
        assert len(warned) == 2 and "'test-hq'" in warned[0] and "None" in warned[1]
        assert sender.health(True)["foreign_acks"] == 4
        services("hq", cfg)
        wait_until(lambda: store.outbox_status()["pending"] == 0, 30, message="our HQ's ack")
    finally:
        stop.set()
        thread.join(10)
        stranger.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
        stranger.disconnect()
        stranger.loop_stop()
    rows = hq_rows(tmp_path / "hq.db")
    assert (rows["count"], rows["min"], rows["max"], rows["acked_seq"]) == (10, 1, 10, 10)


def test_run_raises_and_stops_feeding_the_watchdog_once_the_network_thread_ended(
        tmp_path, broker, monkeypatch):
    """The sender's callbacks are total, so nothing a broker sends ends its network thread.
    To see what run() does if something does anyway (a bug in paho, a BaseException), the
    test swaps the installed on_message for one that raises and sends it a message: paho and
    mosquitto stay real, and the exception leaves paho's loop as any other would."""
    feeds = watchdog_feeds(tmp_path / "notify.sock", monkeypatch)
    cfg = write_config(tmp_path / "station.toml", broker)
    sender = Sender(load_config(cfg), Store.open(load_config(cfg)))
    stop, ended = threading.Event(), {}

    def run():
        try:
            sender.run(stop)
        except Exception as exc:                        # noqa: BLE001 (what the test checks)
            ended["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    crashed = []

    def not_total(client, userdata, message):
        crashed.append(time.monotonic())
        raise RuntimeError("a callback that is not total")

    hq = fake_hq(broker)
    try:
        wait_until(lambda: sender._connected and feeds, 10, message="fed while it runs")
        sender.client.on_message = not_total
        hq.publish(f"cx/v1/{STATION}/ack", hq_ack(0), qos=1).wait_for_publish(5)
        thread.join(10)
        assert not thread.is_alive(), "run() went on without its network thread"
        error = ended["error"]
        assert isinstance(error, RuntimeError) and "network thread ended" in str(error)
        assert str(error.__cause__) == "a callback that is not total"
        time.sleep(2.5)                                 # the watchdog is fed once a second
        assert feeds and not [t for t in feeds if t > crashed[0] + 0.5]
    finally:
        stop.set()
        thread.join(10)
        hq.disconnect()
        hq.loop_stop()


def test_an_event_forged_under_our_name_at_a_future_seq_loses_none_of_ours(tmp_path, broker,
                                                                           services):
    """Someone publishes a well-formed event under this station's name at a seq it has not
    reached (only the broker ACL prevents that). HQ stores it first and then refuses ours
    there; it used to let its mark pass that seq, so the station marked its own event
    delivered while HQ held the forgery. Now the mark waits, names the event HQ holds, and
    the station moves its pending events past HQ's seqs."""
    cfg = write_config(tmp_path / "station.toml", broker, sync={"ack_timeout_s": 2})
    config = load_config(cfg)
    services("hq", cfg)
    hq_db = tmp_path / "hq.db"
    forger = fake_hq(broker, client_id="forger")
    forged = {"v": 1, "station": STATION, "seq": 5, "id": "forged-5", "type": "traffic",
              "ts": "2026-11-23T10:00:00.000Z", "data": {"line": "door", "in": 9, "out": 0}}
    wait_until(lambda: forger.publish(f"cx/v1/{STATION}/traffic", json.dumps(forged), qos=1)
               and hq_count(hq_db) == 1, 20, interval=0.3, message="HQ stored the forgery")
    sender, store, stop, thread = run_sender(config)
    try:
        add_events(store, 10)
        ours = {store.outbox_id(s) for s in range(1, 11)}
        wait_until(lambda: store.outbox_status()["pending"] == 0, 30, message="all acknowledged")
        import sqlite3
        held = dict(sqlite3.connect(hq_db).execute("SELECT id, seq FROM events"))
        assert ours <= set(held) and held["forged-5"] == 5
        assert sender.stats["conflicts"] == 1 and sender.stats["renumbered"] == 1
        rows = hq_rows(hq_db)
        assert rows["gaps"] == [] and rows["acked_seq"] == store.outbox_status()["last_seq"]
    finally:
        stop.set()
        thread.join(10)
        forger.disconnect()
        forger.loop_stop()


def test_a_conflict_on_our_own_event_is_settled_by_resending_it(tmp_path, broker):
    """HQ holds our event at the disputed seq (the forgery came second): we resend ours."""
    cfg = write_config(tmp_path / "station.toml", broker, sync={"ack_timeout_s": 60})
    config = load_config(cfg)
    observer = Observer(broker, f"cx/v1/{STATION}/traffic")
    sender, store, stop, thread = run_sender(config)
    hq = fake_hq(broker)
    try:
        add_events(store, 6)
        wait_until(lambda: len(observer.messages) >= 6, 10, message="first sends")
        ack = hq_ack(3, max_seq=6, id=store.outbox_id(3), gaps=[],
                     conflict=[4, store.outbox_id(4)])
        hq.publish(f"cx/v1/{STATION}/ack", ack, qos=1).wait_for_publish(5)
        wait_until(lambda: [json.loads(p)["seq"] for _, p, _ in observer.messages[6:]] == [4],
                   10, message="seq 4 resent alone")
        assert store.outbox_status()["last_acked_seq"] == 3 and sender.stats["renumbered"] == 0
    finally:
        stop.set()
        thread.join(10)
        observer.close()
        hq.disconnect()
        hq.loop_stop()
