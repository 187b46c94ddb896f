"""HQ databases filled with real station events, for the analyst-side tests (stats, export, report).

Events are produced by the real station store (`Store` + `station.simulate`), so their data
fields are exactly what stations send; the envelopes are then written into an HQ database with
the contract schema (design: events / stations / gaps / dead_letters).
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from station.config import parse_config
from station.simulate import simulate
from station.store import Crossing, Response, Store, Visit

HQ_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (station TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT,
    type TEXT, ts TEXT, ts_epoch REAL, data TEXT, received_at REAL, PRIMARY KEY (station, seq));
CREATE TABLE IF NOT EXISTS stations (station TEXT PRIMARY KEY, acked_seq INTEGER, max_seq INTEGER,
    received INTEGER, duplicates INTEGER, dead_letters INTEGER, first_seen REAL, last_seen REAL,
    status TEXT, status_at REAL, health TEXT);
CREATE TABLE IF NOT EXISTS gaps (station TEXT, from_seq INTEGER, to_seq INTEGER,
    PRIMARY KEY (station, from_seq));
CREATE TABLE IF NOT EXISTS dead_letters (id INTEGER PRIMARY KEY, received_at REAL, topic TEXT,
    payload BLOB, reason TEXT, station TEXT);
"""

STATION_TOML = """
[station]
org = "{org}"
store = "{store}"
id = "{id}"
timezone = "Asia/Ho_Chi_Minh"
[database]
path = "{db}"
[kiosk]
csat = true
ces = true
[vision]
camera = ""
kiosk_zone = "kiosk"
[[vision.lines]]
name = "entrance"
a = [0, 100]
b = [640, 100]
[[vision.zones]]
name = "kiosk"
polygon = [[0, 0], [10, 0], [10, 10]]
[[vision.zones]]
name = "shelf"
polygon = [[20, 0], [30, 0], [30, 10]]
"""

HQ_TOML = """
[station]
org = "acme"
store = "hq"
id = "hq-1"
timezone = "Asia/Ho_Chi_Minh"
[database]
path = "hq-station-unused.db"
[hq]
enabled = true
database = "{db}"
[privacy]
min_n = {min_n}
k_floor = {k}
"""

NOW = 1_795_000_000.0      # a fixed 'now' (2026-11-18) so the period filters are reproducible


def station_store(tmp: Path, org: str, store: str, station: str):
    path = tmp / f"{org}-{store}-{station}.db"
    text = STATION_TOML.format(org=org, store=store, id=station, db=path)
    config = parse_config(__import__("tomllib").loads(text), base_dir=tmp)
    return Store.open(config), config


def hq_config(tmp: Path, hq_db: Path, min_n: int = 30, k: int = 5) -> Path:
    path = tmp / "hq.toml"
    path.write_text(HQ_TOML.format(db=hq_db, min_n=min_n, k=k), encoding="utf-8")
    return path


def new_hq_db(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.executescript(HQ_SCHEMA)
    return db


def copy_outbox(store: Store, hq: sqlite3.Connection, skip_seqs=(), status: str = "online",
                received_at: float = NOW) -> int:
    """Write a station's outbox into the HQ DB as the receiver would (minus the wire)."""
    rows = []
    for payload, in store.db.execute("SELECT payload FROM outbox ORDER BY seq"):
        env = json.loads(payload)
        if env["seq"] in skip_seqs:
            continue
        ts_epoch = _epoch(env["ts"])
        rows.append((env["station"], env["seq"], env["id"], env["type"], env["ts"], ts_epoch,
                     json.dumps(env["data"], ensure_ascii=False), received_at))
    hq.executemany("INSERT OR IGNORE INTO events VALUES (?,?,?,?,?,?,?,?)", rows)
    seqs = sorted(r[1] for r in rows)
    acked = 0
    for s in seqs:
        if s != acked + 1:
            break
        acked = s
    gaps, expected = [], 1
    for s in seqs:
        if s > expected:
            gaps.append((store.station, expected, s - 1))
        expected = s + 1
    hq.executemany("INSERT OR REPLACE INTO gaps VALUES (?,?,?)", gaps)
    hq.execute("INSERT OR REPLACE INTO stations VALUES (?,?,?,?,?,?,?,?,?,?,?)",
               (store.station, acked, seqs[-1] if seqs else 0, len(rows), 0, 0,
                received_at - 86400, received_at, status, received_at, None))
    hq.commit()
    return len(rows)


def _epoch(rfc3339: str) -> float:
    from datetime import datetime
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


KNOWN_START = 1_794_711_600.0   # 2026-11-15 03:00 UTC = 10:00 in Ho Chi Minh City (UTC+7)


def known_mix(store: Store, promoters: int, passives: int, detractors: int,
              start: float = KNOWN_START) -> list[str]:
    """Responses with a known NPS mix (scores 10 / 8 / 3), one a minute; returns case ids."""
    scores = [10] * promoters + [8] * passives + [3] * detractors
    cases = []
    for i, score in enumerate(scores):
        case = store.append_response(Response(nps=score, csat=5 if score >= 9 else 2, ces=6,
                                              language="en", ts=start + 60 * i))
        if case:
            cases.append(case)
    return cases


def known_store(tmp: Path, hq: sqlite3.Connection) -> dict:
    """`acme/known`: 100 responses (50 promoters, 30 passives, 20 detractors -> NPS +30),
    20 cases of which 10 resolved after 600, 1200 ... 6000 s, 400 entries all between
    10:00 and 11:00 local time, and visitors with one demographic cell under k=5."""
    store, _ = station_store(tmp, "acme", "known", "kiosk-1")
    cases = known_mix(store, 50, 30, 20)
    handling = [600.0 * (j + 1) for j in range(10)]
    for case_id, h in zip(cases, handling):
        opened = store.case(case_id).opened_at
        store.resolve_case(case_id, "called back", at=opened + h)
    store.append_crossings([Crossing(KNOWN_START + 9 * i, "entrance", "in") for i in range(400)])
    store.roll_up_traffic(KNOWN_START + 7200)
    mix = [("25-34", "female")] * 20 + [("25-34", "male")] * 12 + [("65+", "female")] * 3 + \
        [(None, None)] * 6
    store.append_visits([Visit(entered_at=KNOWN_START + 60 * i, left_at=KNOWN_START + 60 * i + 300,
                               dwell={"shelf": 30.0}, age_bracket=a, gender=g,
                               age_confidence=0.8 if a else None,
                               gender_confidence=0.9 if g else None, views=2 if a else 0)
                         for i, (a, g) in enumerate(mix)])
    copy_outbox(store, hq)
    store.close()
    return {"nps": 30.0, "responses": 100, "entries": 400, "handling": handling,
            "open_cases": 10, "cases": 20}


def tiny_store(tmp: Path, hq: sqlite3.Connection, n: int = 12) -> None:
    """`acme/tiny`: only n responses, all 10 (NPS +100 that must stay hidden below min n)."""
    store, _ = station_store(tmp, "acme", "tiny", "kiosk-1")
    known_mix(store, n, 0, 0)
    copy_outbox(store, hq, status="offline")
    store.close()


def three_stores(tmp: Path, responses: int = 300, visits: int = 900, seed: int = 7,
                 hq: sqlite3.Connection | None = None):
    """Three simulated stores (realistic data), written to tmp/hq.db. Returns the HQ path."""
    hq_path = tmp / "hq.db"
    own = hq is None
    hq = new_hq_db(hq_path) if own else hq
    stores = [("acme", "hcm-d1", "kiosk-1"), ("acme", "hn-hk", "kiosk-1"),
              ("acme", "dn-hc", "kiosk-1")]
    for i, (org, name, sid) in enumerate(stores):
        store, config = station_store(tmp, org, name, sid)
        simulate(store, config, responses=responses // (i + 1), visits=visits, days=28,
                 seed=seed + i, now=NOW)
        copy_outbox(store, hq)
        store.close()
    if own:
        hq.close()
    return hq_path

