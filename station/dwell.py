"""How long visitors stay: per zone (`zone_dwell`) and for the whole visit (`visit_length`).

    zones = zone_dwell(store, since, until, "Asia/Ho_Chi_Minh")
    zones["kiosk"]["median_s"], zones["kiosk"]["histogram"]["1-2 min"]
    whole = visit_length(store, since, until, "Asia/Ho_Chi_Minh")

Definitions
-----------
The visits counted are those that ended (`left_at`) in [since, until), as `Queries.visit_rows`
reads them.

Zone dwell: the seconds a visit spent in a zone, from the visit's `dwell` JSON
({"zone": seconds}); a visit counts for a zone when its dwell there is > 0, so one visit that
went through two zones counts once in each.

Visit length: ``left_at - entered_at`` of each visit (zero-length visits included), the whole
time in the store whatever the zones: title it as such, it is not a zone's dwell.

Each figure is::

    {"visits": n, "median_s": s or None, "p90_s": s or None,
     "histogram": {"0-30 s": n, "30-60 s": n, "1-2 min": n, "2-5 min": n, "5-10 min": n,
                   "10-20 min": n, "20+ min": n},
     "by_hour": {"HH": {"visits": n, "median_s": s}},
     "by_day": {"YYYY-MM-DD": {"visits": n, "median_s": s}}}

The median is the middle value (mean of the two middle ones), p90 the linear-interpolated
90th percentile (`station.kpi.percentile`); both None without visits. A histogram bin holds
[lo, hi) seconds: exactly 30 s goes in "30-60 s", exactly 20 min in "20+ min". `by_hour` and
`by_day` bucket each visit by the local time of its `left_at` in the station's time zone `tz`
(a name or a tzinfo), and list only the hours/days that had visits; on a day the clocks go
back the repeated hour is one bucket, on a day they go forward the skipped hour has none.
"""
from __future__ import annotations

from datetime import datetime, tzinfo
from statistics import median
from zoneinfo import ZoneInfo

from station.kpi import percentile

# (label, lower edge in seconds); a bin runs to the next edge, the last one has no end.
HISTOGRAM_EDGES: tuple[tuple[str, float], ...] = (
    ("0-30 s", 0), ("30-60 s", 30), ("1-2 min", 60), ("2-5 min", 120), ("5-10 min", 300),
    ("10-20 min", 600), ("20+ min", 1200))


def histogram(seconds: list[float]) -> dict[str, int]:
    """Counts per bin of HISTOGRAM_EDGES, every label present, in order."""
    counts = {label: 0 for label, _ in HISTOGRAM_EDGES}
    for s in seconds:
        label = HISTOGRAM_EDGES[0][0]
        for name, lo in HISTOGRAM_EDGES:
            if s >= lo:
                label = name
        counts[label] += 1
    return counts


def figure(samples: list[tuple[float, float]], tz: tzinfo | str | None) -> dict:
    """The figure of the module docstring from [(seconds, left_at)]; without `tz` the
    by_hour/by_day keys are left out."""
    values = [s for s, _ in samples]
    out = {"visits": len(values),
           "median_s": float(median(values)) if values else None,
           "p90_s": float(percentile(values, 90)) if values else None,
           "histogram": histogram(values)}
    if tz is None:
        return out
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    hours: dict[str, list[float]] = {}
    days: dict[str, list[float]] = {}
    for s, left_at in samples:
        local = datetime.fromtimestamp(left_at, zone)
        hours.setdefault(local.strftime("%H"), []).append(s)
        days.setdefault(local.strftime("%Y-%m-%d"), []).append(s)
    out["by_hour"] = {h: _small(v) for h, v in sorted(hours.items())}
    out["by_day"] = {d: _small(v) for d, v in sorted(days.items())}
    return out


def _small(values: list[float]) -> dict:
    return {"visits": len(values), "median_s": float(median(values))}


def zone_dwell(store, since: float, until: float, tz: tzinfo | str) -> dict[str, dict]:
    """{zone: figure} of the time visits that ended in [since, until) spent in each zone
    (only zones some visit spent > 0 s in); see the module's definitions."""
    per_zone: dict[str, list[tuple[float, float]]] = {}
    for visit in store.visit_rows(since, until):
        for zone, seconds in (visit["dwell"] or {}).items():
            if seconds is not None and seconds > 0:
                per_zone.setdefault(zone, []).append((float(seconds), visit["left_at"]))
    return {zone: figure(samples, tz) for zone, samples in sorted(per_zone.items())}


def visit_length(store, since: float, until: float, tz: tzinfo | str | None = None) -> dict:
    """The figure of whole-visit lengths (left_at - entered_at) of visits that ended in
    [since, until); with `tz`, by_hour and by_day too. See the module's definitions."""
    samples = [(max(0.0, v["left_at"] - v["entered_at"]), v["left_at"])
               for v in store.visit_rows(since, until)]
    return figure(samples, tz)
