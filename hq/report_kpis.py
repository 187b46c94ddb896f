"""The issue-17 figures of HQ's report, per store: conversion (POS source), complaints and
their handling time, the first-visit answers (returning share, NPS of new vs returning),
occupancy now and peak, and dwell per zone.

    extra = collect(db, period, params, end)
    extra["complaints"]["acme/s1"]     # {"complaints": 3, "with_contact": 2, "handling_s": [...]}

Portable SQL over the views (hq/views.py): no JSON functions here (the views extract the
fields), no boolean sums, and a flag (0/1 in the views) is compared `= 1`, never a bare
condition (PostgreSQL refuses an integer there); what is JSON in a view (a visit's dwell, an occupancy's zones) is
read as text and parsed in Python. Contact details never reach HQ (station/events.Complaint).

Conversion at HQ has the POS source only: transactions of each station's latest import of an
hour (the highest seq) over that station's entrance entries in that hour, hours without entries
left out (station/conversion.py's definition). The checkout-zone source needs the zones' roles,
which only the station knows: its `cx-station report` has it.
"""
from __future__ import annotations

import json

from station import kpi
from station.conversion import _interval
from station.dwell import figure as dwell_figure


def collect(db, period: str, params: list, end: float) -> dict:
    return {"complaints": _complaints(db, period, params),
            "first_visit": _first_visit(db, period, params),
            "conversion": _conversion(db, period, params),
            "occupancy": _occupancy(db, period, params),
            "zone_dwell": _zone_dwell(db, period, params)}


def _complaints(db, period, params) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for store, n, contact in db.execute(
            f"SELECT store, count(*), sum(CASE WHEN contact_requested = 1 THEN 1 ELSE 0 END) "
            f"FROM complaints WHERE {period} GROUP BY store", params):
        out[store] = {"complaints": n, "with_contact": contact or 0, "handling_s": []}
    cperiod = period.replace("ts_epoch", "c.ts_epoch")
    for store, seconds in db.execute(
            f"SELECT c.store, r.ts_epoch - c.ts_epoch FROM complaints c JOIN cases r ON "
            f"r.station = c.station AND r.case_id = c.case_id AND r.status = 'resolved' "
            f"WHERE {cperiod}", params):
        out[store]["handling_s"].append(max(0.0, seconds))
    return out


def _first_visit(db, period, params) -> dict[str, dict[str, list[int]]]:
    out: dict[str, dict[str, list[int]]] = {}
    for store, first, score, n in db.execute(
            f"SELECT store, CASE WHEN first_visit = 1 THEN 1 ELSE 0 END, CAST(nps AS INTEGER), "
            f"count(*) FROM _responses WHERE {period} AND first_visit IS NOT NULL "
            f"AND nps BETWEEN 0 AND 10 GROUP BY 1, 2, 3", params):
        seg = out.setdefault(store, {"new": [0] * 11, "returning": [0] * 11})
        seg["new" if first else "returning"][score] += n
    return out


def _conversion(db, period, params) -> dict[str, dict]:
    latest: dict[tuple[str, float], tuple[int, str, int]] = {}
    for station, store, seq, hour, transactions in db.execute(
            f"SELECT station, store, seq, ts_epoch, transactions FROM pos_hours "
            f"WHERE {period}", params):
        key = (station, hour)
        if key not in latest or seq > latest[key][0]:
            latest[key] = (seq, store, int(transactions))
    if not latest:
        return {}
    entries: dict[tuple[str, float], int] = {}
    stations = sorted({station for station, _ in latest})
    for station, bucket, n in db.execute(
            f"SELECT station, ts_epoch, entries FROM _traffic WHERE station IN "
            f"({', '.join('?' * len(stations))})", stations):
        entries[station, bucket] = entries.get((station, bucket), 0) + (n or 0)
    out: dict[str, dict] = {}
    for (station, hour), (_seq, store, transactions) in sorted(latest.items()):
        seen = sum(n for (s, bucket), n in entries.items()
                   if s == station and hour <= bucket < hour + 3600)
        cell = out.setdefault(store, {"source": "pos", "transactions": 0, "entries": 0,
                                      "hours": 0, "hours_without_entries": 0})
        cell["hours"] += 1
        if not seen:
            cell["hours_without_entries"] += 1
            continue
        cell["transactions"] += transactions
        cell["entries"] += seen
    for cell in out.values():
        cell["rate"] = kpi.conversion_rate(cell["transactions"], cell["entries"])
        cell["interval"] = _interval(cell["transactions"], cell["entries"])
        cell["reason"] = "" if cell["entries"] else \
            "no camera entries in the hours with POS figures"
    return out


def sum_conversion(cells: list[dict]) -> dict:
    """Stores' POS conversion tallies added up."""
    total = {"source": "pos", **{k: sum(c[k] for c in cells) for k in (
        "transactions", "entries", "hours", "hours_without_entries")}}
    total["rate"] = kpi.conversion_rate(total["transactions"], total["entries"])
    total["interval"] = _interval(total["transactions"], total["entries"])
    total["reason"] = "" if total["entries"] else "no camera entries in the hours with POS figures"
    return total


def _occupancy(db, period, params) -> dict[str, dict]:
    """Per store: people now (the latest minute each station sent, added up over its
    stations) and the period's peak minute."""
    latest: dict[str, tuple[float, str, int]] = {}
    peak: dict[str, tuple[int, float]] = {}
    for station, store, minute, people in db.execute(
            f"SELECT station, store, ts_epoch, people FROM occupancy WHERE {period} "
            f"ORDER BY ts_epoch", params):
        latest[station] = (minute, store, int(people))
        if people > peak.get(store, (-1, 0))[0]:
            peak[store] = (int(people), minute)
    out: dict[str, dict] = {}
    for station, (minute, store, people) in latest.items():
        cell = out.setdefault(store, {"people": 0, "at": minute})
        cell["people"] += people
        cell["at"] = max(cell["at"], minute)
    for store, cell in out.items():
        cell["peak"], cell["peak_at"] = peak[store]
    return out


def _zone_dwell(db, period, params) -> dict[str, dict]:
    per: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for store, dwell, left in db.execute(
            f"SELECT store, dwell, ts_epoch FROM visits WHERE {period}", params):
        try:
            zones = json.loads(dwell) if isinstance(dwell, str) else (dwell or {})
        except ValueError:
            continue
        if not isinstance(zones, dict):
            continue
        for zone, seconds in zones.items():
            if isinstance(seconds, (int, float)) and seconds > 0:
                per.setdefault(store, {}).setdefault(zone, []).append((float(seconds), left))
    return {store: {zone: dwell_figure(samples, None) for zone, samples in sorted(z.items())}
            for store, z in per.items()}
