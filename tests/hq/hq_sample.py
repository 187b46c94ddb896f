"""HQ databases filled with real station events, for the analyst-side tests (stats, export, report).

Events are produced by the real station store (`Store` + `station.simulate`), so their data
fields are exactly what stations send; the envelopes then go through the HQ receiver's own
checks and database code (`sync.envelope.parse_message`, `hq.db.HqDb.commit`), which fill
events / stations / gaps / dead_letters as a live receiver would.
"""
from __future__ import annotations

import json
from pathlib import Path

from station.config import parse_config
from station.simulate import simulate
from station.pos import PosHour
from station.store import Complaint, Crossing, Response, Store, Visit
from sync.envelope import Reject, Topic, parse_message
from hq.db import DeadLetter, HqDb

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
[[kiosk.reasons.detractor]]
id = "wait"
en = "Long wait"
vi = "Chờ lâu"
[[kiosk.reasons.detractor]]
id = "stock"
en = "Out of stock"
vi = "Hết hàng"
[[kiosk.reasons.passive]]
id = "faster"
en = "Faster checkout"
vi = "Thanh toán nhanh hơn"
[[kiosk.reasons.promoter]]
id = "staff"
en = "Friendly staff"
vi = "Nhân viên thân thiện"
[[kiosk.reasons.promoter]]
id = "clean"
en = "Clean store"
vi = "Sạch sẽ"
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
[database]
path = "{db}"
[reports]
timezone = "Asia/Ho_Chi_Minh"
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


def new_hq_db(path: Path) -> HqDb:
    return HqDb.open(path)


def copy_outbox(store: Store, hq: HqDb, skip_seqs=(), status: str = "online",
                received_at: float = NOW, dead: int = 0, health: dict | None = None) -> int:
    """Deliver a station's outbox to HQ as the receiver does, minus the wire: each payload
    goes through the receiver's own checks (parse_message) and bookkeeping (HqDb.commit).
    `skip_seqs` are lost on the way (they become gaps); `dead` adds malformed messages."""
    topic = f"cx/v1/{store.station}/response"
    accepted, rejected = [], []
    for type_, payload in store.db.execute("SELECT type, payload FROM outbox ORDER BY seq"):
        if json.loads(payload)["seq"] in skip_seqs:
            continue
        envs, rejects = parse_message(Topic(store.station, type_), payload.encode(),
                                      now=received_at)
        accepted += envs
        rejected += rejects
    for i in range(dead):
        rejected.append(Reject(b"\xff not json %d" % i, "not UTF-8 JSON: test", store.station))
    assert not rejected[:len(rejected) - dead], rejected[:3]
    hq.commit(accepted, [DeadLetter(topic, r) for r in rejected], now=received_at,
              statuses={store.station: (status, received_at)},
              healths={store.station: json.dumps(health)} if health else None)
    return len(accepted)


KNOWN_START = 1_794_711_600.0   # 2026-11-15 03:00 UTC = 10:00 in Ho Chi Minh City (UTC+7)


def known_mix(store: Store, promoters: int, passives: int, detractors: int,
              start: float = KNOWN_START) -> list[str]:
    """Responses with a known NPS mix (scores 10 / 8 / 3), one a minute; returns case ids.
    The first 40 answer the first-visit question, alternately yes and no; every other
    detractor reports a problem 30 s after the score, every other one of those leaving a
    phone number."""
    scores = [10] * promoters + [8] * passives + [3] * detractors
    cases = []
    for i, score in enumerate(scores):
        complaint = None
        if score <= 6 and len(cases) % 2 == 0:
            complaint = Complaint(ts=start + 60 * i + 30, problem="slow till",
                                  contact="0901234567" if len(cases) % 4 == 0 else None)
        case = store.append_response(Response(nps=score, csat=5 if score >= 9 else 2, ces=6,
                                              language="en", ts=start + 60 * i,
                                              first_visit=(i % 2 == 0) if i < 40 else None,
                                              complaint=complaint))
        if case:
            cases.append(case)
    return cases


# What the face models said about the known store's visitors (the estimates behind the labels).
KNOWN_P_FEMALE = {"female": 0.9, "male": 0.15}
KNOWN_AGE_PROBS = {"25-34": (0.05, 0.2, 0.5, 0.2, 0.05, 0.0, 0.0),
                   "65+": (0.0, 0.0, 0.0, 0.05, 0.15, 0.3, 0.5)}


def known_store(tmp: Path, hq: HqDb) -> dict:
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
    # 40 receipts in the hour of the 400 entries, 5 in an hour the camera saw nobody
    store.import_pos([PosHour(KNOWN_START, 40, None), PosHour(KNOWN_START + 7200, 5, None)],
                     source="till.csv")
    # nobody leaves: 400 in the store from 11:00 on (opening 08:00), per minute to HQ
    store.roll_up_occupancy(KNOWN_START + 7200, max_minutes=180)
    mix = [("25-34", "female")] * 20 + [("25-34", "male")] * 12 + [("65+", "female")] * 3 + \
        [(None, None)] * 6
    store.append_visits([Visit(entered_at=KNOWN_START + 60 * i, left_at=KNOWN_START + 60 * i + 300,
                               dwell={"shelf": 30.0}, age_bracket=a, gender=g,
                               age_confidence=0.8 if a else None,
                               gender_confidence=0.9 if g else None, views=2 if a else 0,
                               p_female=KNOWN_P_FEMALE[g] if g else None,
                               age_probs=KNOWN_AGE_PROBS[a] if a else None)
                         for i, (a, g) in enumerate(mix)])
    copy_outbox(store, hq)
    store.close()
    return {"nps": 30.0, "responses": 100, "entries": 400, "handling": handling,
            "open_cases": 10, "cases": 20,
            "complaint_handling": [600.0 * (j + 1) - 30 for j in range(0, 10, 2)]}


def tiny_store(tmp: Path, hq: HqDb, n: int = 12) -> None:
    """`acme/tiny`: only n responses, all 10 (NPS +100 that must stay hidden below min n)."""
    store, _ = station_store(tmp, "acme", "tiny", "kiosk-1")
    known_mix(store, n, 0, 0)
    copy_outbox(store, hq, status="offline")
    store.close()


def three_stores(tmp: Path, responses: int = 300, visits: int = 900, seed: int = 7,
                 hq: HqDb | None = None):
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

