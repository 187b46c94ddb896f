"""The issue-17 figures of HQ's report, per store: conversion (POS source), complaints and
their handling time, the first-visit answers (returning share, NPS of new vs returning),
occupancy now and peak, and dwell per zone.

    extra = collect(db, period, params, end)
    extra["complaints"]["acme/s1"]     # {"complaints": 3, "with_contact": 2, "handling_s": [...]}

Portable SQL over the views (hq/views.py): no JSON functions here (the views extract the
fields), no boolean sums, and a flag (0/1 in the views) is compared `= 1`, never a bare
condition (PostgreSQL refuses an integer there); what is JSON in a view (a visit's dwell, an occupancy's zones) is
read as text and parsed in Python. Contact details never reach HQ (station/events.Complaint).

The manager's hand counts (station/handcount.py) reach HQ as `handcount` events, each with the
station's factor and switch after the change: HQ takes each station's latest event before the
report's end and, where it says corrected, multiplies that station's entries (so participation,
complaints per entry and POS conversion) by its factor, labelled as the station labels them.
The running error is over the checks in force (added, not removed), with the camera's count
each carried when it was entered.

Conversion at HQ has the POS source only: transactions of each station's latest import of an
hour (the highest seq) over that station's entrance entries in that hour, hours without entries
left out (station/conversion.py's definition). The checkout-zone source needs the zones' roles,
which only the station knows (a visit event carries its dwell per zone and its camera, not the
zones' roles): its `cx-station report` has it.
"""
from __future__ import annotations

import json
from datetime import datetime

from station import kpi
from station.handcount import Check, correction_factor, correction_label, running_error
from station.conversion import _interval
from station.dwell import figure as dwell_figure


def collect(db, period: str, params: list, end: float,
            factors: dict[str, float] | None = None) -> dict:
    """`factors`: station -> its hand-count factor, for the stations whose correction is on
    (none given: every station's entries as the camera counted them)."""
    return {"complaints": _complaints(db, period, params),
            "first_visit": _first_visit(db, period, params),
            "conversion": _conversion(db, period, params, factors or {}),
            "occupancy": _occupancy(db, period, params),
            "zone_dwell": _zone_dwell(db, period, params)}


# -- the counter check ------------------------------------------------------------------------
def counters(db, end: float) -> dict[str, dict]:
    """station -> its counter state at `end` from its handcount events: `corrected`, `factor`,
    `checks` (as its latest event says) and the checks in force (station.handcount.Check)."""
    out: dict[str, dict] = {}
    for station, store, action, corrected, checks, factor, check_id, start, stop, hand, \
            camera, who, at in db.execute(
            'SELECT station, store, action, correction, checks, factor, check_id, start, "end", '
            'count, camera_count, who, ts_epoch FROM hand_counts WHERE ts_epoch < ? '
            'ORDER BY station, seq', (end,)):
        state = out.setdefault(station, no_counter(store))
        state.update(corrected=bool(corrected) and factor is not None,
                     factor=None if factor is None else float(factor), checks=checks or 0)
        if action == "added" and check_id and hand is not None and camera is not None:
            state["in_force"][check_id] = Check(check_id, _epoch(start), _epoch(stop),
                                                int(hand), int(camera), at, who)
        elif action == "removed":
            state["in_force"].pop(check_id, None)
    return out


def no_counter(store: str) -> dict:
    """The counter state of a station without hand counts (`entries`: its camera entries in
    the report's period, set by the report)."""
    return {"store": store, "in_force": {}, "corrected": False, "factor": None, "checks": 0,
            "entries": 0}


def correct(state: dict) -> int:
    """A station's entries as its report uses them: times its factor when corrected."""
    return round(state["entries"] * state["factor"]) if state["corrected"] \
        else state["entries"]


def counter_summary(states: list[dict], tz) -> dict:
    """The counter check of one or more stations together: whether their entries are corrected
    (and by what: the station's own label where one factor applies; for several, the corrected
    stations' entries after over before), and the running camera error over all their checks."""
    checks = [c for s in states for c in s["in_force"].values()]
    applied = [s for s in states if s["corrected"]]
    factor = None
    if applied:
        factors = {s["factor"] for s in applied}
        before = sum(s["entries"] for s in applied)
        factor = factors.pop() if len(factors) == 1 else \
            sum(correct(s) for s in applied) / before if before else \
            correction_factor([c for s in applied for c in s["in_force"].values()])
    label = correction_label(factor, sum(s["checks"] for s in applied), "en") \
        if factor is not None else ""
    counting = [s for s in states if s["entries"] or s["corrected"]]
    if label and len(applied) < len(counting):
        label += f" ({len(applied)} of {len(counting)} stations)"
    error = running_error(checks)
    return {"corrected": factor is not None,
            "factor": None if factor is None else round(factor, 4),
            "label": label,
            "entries_corrected": sum(correct(s) for s in states) if factor is not None
            else None,
            "error": None if error is None else round(error, 4),
            "hand": sum(c.hand for c in checks), "camera": sum(c.camera for c in checks),
            "checks": [{"start": _local(c.start, tz), "end": _local(c.end, tz), "hand": c.hand,
                        "camera": c.camera,
                        "error": None if c.error is None else round(c.error, 4)}
                       for c in sorted(checks, key=lambda c: (c.start or 0, c.entered_at))]}


def _epoch(text) -> float | None:
    try:
        return datetime.fromisoformat(text).timestamp()
    except (TypeError, ValueError):
        return None


def _local(ts: float | None, tz) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz).isoformat(timespec="minutes")


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


def _conversion(db, period, params, factors: dict[str, float]) -> dict[str, dict]:
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
        if station in factors:     # per hour, as station/conversion.py corrects them
            seen = round(seen * factors[station])
        cell = out.setdefault(store, {"source": "pos", "transactions": 0, "entries": 0,
                                      "hours": 0, "hours_without_entries": 0,
                                      "corrected": False})
        cell["corrected"] = cell["corrected"] or station in factors
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
        "transactions", "entries", "hours", "hours_without_entries")},
        "corrected": any(c["corrected"] for c in cells)}
    total["rate"] = kpi.conversion_rate(total["transactions"], total["entries"])
    total["interval"] = _interval(total["transactions"], total["entries"])
    total["reason"] = "" if total["entries"] else "no camera entries in the hours with POS figures"
    return total


def _occupancy(db, period, params) -> dict[str, dict]:
    """Per store and for all stores together ("*"): people now (the latest minute each station
    sent, added up) and the period's peak minute of the stations' sums. A station sends the
    minutes with somebody in and the first minute back at nobody, so a minute it did not send
    counts 0 in the sums."""
    latest: dict[str, tuple[float, str, int]] = {}
    for station, store, minute, people in db.execute(
            f"SELECT o.station, o.store, o.ts_epoch, o.people FROM occupancy o JOIN "
            f"(SELECT station, max(ts_epoch) AS last FROM occupancy WHERE {period} "
            f"GROUP BY station) m ON m.station = o.station AND m.last = o.ts_epoch", params):
        latest[station] = (minute, store, int(people))
    out: dict[str, dict] = {}
    for station, (minute, store, people) in latest.items():
        for key in (store, "*"):
            cell = out.setdefault(key, {"people": 0, "at": minute, "peak": -1, "peak_at": None})
            cell["people"] += people
            cell["at"] = max(cell["at"], minute)
    chain: dict[float, int] = {}
    for store, minute, people in db.execute(
            f"SELECT store, ts_epoch, sum(people) FROM occupancy WHERE {period} "
            f"GROUP BY store, ts_epoch", params):
        chain[minute] = chain.get(minute, 0) + int(people)
        _raise_peak(out[store], int(people), minute)
    for minute, people in chain.items():
        _raise_peak(out["*"], people, minute)
    return out


def _raise_peak(cell: dict, people: int, minute: float) -> None:
    """The highest minute; of equal ones, the first."""
    if people > cell["peak"] or people == cell["peak"] and minute < cell["peak_at"]:
        cell["peak"], cell["peak_at"] = people, minute


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
