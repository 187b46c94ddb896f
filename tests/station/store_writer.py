"""A real writer process for the store tests, using only the public store API.

    python store_writer.py DB --batches 0 --batch-size 20 --t0 1.8e9 --tag r1   # until killed

Each batch is one `store.transaction()` holding `batch-size` responses (detractors open
cases, half of them resolved at once), as many visits and crossings, and a traffic roll-up.
Every row of batch b carries the tag "<tag>-<b>" (response comment) or the batch's timestamp
(visit entered_at), so a test can check that no batch was committed in part.
"""
from __future__ import annotations

import argparse
import random
import sys
from contextlib import nullcontext

from station.store import Crossing, Response, Store, Visit


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--station", default="acme/hcm-01/kiosk-1")
    ap.add_argument("--batches", type=int, default=0, help="0 = until killed")
    ap.add_argument("--batch-size", type=int, default=20)
    ap.add_argument("--t0", type=float, default=1.8e9)
    ap.add_argument("--step", type=float, default=7.0, help="simulated seconds per batch")
    ap.add_argument("--tag", default="w")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-traffic", action="store_true")
    ap.add_argument("--no-transaction", action="store_true",
                    help="negative control: every write commits on its own")
    args = ap.parse_args()

    store = Store.open_path(args.db, station=args.station)
    rng = random.Random(args.seed)
    print("ready", flush=True)
    b = 0
    while args.batches == 0 or b < args.batches:
        ts = args.t0 + b * args.step
        tag = f"{args.tag}-{b}"
        with (nullcontext() if args.no_transaction else store.transaction()):
            for _ in range(args.batch_size):
                case = store.append_response(Response(nps=rng.randint(0, 10), comment=tag, ts=ts))
                if case and rng.random() < 0.5:
                    store.resolve_case(case, note=tag, at=ts + 60)
            store.append_visits([Visit(entered_at=ts, left_at=ts + rng.uniform(1, 600),
                                       age_bracket="25-34", gender=rng.choice(["female", "male"]))
                                 for _ in range(args.batch_size)])
            if not args.no_traffic:
                store.append_crossings([Crossing(ts + rng.uniform(0, args.step), "door",
                                                 rng.choice(["in", "out"]))
                                        for _ in range(args.batch_size)])
                store.roll_up_traffic(ts - 5)
        b += 1
    store.close()
    print(f"done {b}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
