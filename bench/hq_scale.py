"""HQ at chain scale: 1 000 simulated stations -> real mosquitto -> `cx-hq run` processes, on
SQLite and on PostgreSQL, in one run.

    python bench/hq_scale.py                        # the default, a couple of minutes here
    python bench/hq_scale.py --json                 # last line: one JSON object
    python bench/hq_scale.py --stations 1000 --events 200000 --rate 2000 --steady-s 60

Each simulated station has its own id (org/store/station) and seq stream, and a realistic mix
of event types (per-minute traffic, visits, survey answers, cases, alerts, targets) built with
the station's own records and envelopes (station/events.py, sync/envelope.py), sent as single
events or batches of 2..100 as cx-sync sends them. The stations publish from one MQTT client
(QoS 1), HQ's acks come back on the stations' ack topics.

Scenarios, each on a fresh broker and a fresh database:
  * 1 receiver + SQLite, 1 receiver + PostgreSQL, 2 receivers + PostgreSQL (one shared
    subscription): a drain of --events published as fast as the client can (events/s: first
    publish to the last station's ack), then --steady-s seconds at --rate events/s
    (event -> durable commit: publish to the ack whose mark passes the event; the receiver
    publishes an ack only after COMMIT, so this includes the commit's fsync);
  * 2 receivers + PostgreSQL with one of them SIGKILLed every --kill-every-s seconds and
    restarted (as systemd would), the drain paced at --rate; stations resend what is not
    acked after --resend-s, as cx-sync does after its ack timeout.
After each: every event stored exactly once (count = distinct (station, seq) = published),
every station's mark at its last seq with no gap. PostgreSQL runs with its durable defaults
(fsync, synchronous_commit on); SQLite at synchronous=FULL, as cx-hq always commits.
The CPU is shared with whatever else runs: the figures give the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "hq"))

import paho.mqtt.client as paho                                  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion                   # noqa: E402

from station import events                                       # noqa: E402
from sync.envelope import batch_payload                          # noqa: E402
from sync_testlib import Broker, Service                         # noqa: E402
from pg_server import PgServer                                   # noqa: E402

PREFIX = "cx/v1"
MIX = [("traffic", 0.58), ("visit", 0.25), ("response", 0.12), ("case", 0.03),
       ("alert", 0.015), ("target", 0.005)]
REASONS = ("wait", "stock", "staff", "clean", "faster")


# -- the simulated stations ------------------------------------------------------------------
class SimStation:
    def __init__(self, path: str, rng: random.Random):
        self.path = path
        self.rng = rng
        self.seq = 0
        self.docs: dict[int, str] = {}       # seq -> envelope JSON (kept for resends)

    def event(self, now: float) -> str:
        self.seq += 1
        type_ = self.rng.choices([t for t, _ in MIX], [w for _, w in MIX])[0]
        t = now - self.rng.uniform(0, 3600)
        doc = events.envelope(self.path, self.seq, str(uuid.uuid4()), type_, t,
                              self._data(type_, t))
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        self.docs[self.seq] = text
        return text

    def _data(self, type_: str, t: float) -> dict:
        r, at = self.rng, events.rfc3339(t)
        if type_ == "traffic":
            return events.Traffic(minute=at, line="entrance", entries=r.randint(0, 12),
                                  exits=r.randint(0, 12), entrance=True).to_data()
        if type_ == "visit":
            return events.Visit(visit_id=str(uuid.uuid4()), entered_at=at,
                                left_at=events.rfc3339(t + r.uniform(30, 1500)),
                                dwell={"kiosk": round(r.uniform(0, 60), 1),
                                       "shelf": round(r.uniform(0, 300), 1)},
                                age_bracket=r.choice(("18-24", "25-34", "35-44", None)),
                                age_confidence=0.8, gender=r.choice(("female", "male", None)),
                                gender_confidence=0.9, views=r.randint(0, 5)).to_data()
        if type_ == "response":
            nps = r.randint(0, 10)
            return events.Response(response_id=str(uuid.uuid4()), nps=nps,
                                   csat=r.randint(1, 5), ces=r.randint(1, 7),
                                   reasons=tuple(r.sample(REASONS, r.randint(0, 2))),
                                   comment=None, language=r.choice(("vi", "en")),
                                   complete=True, presence="no_presence",
                                   visit_id=None).to_data()
        if type_ == "case":
            return events.Case(case_id=str(uuid.uuid4()), status="opened",
                               response_id=str(uuid.uuid4()), nps=r.randint(0, 6),
                               opened_at=at).to_data()
        if type_ == "alert":
            return events.Alert(alert_id=str(uuid.uuid4()), kind="queue", severity="info",
                                subject="till-1", state="open", first_seen=at, last_seen=at,
                                count=1, context={}).to_data()
        return events.Target(kpi="nps", value=r.choice((30, 40, 50)), direction="higher",
                             period="week", source="config", changed_at=at).to_data()

    def messages(self, n: int, now: float) -> list[tuple[str, bytes, list[int]]]:
        """n new events as cx-sync sends them: mostly one per message, sometimes a batch."""
        out = []
        while n > 0:
            size = 1 if self.rng.random() < 0.8 else min(n, self.rng.randint(2, 100))
            texts = [self.event(now) for _ in range(size)]
            seqs = list(range(self.seq - size + 1, self.seq + 1))
            if size == 1:
                doc_type = json.loads(texts[0])["type"]
                out.append((events.topic(PREFIX, self.path, doc_type), texts[0].encode(), seqs))
            else:
                out.append((events.topic(PREFIX, self.path, "batch"), batch_payload(texts),
                            seqs))
            n -= size
        return out

    def resend_after(self, mark: int) -> list[tuple[str, bytes, list[int]]]:
        seqs = [s for s in range(mark + 1, self.seq + 1)]
        out = []
        for i in range(0, len(seqs), 100):
            chunk = seqs[i:i + 100]
            out.append((events.topic(PREFIX, self.path, "batch"),
                        batch_payload([self.docs[s] for s in chunk]), chunk))
        return out


def make_stations(n: int, seed: int) -> list[SimStation]:
    rng = random.Random(seed)
    return [SimStation(f"org{i // 100:02d}/store{i:04d}/k{1 + i % 2}", random.Random(rng.random()))
            for i in range(n)]


def spread(stations: list[SimStation], total: int, now: float, rng: random.Random) -> list:
    """`total` new events over the stations (busier stores send more), in a shuffled order."""
    weights = [rng.uniform(0.3, 2.0) for _ in stations]
    counts = [0] * len(stations)
    for i in rng.choices(range(len(stations)), weights, k=total):
        counts[i] += 1
    messages = []
    for station, n in zip(stations, counts):
        for m in station.messages(n, now) if n else []:
            messages.append((station, m))
    # each station's own messages keep their order (its outbox order); stations interleave
    rng.shuffle(messages)
    per: dict[str, list] = {}
    for station, m in messages:
        per.setdefault(station.path, []).append(m)
    for lst in per.values():
        lst.sort(key=lambda m: m[2][0])
    cursor = {path: iter(lst) for path, lst in per.items()}
    return [(station, next(cursor[station.path])) for station, _m in messages]


# -- MQTT side -------------------------------------------------------------------------------
class Acks:
    """HQ's acks as the stations see them: per station the mark, and when each published
    seq was first passed by it."""

    def __init__(self, broker: Broker):
        self.lock = threading.Lock()
        self.marks: dict[str, int] = {}
        self.progress_at: dict[str, float] = {}
        self.pending: dict[str, list] = {}        # station -> [(seq, published_at)] in order
        self.latencies: list[float] = []
        self.record = False
        self.client = paho.Client(CallbackAPIVersion.VERSION2,
                                  client_id=f"acks-{uuid.uuid4().hex[:6]}")
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: c.subscribe(f"{PREFIX}/+/+/+/ack", 1)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def published(self, station: str, seqs: list[int], at: float) -> None:
        with self.lock:
            self.pending.setdefault(station, []).extend((s, at) for s in seqs)
            self.progress_at.setdefault(station, at)     # the resend clock starts here

    def _on_message(self, _c, _u, message) -> None:
        now = time.perf_counter()
        station = message.topic[len(PREFIX) + 1:].rsplit("/", 1)[0]
        try:
            mark = json.loads(message.payload)["acked_seq"]
        except (ValueError, KeyError, TypeError):
            return
        with self.lock:
            if mark > self.marks.get(station, 0):
                self.marks[station] = mark
                self.progress_at[station] = now
            pending = self.pending.get(station)
            if not pending:
                return
            i = 0
            while i < len(pending) and pending[i][0] <= mark:
                if self.record:
                    self.latencies.append(now - pending[i][1])
                i += 1
            del pending[:i]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publisher(broker: Broker) -> paho.Client:
    client = paho.Client(CallbackAPIVersion.VERSION2,
                         client_id=f"stations-{uuid.uuid4().hex[:6]}")
    client.max_inflight_messages_set(0)
    client.max_queued_messages_set(0)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def publish(client, acks: Acks, batch: list, rate: float | None) -> None:
    """Publish (station, message) pairs; `rate` paces them in events/s (None: flat out)."""
    start = time.perf_counter()
    sent = 0
    for station, (topic, payload, seqs) in batch:
        if rate:
            due = start + sent / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
        acks.published(station.path, seqs, time.perf_counter())
        client.publish(topic, payload, qos=1)
        sent += len(seqs)


# -- HQ side ---------------------------------------------------------------------------------
def hq_config(path: Path, broker: Broker, db: str | Path) -> Path:
    where = f'url = "{db}"' if isinstance(db, str) else f'path = "{db}"'
    path.write_text(f'[hq]\nname = "hq"\nbroker_host = "{broker.host}"\n'
                    f"broker_port = {broker.port}\n\n[database]\n{where}\n\n"
                    f'[logging]\nlevel = "WARNING"\n', encoding="utf-8")
    return path


def wait_subscribed(client, acks: Acks, n_receivers: int, broker: Broker,
                    timeout: float = 60) -> None:
    """Every receiver connected, and the group answers a probe station."""
    deadline = time.monotonic() + timeout
    while broker.log_text().count(" as cx-hq-") < n_receivers:
        if time.monotonic() > deadline:
            raise TimeoutError("the receivers never connected:\n" + broker.log_text()[-2000:])
        time.sleep(0.1)
    probe = SimStation("bench/probe/p1", random.Random(1))
    while acks.marks.get(probe.path, 0) < probe.seq or probe.seq == 0:
        if time.monotonic() > deadline:
            raise TimeoutError("HQ never acked the probe")
        for topic, payload, _seqs in probe.messages(1, time.time()):
            client.publish(topic, payload, qos=1)
        time.sleep(0.3)
    time.sleep(1.0)       # every member's shared subscription in place


def wait_marks(stations, acks: Acks, client, timeout: float, resend_s: float) -> int:
    """Until every station's mark reaches its last seq; resend after `resend_s` without
    progress (as cx-sync does after its ack timeout). Returns the messages resent."""
    deadline = time.monotonic() + timeout
    resent = 0
    last_resend: dict[str, float] = {}
    while True:
        now = time.perf_counter()
        behind = [s for s in stations if acks.marks.get(s.path, 0) < s.seq]
        if not behind:
            return resent
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(behind)} stations never acked in full, e.g. "
                               f"{behind[0].path} at {acks.marks.get(behind[0].path, 0)} "
                               f"of {behind[0].seq}")
        for s in behind:
            since = max(acks.progress_at.get(s.path, 0), last_resend.get(s.path, 0))
            if since and now - since > resend_s:
                for topic, payload, _seqs in s.resend_after(acks.marks.get(s.path, 0)):
                    client.publish(topic, payload, qos=1)
                    resent += 1
                last_resend[s.path] = now
        time.sleep(0.05)


def verify(config: Path, stations) -> dict:
    """Exactly once and gap-free, read back from the HQ database."""
    from hq.config import load_hq_config
    from hq.views import open_database
    db = open_database(load_hq_config(config))
    try:
        count, distinct = db.execute(
            "SELECT count(*), count(DISTINCT station || '/' || CAST(seq AS TEXT)) FROM events "
            "WHERE station <> 'bench/probe/p1'").fetchone()
        marks = {s: (a, m) for s, a, m in db.execute(
            "SELECT station, acked_seq, max_seq FROM stations")}
        gaps = db.execute("SELECT count(*) FROM gaps").fetchone()[0]
        dead = db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
    finally:
        db.close()
    expected = sum(s.seq for s in stations)
    # a station that sent nothing (possible in a short run) has no row at HQ
    wrong = [s.path for s in stations if marks.get(s.path, (0, 0)) != (s.seq, s.seq)]
    return {"published": expected, "stored": count, "distinct": distinct, "gaps": gaps,
            "dead_letters": dead, "stations_with_wrong_mark": len(wrong),
            "exactly_once": count == distinct == expected, "marks_gap_free": not wrong and not gaps}


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def scenario(name: str, workdir: Path, backend: str, receivers: int, args, pg: PgServer | None,
             kill_every_s: float | None = None) -> dict:
    workdir.mkdir(parents=True)
    broker = Broker(workdir / "broker").start()
    db = pg.new_database(name.replace("-", "_")) if backend == "postgresql" else \
        workdir / "hq.db"
    config = hq_config(workdir / "bench-hq.toml", broker, db)   # Service wants *-hq.toml
    services = [Service("hq", config, workdir / f"hq{i}.log").start() for i in range(receivers)]
    acks = Acks(broker)
    client = publisher(broker)
    rng = random.Random(args.seed)
    stations = make_stations(args.stations, args.seed)
    kills = 0
    stop_killing = threading.Event()
    try:
        wait_subscribed(client, acks, receivers, broker)
        # the drain: flat out (or paced, while receivers are being killed)
        batch = spread(stations, args.events, time.time(), rng)
        killer = None
        if kill_every_s:
            def kill_loop():
                nonlocal kills
                i = 0
                while not stop_killing.wait(kill_every_s):
                    victim = services[i % receivers]
                    victim.kill()                          # SIGKILL
                    kills += 1
                    services[i % receivers] = Service("hq", config, workdir /
                                                      f"hq-restart{kills}.log").start()
                    i += 1
            killer = threading.Thread(target=kill_loop, daemon=True)
            killer.start()
        acks.record = False
        start = time.perf_counter()
        publish(client, acks, batch, args.rate if kill_every_s else None)
        published_s = time.perf_counter() - start
        resent = wait_marks(stations, acks, client, args.timeout_s, args.resend_s)
        drain_s = time.perf_counter() - start
        stop_killing.set()
        if killer:
            killer.join()
        result = {"scenario": name, "backend": backend, "receivers": receivers,
                  "stations": len(stations), "drain_events": args.events,
                  "drain_messages": len(batch), "publish_s": round(published_s, 2),
                  "drain_s": round(drain_s, 2), "events_per_s": round(args.events / drain_s),
                  "resent_messages": resent}
        if kill_every_s:
            result["sigkills"] = kills
        else:
            # the steady state: --rate events/s for --steady-s, latency to the durable ack
            n = int(args.rate * args.steady_s)
            steady = spread(stations, n, time.time(), rng)
            acks.latencies.clear()
            acks.record = True
            publish(client, acks, steady, args.rate)
            wait_marks(stations, acks, client, args.timeout_s, args.resend_s)
            lat = acks.latencies
            result.update({"steady_rate_per_s": args.rate, "steady_events": n,
                           "latency_p50_ms": round(1000 * statistics.median(lat), 1),
                           "latency_p99_ms": round(1000 * percentile(lat, 0.99), 1),
                           "latency_samples": len(lat)})
        result["check"] = verify(config, stations)
        return result
    finally:
        stop_killing.set()
        client.disconnect()
        client.loop_stop()
        acks.close()
        for svc in services:
            svc.stop()
        broker.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--events", type=int, default=10_000, help="events in each drain")
    parser.add_argument("--rate", type=float, default=500.0,
                        help="events/s of the steady state and of the drain under kills")
    parser.add_argument("--steady-s", type=float, default=8.0)
    parser.add_argument("--kill-every-s", type=float, default=3.0)
    parser.add_argument("--resend-s", type=float, default=5.0,
                        help="a station resends what is not acked after this long")
    parser.add_argument("--timeout-s", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--only", choices=("sqlite-1", "pg-1", "pg-2", "pg-2-kill"),
                        action="append", help="run only these scenarios")
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    args = parser.parse_args(argv)
    out = {"load_average_before": os.getloadavg(), "cpus": os.cpu_count(),
           "args": vars(args), "scenarios": []}
    plan = [("sqlite-1", "sqlite", 1, None), ("pg-1", "postgresql", 1, None),
            ("pg-2", "postgresql", 2, None), ("pg-2-kill", "postgresql", 2, args.kill_every_s)]
    plan = [p for p in plan if not args.only or p[0] in args.only]
    with tempfile.TemporaryDirectory(prefix="cx-hq-scale-") as tmp:
        pg = PgServer(durable=True).start() if any(p[1] == "postgresql" for p in plan) else None
        try:
            for name, backend, receivers, kill in plan:
                r = scenario(name, Path(tmp) / name, backend, receivers, args, pg, kill)
                out["scenarios"].append(r)
                c = r["check"]
                line = (f"{name:10} {receivers} receiver(s) + {backend:10}: drain "
                        f"{r['drain_events']:,} events / {r['drain_messages']:,} messages from "
                        f"{r['stations']} stations: {r['events_per_s']:,} events/s")
                if "latency_p50_ms" in r:
                    line += (f"; steady {r['steady_rate_per_s']:.0f}/s: event -> durable commit "
                             f"p50 {r['latency_p50_ms']} ms, p99 {r['latency_p99_ms']} ms")
                if "sigkills" in r:
                    line += f"; {r['sigkills']} SIGKILLs, {r['resent_messages']} messages resent"
                line += (f"; exactly once: {c['exactly_once']}, marks gap-free: "
                         f"{c['marks_gap_free']}")
                print(line, flush=True)
        finally:
            if pg is not None:
                pg.stop()
    out["load_average_after"] = os.getloadavg()
    print(f"load average before/after: {out['load_average_before']} / "
          f"{out['load_average_after']} on {out['cpus']} CPUs (shared machine: noisy)")
    ok = all(r["check"]["exactly_once"] and r["check"]["marks_gap_free"]
             for r in out["scenarios"])
    if args.json:
        print(json.dumps(out))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
