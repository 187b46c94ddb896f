"""The figures behind the admin screen, for one period, from the store's aggregate queries.

    dashboard = Dashboard(config)
    figures = dashboard.figures(store, "7d")
    card = figures.scorecard                  # station.scorecard: the same as the reports
    card.nps.value, card.nps.interval, card.nps.reason   # absent below min_n, with why

Per-day summaries are kept in memory with the newest response/case rowid they include; a
refresh reads only the rows inserted since (whatever day they belong to, so a response
saved late after a DB outage lands on its own day) and any day marked with `invalidate`
(a case resolved: an UPDATE, which rowids do not show). The first look at 30 days pays for
the scan once. No Qt here: the screen only draws what this returns. The headline figures
and their min-n rule are `station.scorecard`'s, as in `cx-station report` and the HQ report.
"""
from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from station import kpi
from station.shares import calibration_or_none, period_shares
from station.handcount import Calibration, calibration
from station.occupancy import occupancy
from station.report import conversion_figures, opening_ts
from station.scorecard import Figure, Scorecard, build_scorecard, nps_figure

PERIODS = {"today": 0, "7d": 6, "30d": 29}      # whole local days before today
DWELL_EDGES_MIN = [0, 1, 2, 5, 10, 20, 30, 60]
DAY = 86400


@dataclass
class Figures:
    period: str
    since: float
    until: float
    scorecard: Scorecard
    score_counts: list[int]
    totals: dict
    entries: int
    traffic_by_hour: dict[int, int]
    dwell_counts: list[int]
    visits: int                     # visits that ended in the period (0: no camera data)
    demographics: dict              # station.shares.period_shares: corrected shares or why none
    nps_by_age: dict[str, Figure]
    open_cases: list
    health: dict
    outbox: dict
    disk_free_bytes: int | None
    timings_ms: dict = field(default_factory=dict)
    # the hand-count check (station/handcount.py): when applied, `entries` and the traffic
    # are corrected by its factor and the screen says so
    counter: Calibration | None = None
    conversion: dict = field(default_factory=dict)     # {"pos": ..., "camera": ...}
    occupancy: dict | None = None                      # people now and the day's peak

    # Shortcuts into the scorecard for readers written before it (tests/kiosk/test_window.py,
    # test_screenshots.py, bench/tap_latency.py).
    @property
    def nps(self) -> Figure:
        return self.scorecard.nps

    @property
    def case_totals(self) -> dict:
        return {"opened": self.scorecard.cases_opened, "resolved": self.scorecard.cases_resolved}

    @property
    def handling(self) -> tuple[float | None, float | None]:
        return self.scorecard.handling_median_s.value, self.scorecard.handling_p90_s.value


@dataclass
class DaySummary:
    """Everything the dashboard needs from one local day's responses and cases."""
    by_age: dict = field(default_factory=dict)          # age bracket ('' = unknown) -> 11 counts
    csat: Counter = field(default_factory=Counter)
    ces: Counter = field(default_factory=Counter)
    totals: Counter = field(default_factory=Counter)     # responses, complete, no_presence, linked
    cases_opened: int = 0
    handling_s: list = field(default_factory=list)
    first_visit: dict = field(default_factory=lambda: {"new": [0] * 11, "returning": [0] * 11})

    def add(self, other: "DaySummary") -> None:
        for seg, scores in other.first_visit.items():
            row = self.first_visit[seg]
            for i, n in enumerate(scores):
                row[i] += n
        for age, scores in other.by_age.items():
            row = self.by_age.setdefault(age, [0] * 11)
            for i, n in enumerate(scores):
                row[i] += n
        self.csat.update(other.csat)
        self.ces.update(other.ces)
        self.totals.update(other.totals)
        self.cases_opened += other.cases_opened
        self.handling_s += other.handling_s


class Dashboard:
    def __init__(self, config):
        self.config = config
        self._days: dict[int, DaySummary] = {}
        self._dirty: set[int] = set()
        self._marks: dict | None = None            # newest rowids the cached days include
        self._lock = threading.Lock()
        self._calibration = calibration_or_none()
        self._shares: dict[str, tuple[float, float, dict]] = {}   # period -> (since, at, shares)

    def invalidate(self, ts: float) -> None:
        """Something changed on the local day of `ts` (a case resolved): read it again."""
        offset = datetime.fromtimestamp(ts, self.config.tz).utcoffset().total_seconds()
        with self._lock:
            self._dirty.add(int((ts + offset) // DAY))

    def period_bounds(self, period: str, now: float | None = None) -> tuple[float, float, float]:
        """(since, until, utc offset) for a period that starts at local midnight."""
        now = time.time() if now is None else now
        local = datetime.fromtimestamp(now, self.config.tz)
        start = (local - timedelta(days=PERIODS[period])).replace(hour=0, minute=0, second=0,
                                                                   microsecond=0)
        return start.timestamp(), now + 1, start.utcoffset().total_seconds()

    def _summaries(self, store, since: float, until: float, offset: float, t) -> DaySummary:
        """The period's days from the cache, after adding what was written since last time."""
        first, last = int((since + offset) // DAY), int((until - 1 + offset) // DAY)
        with self._lock:
            dirty, self._dirty = self._dirty, set()
        for day in dirty:
            self._days.pop(day, None)
        marks = t("marks", store.latest_rowids)
        if self._marks is not None:          # rows inserted since the last refresh
            new = self._read(store, 0, 0, offset, t, marks, after=self._marks)
            for day, summary in new.items():
                if day in self._days:
                    self._days[day].add(summary)
        self._marks = marks
        missing = [d for d in range(first, last + 1) if d not in self._days]
        if missing:
            read = self._read(store, missing[0] * DAY - offset, (last + 1) * DAY - offset,
                              offset, t, marks)
            for d in missing:
                self._days[d] = read.get(d, DaySummary())
        for d in [d for d in self._days if d < last - max(PERIODS.values()) - 1]:
            del self._days[d]                          # older than any period shows
        total = DaySummary()
        for d in range(first, last + 1):
            total.add(self._days[d])
        return total

    def _read(self, store, since, until, offset, t, marks, after=None) -> dict[int, DaySummary]:
        """Day summaries of a time range (rows up to `marks`), or of rows after `after`."""
        days: dict[int, DaySummary] = {}
        new = after is not None
        rows = t("responses", store.response_day_summary, since, until, offset,
                 marks["responses"], after["responses"] if new else None)
        for row in rows:
            day = days.setdefault(row["day"], DaySummary())
            day.add(DaySummary(by_age={row["age_bracket"] or "": row["scores"]},
                               csat=Counter({k: v for k, v in row["csat"].items() if v}),
                               ces=Counter({k: v for k, v in row["ces"].items() if v}),
                               first_visit=row["first_visit"],
                               totals=Counter({k: row[k] for k in ("responses", "complete",
                                                                   "no_presence", "linked")})))
        cases = t("cases", store.case_day_summary, since, until, offset, marks["cases"],
                  after["cases"] if new else None)
        for d, c in cases.items():
            day = days.setdefault(d, DaySummary())
            day.cases_opened += c["opened"]
            day.handling_s += c["handling_s"]
        return days

    def figures(self, store, period: str, now: float | None = None) -> Figures:
        since, until, offset = self.period_bounds(period, now)
        privacy, t = self.config.privacy, _Timer()
        s = self._summaries(store, since, until, offset, t)
        counts = [sum(col) for col in zip(*s.by_age.values())] if s.by_age else [0] * 11
        totals = {k: s.totals.get(k, 0) for k in ("responses", "complete", "no_presence",
                                                  "linked")}
        # Footfall is the 'in' count of entrance lines only (inner lines, a second camera
        # seeing the same people, would double count), corrected when the manager says so.
        entrances = self.config.vision.entrance_lines
        counter = t("counter", calibration, store)
        entries = round(counter.correct(
            t("entries", store.entries, since, until, entrances)["entries"]))
        by_hour = {int(h): round(counter.correct(n)) for h, n in t(
            "traffic", store.entries_by_hour, since, until, offset, entrances).items()}
        dwell = t("dwell", store.dwell_counts, since, until, [m * 60 for m in DWELL_EDGES_MIN])
        visits = sum(t("visits", store.visitor_mix, since, until).values())
        demographics = t("shares", self._period_shares, store, period, since, until)
        open_cases = t("open_cases", store.cases, since, until, True, 50)
        health = t("health", store.health)
        outbox = t("outbox", store.outbox_status)
        try:
            disk_free = shutil.disk_usage(self.config.database.path.parent).free
        except OSError:
            disk_free = None
        card = build_scorecard(
            score_counts=counts, csat_counts=dict(s.csat), ces_counts=dict(s.ces),
            responses=totals["responses"], entries=entries, cases_opened=s.cases_opened,
            handling_s=s.handling_s, min_n=privacy.min_n,
            complaints=t("complaints", store.complaint_totals, since, until),
            first_visit_scores=s.first_visit)
        conversion = t("conversion", conversion_figures, store, self.config, since, until)
        at = min(until - 1, time.time() if now is None else now)
        people = t("occupancy", occupancy, store, at, opening_ts(self.config, at)) \
            if entrances else None
        return Figures(
            period=period, since=since, until=until, scorecard=card, score_counts=counts,
            totals=totals, entries=entries,
            traffic_by_hour=by_hour, dwell_counts=dwell, visits=visits, demographics=demographics,
            nps_by_age={age: nps_figure(kpi.nps_from_counts(c, privacy.min_n))
                        for age, c in sorted(s.by_age.items()) if sum(c)},
            open_cases=open_cases,
            health=health, outbox=outbox, disk_free_bytes=disk_free, timings_ms=t.ms,
            counter=counter, conversion=conversion, occupancy=people)

    # A month of visits is 0.1-0.3 s to read and bootstrap, and its shares barely move in a
    # minute: they are recomputed at most this often (and when the period starts anew).
    SHARES_MAX_AGE_S = 60.0

    def _period_shares(self, store, period: str, since: float, until: float) -> dict:
        cached = self._shares.get(period)
        if cached and cached[0] == since and time.monotonic() - cached[1] < self.SHARES_MAX_AGE_S:
            return cached[2]
        shares = period_shares(self._calibration, *store.visit_estimates(since, until),
                               self.config.privacy.k_floor)
        self._shares[period] = (since, time.monotonic(), shares)
        return shares


class _Timer:
    """Times each query, so a slow one shows up in the bench by name."""

    def __init__(self):
        self.ms: dict[str, float] = {}

    def __call__(self, name, fn, *args):
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.ms[name] = self.ms.get(name, 0.0) + (time.perf_counter() - start) * 1000
