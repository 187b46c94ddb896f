"""Several `cx-hq run` processes on one PostgreSQL, with real mosquitto and a real cx-sync:
each event stored once, every mark gap-free, even with a receiver SIGKILLed mid-stream."""
from __future__ import annotations

import time

import psycopg
import pytest

from station.config import load_config
from station.store import Store
from sync_testlib import add_events, hq_config_of, wait_until, write_config

STATION = "acme/s1/k1"
N = 20_000         # events in the killing test: a stream that outlasts three kills


def pg_hq_config(tmp_path, broker, url, name, sync=None):
    """A station config and its HQ twin whose [database] names PostgreSQL."""
    cfg = write_config(tmp_path / f"{name}.toml", broker, sync=sync,
                       hq={"client_id": "hq", "database": str(tmp_path / "unused.db")})
    hq = hq_config_of(cfg)
    hq.write_text(hq.read_text() + f'url = "{url}"\n')
    return cfg


def pg_rows(url, station=STATION) -> dict:
    with psycopg.connect(url) as con:
        count, distinct, lo, hi = con.execute(
            "SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM events "
            "WHERE station = %s", (station,)).fetchone()
        gaps = con.execute("SELECT from_seq, to_seq FROM gaps WHERE station = %s",
                           (station,)).fetchall()
        acked = con.execute("SELECT acked_seq FROM stations WHERE station = %s",
                            (station,)).fetchone()
    return {"count": count, "distinct": distinct, "min": lo, "max": hi, "gaps": gaps,
            "acked_seq": acked[0] if acked else 0}


def shares(services_started) -> list[int]:
    import json
    import re
    out = []
    for svc in services_started:
        found = re.findall(r"stopped: (\{.*\})", svc.log_text())
        out.append(sum(json.loads(f)["inserted"] for f in found))
    return out


def test_two_receivers_on_one_postgresql_store_each_event_once(tmp_path, broker, services,
                                                               pg_url):
    cfg = pg_hq_config(tmp_path, broker, pg_url, "st",
                       sync={"mqtt_version": "5", "batch_threshold": 100_000,
                             "ack_timeout_s": 2})
    a, b = services("hq", cfg), services("hq", cfg)
    # one config, two processes: two slots, two sessions (the advisory lock keeps them apart)
    wait_until(lambda: "hq-" in broker.log_text() and broker.log_text().count(" as hq-") >= 2,
               20, message="both receivers connected")
    store = Store.open(load_config(cfg))
    add_events(store, 3000)                        # one message per event: many to share
    services("sync", cfg)
    wait_until(lambda: store.outbox_status()["pending"] == 0, 120, interval=0.2,
               message="all acknowledged")
    rows = pg_rows(pg_url)
    assert (rows["count"], rows["distinct"], rows["min"], rows["max"], rows["gaps"],
            rows["acked_seq"]) == (3000, 3000, 1, 3000, [], 3000)
    a.stop()
    b.stop()
    split = shares([a, b])
    assert sum(split) == 3000 and min(split) > 300, split      # both took a real part


@pytest.mark.slow
def test_a_receiver_sigkilled_mid_stream_loses_nothing_and_stalls_nothing(tmp_path, broker,
                                                                          services, pg_url):
    cfg = pg_hq_config(tmp_path, broker, pg_url, "st",
                       sync={"mqtt_version": "5", "batch_threshold": 200,
                             "batch_max_events": 20, "ack_timeout_s": 2})
    services("hq", cfg)
    victim = services("hq", cfg)
    wait_until(lambda: broker.log_text().count(" as hq-") >= 2, 20, message="both connected")
    store = Store.open(load_config(cfg))
    add_events(store, N)
    services("sync", cfg)
    wait_until(lambda: pg_rows(pg_url)["count"] > 0, 30, message="the stream started")
    kills = 0
    while kills < 3 and store.outbox_status()["pending"]:
        victim.kill()                             # SIGKILL: no goodbye, no last commit
        kills += 1
        victim = services("hq", cfg)              # systemd would restart it
        time.sleep(0.7)
    assert kills >= 2, "the stream ended before the second kill: raise N"
    wait_until(lambda: store.outbox_status()["pending"] == 0, 120, interval=0.2,
               message="all acknowledged after the kills")
    rows = pg_rows(pg_url)
    assert (rows["count"], rows["distinct"], rows["min"], rows["max"], rows["gaps"],
            rows["acked_seq"]) == (N, N, 1, N, [], N)


def response_message(seq, comment="fine"):
    import json
    import uuid
    doc = {"v": 1, "station": "acme/s1/k9", "seq": seq, "id": str(uuid.uuid4()),
           "type": "response", "ts": "2026-11-23T10:00:00.000Z",
           "data": {"nps": 5, "comment": comment}}
    return ("cx/v1/acme/s1/k9/response", json.dumps(doc).encode(), seq, 1, 0, frozenset({1}))


def in_process_receiver(tmp_path, broker, url):
    from hq.config import load_hq_config
    from hq.db import HqDb
    from hq.receiver import Receiver
    config = load_hq_config(hq_config_of(pg_hq_config(tmp_path, broker, url, "st")))
    db = HqDb.for_config(config.database)
    return Receiver(config, db=db), db


def test_a_row_postgresql_refuses_is_isolated_and_the_rest_is_committed(tmp_path, broker,
                                                                         pg_url):
    receiver, db = in_process_receiver(tmp_path, broker, pg_url)
    db.db.execute("ALTER TABLE events ADD CONSTRAINT no_poison "
                  "CHECK (data ->> 'comment' IS DISTINCT FROM 'poison')")
    receiver.flush([response_message(s, "poison" if s in (7, 31) else "fine")
                    for s in range(1, 41)])
    assert receiver.stats["isolated"] == 2 and receiver.stats["inserted"] == 38
    assert db.gaps("acme/s1/k9") == [(7, 7), (31, 31)]
    reasons = [r for (r,) in db.db.execute("SELECT reason FROM dead_letters")]
    assert len(reasons) == 2 and all("no_poison" in r for r in reasons)
    db.close()


def test_a_dropped_database_connection_is_retried_and_nothing_is_lost(tmp_path, broker, pg_url):
    """The server restarts or a network cut drops the receiver's connection: the commit fails
    (nothing acknowledged), the receiver connects again and commits the same flush."""
    receiver, db = in_process_receiver(tmp_path, broker, pg_url)
    pid = db.db.execute("SELECT pg_backend_pid()").fetchone()[0]
    with psycopg.connect(pg_url, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
    receiver.flush([response_message(s) for s in range(1, 6)])
    assert receiver.stats["commit_errors"] >= 1 and receiver.stats["inserted"] == 5
    assert db.marks() == {"acme/s1/k9": 5}
    assert db.db.execute("SELECT pg_backend_pid()").fetchone()[0] != pid
    db.close()
