"""How many people are in the store, and in each zone, from the camera's counts.

    now = occupancy(store, now=time.time(), opening_ts=opening)
    now["people"], now["peak"], now["peak_at"]
    zone_occupancy_by_minute(store, since, until)   # {"kiosk": {1700000040: 2, ...}, ...}

Definitions
-----------
People in the store: 'in' minus 'out' crossings of the entrance lines (`store.entrance_lines`;
None means every line is an entrance, inner lines are ignored otherwise) since the day's
opening, walked minute by minute in time order and never below 0: after each minute the count
is ``max(0, count + entries - exits)``, so when exits outrun entries (people who came in before
opening, a missed entry) the count stays at 0 and later entries start again from 0.

The counts come from the per-minute `traffic` roll-ups plus the raw `crossings` not rolled up
yet (those at or after the end of the last rolled minute), both grouped by minute, so rolling
up does not change the figure. The period is the one `Queries.entries` uses: roll-up minutes
starting in [opening_ts, now) and raw crossings in [opening_ts, now); `entries`/`exits` in the
result are the same totals `store.entries(opening_ts, now, lines)` gives.

The peak is the highest count after any minute, and `peak_at` the start (UTC epoch seconds) of
the first minute that reached it (None while nobody has been counted). Inside a minute the
order of crossings is not known, so the peak is at minute resolution.

People in a zone per minute: a visitor counts in minute [m, m + 60) of a zone when their
presence interval [since, until] in that zone overlaps it, that is ``since < m + 60`` and
``until >= m``; each (visit, zone) has one presence row, so a visitor counts at most once per
zone and minute. Minutes are UTC epoch seconds at the minute's start.

To HQ: `occupancy_minutes` gives, for each closed minute, the people in the store at its end
and per zone; Store.roll_up_occupancy sends them as `occupancy` events beside the traffic
roll-ups (vision's flush), one per minute while anybody is counted and the first minute back
at 0, so HQ's latest figure is the store's now.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta


def _entrance_lines(store) -> list[str] | None:
    lines = getattr(store, "entrance_lines", None)
    return None if lines is None else sorted(lines)


def _line_filter(lines: list[str] | None) -> tuple[str, list]:
    if lines is None:
        return "", []
    return f" AND line IN ({','.join('?' * len(lines))})", list(lines)


def minute_counts(store, since: float, until: float,
                  lines: list[str] | None = None) -> list[tuple[int, int, int]]:
    """[(minute, entries, exits)] in time order, from roll-ups plus not-yet-rolled crossings
    (the period and line rule of `Queries.entries`); minutes without crossings are left out."""
    if lines is not None and not lines:
        return []
    line_filter, line_args = _line_filter(lines)
    db = store.db
    rolled_until = db.execute("SELECT max(minute) + 60 FROM traffic").fetchone()[0] or 0
    per_minute: dict[int, list[int]] = {}
    for minute, entries, exits in db.execute(
            "SELECT minute, sum(entries), sum(exits) FROM traffic "
            "WHERE minute >= ? AND minute < ?" + line_filter + " GROUP BY minute",
            [since, until, *line_args]):
        per_minute[int(minute)] = [entries, exits]
    for minute, entries, exits in db.execute(
            "SELECT CAST(ts / 60 AS INTEGER) * 60 AS m, sum(direction = 'in'), "
            "sum(direction = 'out') FROM crossings WHERE ts >= max(?, ?) AND ts < ?"
            + line_filter + " GROUP BY m", [since, rolled_until, until, *line_args]):
        counts = per_minute.setdefault(int(minute), [0, 0])
        counts[0] += entries
        counts[1] += exits
    return [(m, e, x) for m, (e, x) in sorted(per_minute.items())]


def occupancy(store, now: float, opening_ts: float) -> dict:
    """People in the store at `now` since the day's opening (see the module's definitions):

    {"people": n, "peak": n, "peak_at": minute epoch or None, "entries": n, "exits": n,
     "since": opening_ts, "until": now}
    """
    people = peak = entries = exits = 0
    peak_at = None
    if now > opening_ts:
        for minute, i, o in minute_counts(store, opening_ts, now, _entrance_lines(store)):
            entries += i
            exits += o
            people = max(0, people + i - o)
            if people > peak:
                peak, peak_at = people, minute
    return {"people": people, "peak": peak, "peak_at": peak_at, "entries": entries,
            "exits": exits, "since": opening_ts, "until": now}


def zone_occupancy_by_minute(store, since: float, until: float) -> dict[str, dict[int, int]]:
    """{zone: {minute_epoch: people}} for the minutes that start in [floor(since), until) and
    had someone in the zone (a minute left out had nobody); see the module's definitions."""
    out: dict[str, dict[int, int]] = {}
    if until <= since:
        return out
    first_minute = int(math.floor(since / 60)) * 60
    last_minute = int(math.ceil(until / 60)) * 60 - 60        # the last minute starting < until
    for zone, p_since, p_until in store.db.execute(
            "SELECT zone, since, until FROM presence WHERE until >= ? AND since < ? "
            "ORDER BY zone", (first_minute, last_minute + 60)):
        lo = max(int(math.floor(p_since / 60)) * 60, first_minute)
        hi = min(int(math.floor(p_until / 60)) * 60, last_minute)
        minutes = out.setdefault(zone, {})
        for m in range(lo, hi + 1, 60):
            minutes[m] = minutes.get(m, 0) + 1
    return {zone: dict(sorted(m.items())) for zone, m in sorted(out.items()) if m}


def opening_before(at: float, opening_time: str, tz) -> float:
    """The opening time (local 'HH:MM') on the local day of `at`; before it opens, the
    previous day's."""
    hours, minutes = map(int, opening_time.split(":"))
    local = datetime.fromtimestamp(at, tz)
    opening = local.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    if opening > local:
        opening = (local - timedelta(days=1)).replace(hour=hours, minute=minutes, second=0,
                                                      microsecond=0)
    return opening.timestamp()


def occupancy_minutes(store, start: int, end: int, opening_time: str,
                      tz) -> list[tuple[int, int, dict[str, int]]]:
    """[(minute, people at its end, {zone: people})] for each minute in [start, end) (minute
    starts, UTC epoch seconds): the walk of `occupancy`, from each minute's own opening."""
    out = []
    zones = zone_occupancy_by_minute(store, start, end)
    lines = _entrance_lines(store)
    minute = start
    while minute < end:
        opening = opening_before(minute, opening_time, tz)
        next_opening = opening_before(opening + 36 * 3600, opening_time, tz)
        stop = min(end, int(math.ceil(next_opening / 60)) * 60)
        counts = {m: (i, o) for m, i, o in minute_counts(store, opening, stop, lines)}
        people = 0
        for m in sorted(k for k in counts if k < minute):     # before the first minute asked
            people = max(0, people + counts[m][0] - counts[m][1])
        while minute < stop:
            i, o = counts.get(minute, (0, 0))
            people = max(0, people + i - o)
            out.append((minute, people, {zone: by_minute[minute]
                                         for zone, by_minute in zones.items()
                                         if minute in by_minute}))
            minute += 60
    return out
