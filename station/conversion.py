"""Conversion: the share of the store's visitors who buy, from either of two sources.

    figures = pos_conversion(store, since, until, tz)       # point-of-sale transactions
    figures = camera_conversion(store, config, since, until) # visits reaching a checkout zone
    figures["rate"], figures["interval"], figures["source"]

Definition (source: POS). For every local hour with a POS figure, conversion is that hour's
transactions divided by the camera's entries on entrance lines. Over a day or a period it is
the sum of transactions over the sum of entries of the hours that have both: an hour with sales
but no entries counted (camera down, store closed to the camera) would inflate the rate, so it
is left out and counted in `hours_without_entries`. Hours with entries and no POS figure are
not in it either (no file covered them). A rate can pass 100 % (several receipts for one
visitor, staff sales); it is shown as it is and has no interval then. The 95 % interval treats
the period's transactions as successes among its entries (Wilson).

Definition (source: camera). Visits that ended in the period having stood in a zone with
`role = "checkout"` divided by the period's entries on entrance lines; Wilson interval.
"""
from __future__ import annotations

from datetime import datetime

from station import kpi


def pos_conversion(store, since: float, until: float, tz=None, correct=None) -> dict:
    """`correct`: a station.handcount.Calibration; when applied, the entries are corrected
    and the figures say so (`corrected`, `label`)."""
    lines = None if store.entrance_lines is None else sorted(store.entrance_lines)
    hours, days = [], {}
    transactions = entries = without = 0
    for hour, count, revenue in store.pos_hours(since, until):
        seen = _corrected(store.entries(hour, hour + 3600, lines)["entries"], correct)
        row = {"hour": hour, "transactions": count, "revenue": revenue, "entries": seen,
               "rate": kpi.conversion_rate(count, seen)}
        hours.append(row)
        if not seen:
            without += 1
            continue
        transactions += count
        entries += seen
        if tz is not None:
            day = datetime.fromtimestamp(hour, tz).date().isoformat()
            cell = days.setdefault(day, {"transactions": 0, "entries": 0})
            cell["transactions"] += count
            cell["entries"] += seen
    for cell in days.values():
        cell["rate"] = kpi.conversion_rate(cell["transactions"], cell["entries"])
    return {"source": "pos", "transactions": transactions, "entries": entries,
            "rate": kpi.conversion_rate(transactions, entries),
            "interval": _interval(transactions, entries), "hours": hours, "by_day": days,
            "hours_without_entries": without, **_label(correct),
            "reason": "" if entries else ("no POS figures in this period" if not hours else
                                          "no camera entries in the hours with POS figures")}


def camera_conversion(store, config, since: float, until: float) -> dict | None:
    """None when no zone has the checkout role. The hand-count correction is not applied
    here: the buyers are counted by the same cameras, so the miss rate cancels out."""
    checkout = {z.name for z in config.vision.zones if z.role == "checkout"}
    if not checkout:
        return None
    lines = None if store.entrance_lines is None else sorted(store.entrance_lines)
    entries = store.entries(since, until, lines)["entries"]
    buyers = sum(1 for v in store.visit_rows(since, until)
                 if any((v["dwell"] or {}).get(zone, 0) > 0 for zone in checkout))
    return {"source": "camera", "checkout_zones": sorted(checkout), "visits_at_checkout": buyers,
            "entries": entries, "rate": kpi.conversion_rate(buyers, entries),
            "interval": _interval(buyers, entries), "corrected": False,
            "reason": "" if entries else "no camera entries in this period"}


def _corrected(entries: int, correct) -> int:
    """Entries corrected by the hand-count factor when it is applied, in whole visitors."""
    return round(correct.correct(entries)) if correct is not None and correct.applied \
        else entries


def _label(correct) -> dict:
    applied = correct is not None and correct.applied
    return {"corrected": applied, "label": correct.label("en") if applied else ""}


def _interval(successes: int, n: int):
    if not n or successes > n:
        return None
    low, high = kpi.proportion_interval(successes, n)
    return [low, high]
