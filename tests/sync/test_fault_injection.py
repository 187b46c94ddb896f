"""Fault injection: SIGKILLs on a seeded schedule and a broker that drops after PUBACK, then
station and HQ must agree row by row.

A smaller companion of test_chaos.py (which keeps its fixed 100 k-event runs): here the order of
the kills and their timing come from random.Random(SEED), printed so a failing run can be
replayed, and the broker has a queue of 20 messages, so while HQ's session is offline it drops
what it already acknowledged to cx-sync (after PUBACK: only HQ's own mark tells the station).
"""
from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest

from station.config import load_config
from station.store import Store
from sync_testlib import (add_events, hq_rows, mqtt_client, station_vs_hq, stop_timed, wait_until,
                          write_config)
from test_chaos import Writer

pytestmark = pytest.mark.slow

SEED = 20261206
SYS_DROPPED = "$SYS/broker/publish/messages/dropped"


class DropWatch:
    """The broker's drop counter summed over its lives: $SYS restarts at 0 with each process."""

    def __init__(self, broker):
        self._lock = threading.Lock()
        self.banked = self.current = 0
        self.client = mqtt_client(broker, "drop-watch", on_message=self._on_message,
                                  subscribe=[SYS_DROPPED])
        connected = self.client.on_connect

        def on_connect(*args):                 # a reconnect means a new broker process
            with self._lock:
                self.banked, self.current = self.banked + self.current, 0
            connected(*args)

        self.client.on_connect = on_connect

    def _on_message(self, _client, _userdata, message):
        try:
            value = int(message.payload)
        except ValueError:
            return
        with self._lock:
            self.current = max(self.current, value)

    @property
    def total(self) -> int:
        with self._lock:
            return self.banked + self.current

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def test_seeded_kills_and_a_dropping_broker_leave_station_and_hq_equal_row_by_row(
        tmp_path, broker_factory, services):
    rng = random.Random(SEED)
    print(f"\nfault injection: seed {SEED}")
    started = time.monotonic()
    broker = broker_factory(max_queued_messages=20, sys_interval=1)
    cfg = write_config(tmp_path / "station.toml", broker,
                       sync={"ack_timeout_s": 1, "batch_max_events": 100,
                             "health_interval_s": 1})
    config = load_config(cfg)
    store = Store.open(config)
    drops = DropWatch(broker)
    kills = Counter()
    try:
        # HQ's session exists, HQ is gone: the broker keeps 20 messages for it, drops the rest.
        hq = services("hq", cfg)
        wait_until(lambda: "as cx-hq-" in broker.log_text(), 15, message="HQ's session")
        time.sleep(0.5)
        hq.kill()
        kills["cx-hq"] += 1
        add_events(store, 20_000)                                 # the backlog
        sync = services("sync", cfg)
        writer = Writer(config, 20_000, chunk=200, pause=0.15)    # and a live writer
        writer.start()
        wait_until(lambda: "are being dropped" in broker.log_text(), 30, message="broker drops")
        hq.start()

        # Each process killed three times, in an order and at times drawn from the seed.
        targets = ["broker", "cx-sync", "cx-hq"] * 3
        rng.shuffle(targets)
        schedule = [(t, round(rng.uniform(0.5, 2.0), 2), round(rng.uniform(0.05, 1.0), 2))
                    for t in targets]
        print("schedule (target, after s, down s): " + ", ".join(map(str, schedule)))
        for target, after, down in schedule:
            time.sleep(after)
            assert writer.error is None, writer.error
            if target == "broker":
                broker.kill()                      # loses all it held in memory: no snapshot
                time.sleep(down)
                broker.start()
            else:
                svc = sync if target == "cx-sync" else hq
                assert svc.alive, f"{target} died by itself\n{svc.log_text()[-3000:]}"
                svc.kill()
                time.sleep(down)
                svc.start()
            kills[target] += 1
        writer.join(90)
        assert writer.error is None and not writer.is_alive()
        wait_until(lambda: store.outbox_status()["pending"] == 0, 90, interval=0.2,
                   message="the outbox fully acknowledged by HQ")
        drain_s = time.monotonic() - started
    finally:
        drops.close()

    # Row by row: every outbox row at HQ with the same id and data, nothing else, no holes.
    total = store.outbox_status()["last_seq"]
    compared = station_vs_hq(config.database.path, tmp_path / "hq.db", config.station.path)
    rows = hq_rows(tmp_path / "hq.db", config.station.path)
    logged_drops = broker.log_text().count("are being dropped")
    print(f"figures: events {total}, kills {dict(kills)}, broker drops {drops.total} "
          f"($SYS, summed over its lives; {logged_drops} drop notices in its log), "
          f"lost {len(compared['missing'])}, different {len(compared['different'])}, "
          f"extra {len(compared['extra'])}, "
          f"duplicated {compared['duplicate_ids'] + rows['count'] - rows['distinct']} "
          f"(resends HQ absorbed: {rows['duplicates']}), dead letters {rows['dead_letters']}, "
          f"all acknowledged {drain_s:.1f}s after the start")
    assert compared["outbox"] == total == 40_000
    assert (compared["missing"], compared["different"], compared["extra"]) == ([], [], [])
    assert compared["duplicate_ids"] == 0 and compared["unacked"] == 0
    assert (rows["count"], rows["distinct"], rows["min"], rows["max"]) == (total, total, 1, total)
    assert rows["gaps"] == [] and rows["acked_seq"] == total
    assert rows["dead_letters"] == 0
    assert drops.total > 0 or logged_drops > 0
    for svc, name in ((sync, "cx-sync"), (hq, "cx-hq")):
        assert svc.alive, f"{name} died\n{svc.log_text()[-3000:]}"
        rc, took = stop_timed(svc, 10)
        print(f"{name} on SIGTERM: exit {rc} in {took:.2f}s")
        assert rc == 0 and took < 5, f"{name} on SIGTERM: exit {rc} after {took:.1f}s"
