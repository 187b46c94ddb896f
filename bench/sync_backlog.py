"""Drain a large station backlog through real mosquitto into the HQ database, end to end.

    python bench/sync_backlog.py                  # 1 000 000 events (target >= 20 000 events/s)
    python bench/sync_backlog.py --events 50000 --json
    python bench/sync_backlog.py --compare-versions --events 200000
    python bench/sync_backlog.py --no-normal      # skip the drain with HQ at synchronous=NORMAL

Measures, in one run on this machine:
  * raw SQLite ceiling: INSERT OR IGNORE of the same rows into the HQ events table (batches of
    5 000, WAL, synchronous=NORMAL), no MQTT, no JSON;
  * drain: cx-sync and cx-hq as real processes; the clock runs from cx-sync's start until HQ's
    gap-free mark reaches the last seq (every event committed at HQ), then until the station
    has taken HQ's ack for all of it; CPU seconds of each process from /proc;
  * the same drain and steady state again with HQ's database at synchronous=NORMAL (cx-hq
    commits at FULL, so that an ack means the event is on disk): what durability costs;
  * steady state: after the drain, events written one at a time at --rate per second; latency
    from the outbox row's created_at to HQ's received_at (the flush that commits it), p50/p99;
  * with --compare-versions: one-message-per-event drains on MQTT 3.1.1 and 5 (the per-message
    cost paho pays is where the protocol versions differ).
The CPU is shared with whatever else runs: the figures say so (load average) and give CPU time.
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))     # the same broker/process helpers as tests

from station.config import load_config                # noqa: E402
from station.store import Store                       # noqa: E402
from hq.db import HqDb                            # noqa: E402
from sync_testlib import TRAFFIC, Broker, Service, hq_config_of, write_config   # noqa: E402

STATION = "acme/s1/k1"


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def hq_mark(db_path: Path, station: str = STATION) -> int:
    if not db_path.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
        row = con.execute("SELECT acked_seq FROM stations WHERE station = ?", (station,)).fetchone()
        con.close()
        return row[0] if row else 0
    except sqlite3.Error:
        return 0


def fill(store: Store, n: int, chunk: int = 20_000) -> None:
    for i in range(0, n, chunk):
        store.append_raw_events("traffic", [dict(TRAFFIC, **{"in": (i + j) % 97})
                                            for j in range(min(chunk, n - i))])


def sqlite_ceiling(workdir: Path, n: int) -> float:
    """Rows/s for INSERT OR IGNORE into the HQ events table, the receiver's floor cost."""
    db = HqDb.open(workdir / "ceiling.db")
    data = json.dumps(TRAFFIC, separators=(",", ":"))
    rows = [(STATION, seq, f"id-{seq}", "traffic", "2026-11-23T10:00:00.000Z", 1795428000.0,
             data, 0.0) for seq in range(1, n + 1)]
    start = time.perf_counter()
    for i in range(0, n, 5000):
        db.db.execute("BEGIN IMMEDIATE")
        db.db.executemany("INSERT OR IGNORE INTO events (station, seq, id, type, ts, ts_epoch, "
                          "data, received_at) VALUES (?,?,?,?,?,?,?,?)", rows[i:i + 5000])
        db.db.execute("COMMIT")
    rate = n / (time.perf_counter() - start)
    db.close()
    return rate


def wait_subscribed(broker: Broker, hq_db: Path, timeout: float = 30) -> None:
    """HQ's first session subscribes after it connects: probe with a side station."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-probe")
    client.connect(broker.host, broker.port)
    client.loop_start()
    probe = json.dumps({"v": 1, "station": "bench/probe/p1", "seq": 1, "id": "probe-1",
                        "type": "traffic", "ts": "2026-11-23T10:00:00.000Z", "data": TRAFFIC})
    deadline = time.monotonic() + timeout
    try:
        while hq_mark(hq_db, "bench/probe/p1") < 1:
            if time.monotonic() > deadline:
                raise TimeoutError("cx-hq never subscribed")
            client.publish("cx/v1/bench/probe/p1/traffic", probe, qos=1)
            time.sleep(0.3)
    finally:
        client.disconnect()
        client.loop_stop()


def drain(workdir: Path, events: int, sync_opts: dict, latency_events: int = 0,
          rate: float = 200.0, hq_synchronous: str = "FULL") -> dict:
    workdir.mkdir(parents=True)
    broker = Broker(workdir / "broker").start()
    cfg = write_config(workdir / "station.toml", broker, sync=sync_opts)
    config = load_config(cfg)
    store = Store.open(config, synchronous="NORMAL")
    t = time.perf_counter()
    fill(store, events)
    fill_s = time.perf_counter() - t
    hq_db = workdir / "hq.db"
    if hq_synchronous == "FULL":
        hq = Service("hq", cfg, workdir / "hq.log").start()
    else:
        hq = Service("bench.hq_receiver_at", hq_config_of(cfg), workdir / "hq.log",
                     extra=[hq_synchronous]).start()
    sync = None
    try:
        wait_subscribed(broker, hq_db)
        hq_cpu0 = cpu_seconds(hq.proc.pid)
        start = time.perf_counter()
        sync = Service("sync", cfg, workdir / "sync.log").start()
        while hq_mark(hq_db) < events:
            time.sleep(0.05)
            if not hq.alive or not sync.alive:
                raise RuntimeError("a service died:\n" + hq.log_text()[-2000:] +
                                   sync.log_text()[-2000:])
        committed_s = time.perf_counter() - start
        while store.pending_outbox(after_seq=0, limit=1):
            time.sleep(0.05)
        acked_s = time.perf_counter() - start
        cpu = {"cx_sync": cpu_seconds(sync.proc.pid), "cx_hq": cpu_seconds(hq.proc.pid) - hq_cpu0,
               "mosquitto": cpu_seconds(broker.proc.pid)}
        result = {"events": events, "hq_synchronous": hq_synchronous,
                  "fill_s": round(fill_s, 2),
                  "hq_committed_s": round(committed_s, 2), "station_acked_s": round(acked_s, 2),
                  "events_per_s": round(events / committed_s),
                  "cpu_s": {k: round(v, 2) for k, v in cpu.items()}}
        if latency_events:
            result["latency"] = steady_latency(store, hq_db, latency_events, rate)
        return result
    finally:
        for svc in (sync, hq):
            if svc is not None:
                svc.stop()
        broker.stop()


def steady_latency(store: Store, hq_db: Path, n: int, rate: float) -> dict:
    first = store.outbox_status()["last_seq"] + 1
    interval = 1.0 / rate
    next_at = time.perf_counter()
    for _ in range(n):
        store.append_raw_events("traffic", [TRAFFIC])
        next_at += interval
        time.sleep(max(0.0, next_at - time.perf_counter()))
    last = first + n - 1
    deadline = time.monotonic() + 60
    while hq_mark(hq_db) < last and time.monotonic() < deadline:
        time.sleep(0.05)
    created = dict(store.db.execute(        # read-only look at our own bench database
        "SELECT seq, created_at FROM outbox WHERE seq BETWEEN ? AND ?", (first, last)))
    con = sqlite3.connect(f"file:{hq_db}?mode=ro", uri=True)
    received = dict(con.execute("SELECT seq, received_at FROM events WHERE station = ? AND "
                                "seq BETWEEN ? AND ?", (STATION, first, last)))
    con.close()
    lat = sorted((received[s] - created[s]) * 1000 for s in created if s in received)
    if not lat:
        return {"events": n, "received": 0}
    q = statistics.quantiles(lat, n=100)
    return {"events": n, "received": len(lat), "rate_per_s": rate,
            "p50_ms": round(q[49], 1), "p99_ms": round(q[98], 1), "max_ms": round(lat[-1], 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--mqtt-version", choices=("3.1.1", "5"), default="3.1.1")
    parser.add_argument("--latency-events", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0, help="steady-state events/s")
    parser.add_argument("--ceiling-rows", type=int, default=200_000)
    parser.add_argument("--compare-versions", action="store_true",
                        help="also drain one message per event on 3.1.1 and 5")
    parser.add_argument("--no-normal", action="store_true",
                        help="skip the drain with HQ at synchronous=NORMAL")
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    args = parser.parse_args(argv)
    out = {"load_average_before": os.getloadavg(), "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="cx-sync-bench-") as tmp:
        tmp = Path(tmp)
        out["sqlite_ceiling_rows_per_s"] = round(sqlite_ceiling(tmp, args.ceiling_rows))
        print(f"raw SQLite INSERT OR IGNORE ceiling: {out['sqlite_ceiling_rows_per_s']:,} rows/s")
        out["drain"] = drain(tmp / "drain", args.events,
                             {"mqtt_version": args.mqtt_version, "ack_timeout_s": 60},
                             args.latency_events, args.rate)
        d = out["drain"]
        print(f"drain {d['events']:,} events (MQTT {args.mqtt_version}, batches, HQ at "
              f"synchronous=FULL): "
              f"{d['events_per_s']:,} events/s, HQ committed all in {d['hq_committed_s']} s, "
              f"station acked in {d['station_acked_s']} s; CPU s {d['cpu_s']}")
        if "latency" in d:
            lat = d["latency"]
            print(f"steady state {lat.get('rate_per_s')}/s: event -> HQ commit p50 "
                  f"{lat.get('p50_ms')} ms, p99 {lat.get('p99_ms')} ms")
        if not args.no_normal:
            out["drain_hq_normal"] = n = drain(
                tmp / "drain-normal", args.events,
                {"mqtt_version": args.mqtt_version, "ack_timeout_s": 60},
                args.latency_events, args.rate, hq_synchronous="NORMAL")
            lat = n.get("latency", {})
            print(f"the same with HQ at synchronous=NORMAL (not durable): "
                  f"{n['events_per_s']:,} events/s, HQ committed all in {n['hq_committed_s']} s; "
                  f"steady state p50 {lat.get('p50_ms')} ms, p99 {lat.get('p99_ms')} ms; "
                  f"FULL costs {1 - d['events_per_s'] / n['events_per_s']:.0%} of throughput")
        if args.compare_versions:
            n = min(args.events, 50_000)
            out["single_event_messages"] = {}
            for version in ("3.1.1", "5"):
                r = drain(tmp / f"single-{version}", n,
                          {"mqtt_version": version, "batch_threshold": 10 ** 9,
                           "ack_timeout_s": 60})
                out["single_event_messages"][version] = r
                print(f"one message per event, MQTT {version}: {r['events_per_s']:,} events/s "
                      f"(CPU s {r['cpu_s']})")
    out["load_average_after"] = os.getloadavg()
    print(f"load average before/after: {out['load_average_before']} / "
          f"{out['load_average_after']} on {out['cpus']} CPUs (shared machine: noisy)")
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
