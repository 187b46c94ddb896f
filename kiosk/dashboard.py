"""The figures behind the admin screen, for one period, from the store's aggregate queries.

    figures = Dashboard(config, store).figures("7d")
    figures.nps.shown, figures.nps.nps, figures.nps.reason     # hidden below min_n, with why

No Qt here: the screen only draws what this returns. KPI maths is `station.kpi`'s.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from station import kpi

PERIODS = {"today": 0, "7d": 6, "30d": 29}      # whole local days before today


@dataclass
class Figures:
    period: str
    since: float
    until: float
    nps: kpi.NpsResult
    score_counts: list[int]
    csat: kpi.Share
    ces: kpi.Mean
    totals: dict
    entries: int
    participation: float | None
    traffic_by_hour: dict[int, int]
    dwell_minutes: list[float]
    visitor_mix: dict[tuple, int | None]
    nps_by_age: dict[str, kpi.NpsResult]
    open_cases: list
    case_totals: dict
    complaint_rate: float | None
    handling: tuple
    health: dict
    outbox: dict
    disk_free_bytes: int | None
    timings_ms: dict = field(default_factory=dict)

    @property
    def has_camera_data(self) -> bool:
        return bool(self.entries or self.dwell_minutes or self.visitor_mix)


class Dashboard:
    def __init__(self, config, store):
        self.config = config
        self.store = store

    def period_bounds(self, period: str, now: float | None = None) -> tuple[float, float, float]:
        """(since, until, utc offset) for a period that starts at local midnight."""
        now = time.time() if now is None else now
        local = datetime.fromtimestamp(now, self.config.tz)
        start = (local - timedelta(days=PERIODS[period])).replace(hour=0, minute=0, second=0,
                                                                   microsecond=0)
        return start.timestamp(), now + 1, start.utcoffset().total_seconds()

    def figures(self, period: str, now: float | None = None) -> Figures:
        since, until, offset = self.period_bounds(period, now)
        store, privacy, t = self.store, self.config.privacy, _Timer()
        counts = t("scores", store.score_counts, since, until)
        totals = t("totals", store.response_totals, since, until)
        csat = kpi.csat_from_counts(t("csat", store.answer_counts, "csat", since, until))
        ces = kpi.ces_from_counts(t("ces", store.answer_counts, "ces", since, until))
        entries = t("entries", store.entries, since, until)["entries"]
        by_hour = {int(h): n for h, n in t("traffic", store.entries_by_hour, since, until,
                                           offset).items()}
        visits = t("visits", store.visit_rows, since, until)
        mix = kpi.suppress_small_cells(t("mix", store.visitor_mix, since, until), privacy.k_floor)
        by_age: dict[str, list[int]] = {}
        for (age, _gender), scores in t("by_visitor", store.scores_by_visitor, since,
                                        until).items():
            row = by_age.setdefault(age or "", [0] * 11)
            for i, n in enumerate(scores):
                row[i] += n
        cases = t("cases", store.cases, since, until, True, 50)
        case_totals = t("case_totals", store.case_totals, since, until)
        health = t("health", store.health)
        outbox = t("outbox", store.outbox_status)
        try:
            disk_free = shutil.disk_usage(self.config.database.path.parent).free
        except OSError:
            disk_free = None
        return Figures(
            period=period, since=since, until=until,
            nps=kpi.nps_from_counts(counts, privacy.min_n), score_counts=counts,
            csat=csat, ces=ces, totals=totals, entries=entries,
            participation=kpi.participation_rate(totals["responses"], entries),
            traffic_by_hour=by_hour,
            dwell_minutes=[(v["left_at"] - v["entered_at"]) / 60 for v in visits],
            visitor_mix=mix,
            nps_by_age={age: kpi.nps_from_counts(c, privacy.min_n)
                        for age, c in sorted(by_age.items())},
            open_cases=cases, case_totals=case_totals,
            complaint_rate=kpi.complaint_rate(case_totals["opened"], totals["responses"]),
            handling=kpi.handling_time(case_totals["handling_s"]),
            health=health, outbox=outbox, disk_free_bytes=disk_free, timings_ms=t.ms)


class _Timer:
    """Times each query, so a slow one shows up in the bench by name."""

    def __init__(self):
        self.ms: dict[str, float] = {}

    def __call__(self, name, fn, *args):
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.ms[name] = (time.perf_counter() - start) * 1000
