"""Write speed of the station store, beside raw sqlite3 in the same run.

    python bench/store_write.py [--responses 2000] [--batches 200] [--batch-size 1000] [--json]

1. Latency of one survey-response commit through `Store.append_response` (response row +
   outbox row, synchronous=FULL, WAL): p50/p99 (target p99 <= 20 ms on the 2-core box).
   Reference: a raw sqlite3 INSERT + COMMIT of one row with the same pragmas.
2. Batched vision events through `Store.append_crossings` (one transaction per batch, the way
   cx-vision writes) in rows/s, beside raw sqlite3 executemany of the same rows.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from station.kpi import percentile
from station.store import Crossing, Response, Store


def response_latency(path: Path, count: int) -> list[float]:
    store = Store.open_path(path, station="bench/store/kiosk", synchronous="FULL")
    times = []
    for i in range(count):
        response = Response(nps=i % 11, csat=(i % 5) + 1, reasons=["wait"], language="vi")
        start = time.perf_counter()
        store.append_response(response)
        times.append((time.perf_counter() - start) * 1000)
    store.close()
    return times


def raw_single_commit(path: Path, count: int) -> list[float]:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE r (id INTEGER PRIMARY KEY, ts REAL, nps INTEGER, payload TEXT)")
    times = []
    for i in range(count):
        start = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO r (ts, nps, payload) VALUES (?,?,?)", (time.time(), i % 11, "x" * 300))
        db.execute("COMMIT")
        times.append((time.perf_counter() - start) * 1000)
    db.close()
    return times


def crossings_rate(path: Path, batches: int, size: int) -> float:
    store = Store.open_path(path, station="bench/store/kiosk", synchronous="NORMAL")
    now = time.time()
    rows = [Crossing(now + i * 0.01, "entrance", "in" if i % 2 else "out", f"v{i}")
            for i in range(size)]
    start = time.perf_counter()
    for _ in range(batches):
        store.append_crossings(rows)
    elapsed = time.perf_counter() - start
    store.close()
    return batches * size / elapsed


def raw_executemany_rate(path: Path, batches: int, size: int) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, ts REAL, line TEXT, direction TEXT, "
               "visit_id TEXT)")
    now = time.time()
    rows = [(now + i * 0.01, "entrance", "in" if i % 2 else "out", f"v{i}") for i in range(size)]
    start = time.perf_counter()
    for _ in range(batches):
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO c (ts, line, direction, visit_id) VALUES (?,?,?,?)", rows)
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return batches * size / elapsed


def summary(times: list[float]) -> dict:
    return {"p50_ms": round(statistics.median(times), 3), "p99_ms": round(percentile(times, 99), 3),
            "max_ms": round(max(times), 3), "n": len(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--dir", type=Path, default=None,
                        help="where to put the test databases (default: a temp dir; use the "
                             "station's real disk for honest fsync figures)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        tmp = Path(tmp)
        ours = summary(response_latency(tmp / "store.db", args.responses))
        raw = summary(raw_single_commit(tmp / "raw.db", args.responses))
        rate = crossings_rate(tmp / "store2.db", args.batches, args.batch_size)
        raw_rate = raw_executemany_rate(tmp / "raw2.db", args.batches, args.batch_size)
    result = {
        "response_commit": ours, "raw_sqlite_single_commit": raw,
        "response_p99_target_ms": 20, "response_p99_within_target": ours["p99_ms"] <= 20,
        "vision_rows_per_s": round(rate), "raw_executemany_rows_per_s": round(raw_rate),
        "vision_vs_raw": round(rate / raw_rate, 3), "batch_size": args.batch_size,
    }
    print(f"survey response commit (response + outbox, synchronous=FULL): p50 {ours['p50_ms']} ms, "
          f"p99 {ours['p99_ms']} ms, max {ours['max_ms']} ms over {ours['n']} (target p99 <= 20 ms)")
    print(f"  raw sqlite3 single-row commit, same pragmas: p50 {raw['p50_ms']} ms, "
          f"p99 {raw['p99_ms']} ms")
    print(f"batched vision events ({args.batch_size}/transaction): {rate:,.0f} rows/s; "
          f"raw sqlite3 executemany: {raw_rate:,.0f} rows/s ({100 * rate / raw_rate:.0f} %)")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
