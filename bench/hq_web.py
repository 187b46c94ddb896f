"""How fast the HQ dashboard answers, on an HQ database of many simulated stores.

    python bench/hq_web.py [--stores 40] [--responses 150] [--visits 300] [--requests 20] [--json]

1. Builds the HQ database from real station stores (station.simulate over 28 days, delivered
   through the receiver's own checks: tests/hq/hq_sample.py, the tests' builder).
2. Cold: the figures of the stores page and of one store page computed from the database
   (hq/web/data.py), p50 of 5 runs each: what one refresh costs the server.
3. Through HTTP: a real uvicorn server, logged in, each page and the live endpoint requested
   --requests times: p50 and p99 in ms (the stores' figures are shared for half a refresh
   period, so this is what a reader waits for).
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "hq")]

import requests                                        # noqa: E402

import hq_sample                                       # noqa: E402
from web_server import serving                         # noqa: E402
from hq.config import load_hq_config                   # noqa: E402
from hq.web import data                                # noqa: E402
from hq.web.app import create_app                      # noqa: E402
from station.kpi import percentile                     # noqa: E402
from station.pin import hash_secret                    # noqa: E402
from station.simulate import simulate                  # noqa: E402

PASSWORD = "bench-password-1"


def build(tmp: Path, stores: int, responses: int, visits: int) -> Path:
    hq = hq_sample.new_hq_db(tmp / "hq.db")
    for i in range(stores):
        store, config = hq_sample.station_store(tmp, "acme", f"s{i:03d}", "kiosk-1")
        simulate(store, config, responses=responses, visits=visits, days=28, seed=i,
                 now=hq_sample.NOW)
        hq_sample.copy_outbox(store, hq, health={"backlog": 0, "vision": {"fps": 10.0}})
        store.close()
        (tmp / f"acme-s{i:03d}-kiosk-1.db").unlink()
    hq.close()
    config = hq_sample.hq_config(tmp, tmp / "hq.db")
    config.write_text(config.read_text(encoding="utf-8") +
                      f'[web]\n[[web.users]]\nusername = "bench"\npassword_hash = '
                      f'"{hash_secret(PASSWORD)}"\n', encoding="utf-8")
    return config


def cold(config, runs: int = 5) -> dict:
    out = {}
    for name, figures in (("stores_page_figures", lambda db: data.overview(db, config,
                                                                          hq_sample.NOW)),
                          ("store_page_figures", lambda db: data.store_detail(
                              db, config, "acme/s000", hq_sample.NOW))):
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            db = data.open_db(config)
            figures(db)
            db.close()
            times.append((time.perf_counter() - start) * 1000)
        out[name] = round(statistics.median(times), 1)
    return out


def http(config, count: int) -> dict:
    out = {}
    with serving(create_app(config, clock=lambda: hq_sample.NOW)) as base:
        session = requests.Session()
        token = re.search(r'name="csrf" value="([^"]+)"',
                          session.get(base + "/login").text).group(1)
        session.post(base + "/login", data={"csrf": token, "username": "bench",
                                            "password": PASSWORD})
        for path in ("/", "/chain", "/store/acme/s000", "/api/live?page=stores"):
            times = []
            for _ in range(count):
                start = time.perf_counter()
                response = session.get(base + path)
                times.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            out[path] = {"p50_ms": round(percentile(times, 50), 1),
                         "p99_ms": round(percentile(times, 99), 1)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=40)
    parser.add_argument("--responses", type=int, default=150, help="per store")
    parser.add_argument("--visits", type=int, default=300, help="per store")
    parser.add_argument("--requests", type=int, default=20, help="per page")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        config = load_hq_config(build(Path(tmp), args.stores, args.responses, args.visits))
        built_s = time.perf_counter() - start
        db = data.open_db(config)
        events = db.execute("SELECT count(*) FROM events").fetchone()[0]
        db.close()
        result = {"stores": args.stores, "events": events, "build_s": round(built_s, 1),
                  "cold_ms": cold(config), "http": http(config, args.requests)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['stores']} stores, {events:,} events in the HQ database "
              f"(built in {result['build_s']} s)")
        for name, ms in result["cold_ms"].items():
            print(f"  {name:<22} {ms:>8.1f} ms (computed from the database)")
        for path, t in result["http"].items():
            print(f"  GET {path:<24} p50 {t['p50_ms']:>7.1f} ms   p99 {t['p99_ms']:>7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
