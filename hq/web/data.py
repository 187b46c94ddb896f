"""Every figure the dashboard shows, read from the HQ database: the one module with its SQL.

    db = open_db(config)
    rows = overview(db, config, now)          # one dict per store: NPS, participation, health…
    store = store_detail(db, config, "acme/hcm-d1", now)   # trends per day and week, cases…

The SQL is portable (SQLite and PostgreSQL, through hq.views.open_database): it reads only
the views (responses, traffic, cases, pos_hours…) and the stations table, groups with plain
aggregates (no sum over a boolean, no date functions: time buckets are floor(ts_epoch / s) and
become local days in Python) and writes nothing. The maths is the station's: the scorecard
(station/scorecard.py), each KPI's interval and its status against a target
(station/trends.py), the report's target and alert builders (hq/report_goals.py).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from station import kpi
from station.scorecard import build_scorecard
from station.trends import day_periods, scorecard_intervals, week_periods
from hq import report_goals as goals
from hq import stats as hq_stats
from hq.views import store_of

BUCKET_S = 900        # 15 min: every UTC offset in use is a multiple, so local days stay exact
TREND_DAYS, TREND_WEEKS = 14, 8
CASES_SHOWN = 20


def open_db(config):
    """A fresh read connection (one per request: never hold the receiver's lock), on the
    backend the config's [database] names."""
    from hq import views
    return views.open_database(config)


@dataclass
class Tally:
    """One store's (or one bucket's) counts, from which the scorecard is built."""
    scores: list = field(default_factory=lambda: [0] * 11)
    csat: dict = field(default_factory=dict)
    ces: dict = field(default_factory=dict)
    responses: int = 0
    entries: int = 0
    opened: int = 0
    handling: list = field(default_factory=list)

    def add(self, other: "Tally") -> None:
        self.scores = [a + b for a, b in zip(self.scores, other.scores)]
        for mine, theirs in ((self.csat, other.csat), (self.ces, other.ces)):
            for value, n in theirs.items():
                mine[value] = mine.get(value, 0) + n
        self.responses += other.responses
        self.entries += other.entries
        self.opened += other.opened
        self.handling += other.handling

    def scorecard(self, min_n: int):
        return build_scorecard(score_counts=self.scores, csat_counts=self.csat,
                               ces_counts=self.ces, responses=self.responses,
                               entries=self.entries, cases_opened=self.opened,
                               handling_s=self.handling, min_n=min_n)

    def figures(self, min_n: int) -> dict:
        """Each targetable KPI with its 95 % interval (station/trends.scorecard_intervals)."""
        return scorecard_intervals(self.scorecard(min_n), self.csat, self.ces, self.entries,
                                   self.handling)


# -- tallies ------------------------------------------------------------------------------------
def _stations_clause(stations) -> tuple[str, list]:
    if stations is None:
        return "", []
    return f" AND station IN ({', '.join('?' * len(stations))})", list(stations)


def entries_by_quarter(db, since: float, until: float, stations=None) -> dict[tuple[str, int],
                                                                                int]:
    """{(station, start of its quarter hour): camera entries on entrance lines}: traffic is the
    largest event type, so it is read once and summed per day, week, period or POS hour here."""
    where, extra = _stations_clause(stations)
    return {(station, int(q) * BUCKET_S): int(n or 0) for station, q, n in db.execute(
        f"SELECT station, floor(ts_epoch / {BUCKET_S}), sum(entries) FROM traffic WHERE "
        f"ts_epoch >= ? AND ts_epoch < ? AND CAST(entrance AS INTEGER) = 1{where} "
        f"GROUP BY 1, 2", [since, until] + extra)}


def tallies(db, since: float, until: float, entries: dict, stations=None,
            bucket_s: int | None = None) -> dict[tuple[str, int], Tally]:
    """{(store, bucket start): Tally} over since <= ts < until; one bucket per store when
    bucket_s is None (its key's start is 0). `entries` is entries_by_quarter's."""
    bucket = f"floor(ts_epoch / {int(bucket_s)})" if bucket_s else "0"
    where, extra = _stations_clause(stations)
    span = [since, until] + extra
    out: dict[tuple[str, int], Tally] = {}

    def cell(store, b) -> Tally:
        return out.setdefault((store, int(b) * (bucket_s or 0)), Tally())

    for store, b, score, csat, ces, n in db.execute(
            f"SELECT store, {bucket}, CAST(nps AS INTEGER), CAST(csat AS INTEGER), "
            f"CAST(ces AS INTEGER), count(*) FROM responses WHERE ts_epoch >= ? AND "
            f"ts_epoch < ?{where} GROUP BY 1, 2, 3, 4, 5", span):
        t = cell(store, b)
        t.responses += n
        if score is not None and 0 <= score <= 10:
            t.scores[score] += n
        for answers, value in ((t.csat, csat), (t.ces, ces)):
            if value is not None:
                answers[value] = answers.get(value, 0) + n
    for (station, quarter), n in entries.items():
        cell(store_of(station), quarter // bucket_s if bucket_s else 0).entries += n
    for store, b, n in db.execute(
            f"SELECT store, {bucket}, count(*) FROM cases WHERE ts_epoch >= ? AND ts_epoch < ? "
            f"AND status = 'opened'{where} GROUP BY 1, 2", span):
        cell(store, b).opened += n
    for store, b, seconds in db.execute(
            f"SELECT store, {bucket}, handling_s FROM cases WHERE ts_epoch >= ? AND "
            f"ts_epoch < ? AND status = 'resolved' AND handling_s IS NOT NULL{where}", span):
        cell(store, b).handling.append(float(seconds))
    return out


def conversion(db, since: float, until: float, entries: dict, stations=None) -> dict[str, dict]:
    """{store: {transactions, entries, rate, interval}} from point-of-sale hours, as the
    station defines it (station/conversion.py): the latest figure of each hour, over the
    hours that also have camera entries. Stores without POS figures are absent."""
    where, extra = _stations_clause(stations)
    sales: dict[tuple[str, int], int] = {}
    for station, hour, n in db.execute(
            f"SELECT p.station, p.ts_epoch, p.transactions FROM pos_hours p JOIN "
            f"(SELECT station, ts_epoch, max(seq) AS seq FROM pos_hours WHERE ts_epoch >= ? "
            f"AND ts_epoch < ?{where} GROUP BY station, ts_epoch) latest "
            f"ON latest.station = p.station AND latest.seq = p.seq", [since, until] + extra):
        sales[(station, int(hour // 3600))] = int(n or 0)
    if not sales:
        return {}
    seen: dict[tuple[str, int], int] = {}
    for (station, quarter), n in entries.items():
        seen[(station, quarter // 3600)] = seen.get((station, quarter // 3600), 0) + n
    out: dict[str, dict] = {}
    for (station, hour), n in sales.items():
        cell = out.setdefault(store_of(station), {"transactions": 0, "entries": 0})
        if seen.get((station, hour)):
            cell["transactions"] += n
            cell["entries"] += seen[(station, hour)]
    for cell in out.values():
        cell["rate"] = kpi.conversion_rate(cell["transactions"], cell["entries"])
        cell["interval"] = (kpi.proportion_interval(cell["transactions"], cell["entries"])
                            if cell["entries"] and cell["transactions"] <= cell["entries"]
                            else None)
    return out


def open_cases(db, stations=None) -> dict[str, list[dict]]:
    """{store: cases opened and not resolved, oldest first (ties in one order on both
    backends)}: id, station, opened, score."""
    where, extra = _stations_clause(stations)
    out: dict[str, list[dict]] = {}
    for station, case_id, opened, score in db.execute(
            f"SELECT station, case_id, min(ts_epoch), min(nps) FROM cases WHERE 1 = 1{where} "
            f"GROUP BY station, case_id HAVING sum(CASE WHEN status = 'resolved' THEN 1 "
            f"ELSE 0 END) = 0 ORDER BY 3, 1, 2", extra):
        out.setdefault(store_of(station), []).append(
            {"station": station, "case_id": case_id, "opened": opened, "nps": score})
    return out


def last_events(db) -> dict[str, tuple[float, str]]:
    """{station: (time, type) of its highest-seq event}: one primary-key lookup per station."""
    return {station: (ts, type_) for station, ts, type_ in db.execute(
        "SELECT e.station, e.ts_epoch, e.type FROM events e JOIN stations s "
        "ON s.station = e.station AND e.seq = s.max_seq")}


# -- pages --------------------------------------------------------------------------------------
def overview(db, config, now: float, days: int | None = None, store: str | None = None) -> dict:
    """Every store (or only `store`) with its figures over the last `days` (the [web] period by
    default)."""
    days = days or config.web.period_days
    since, min_n = now - 86400 * days, config.reports.min_n
    delivery = hq_stats.collect(db, now)
    only = None
    if store is not None:
        delivery["stations"] = [s for s in delivery["stations"] if store_of(s["station"]) == store]
        only = [s["station"] for s in delivery["stations"]]
        if not only:
            return {"since": since, "until": now, "days": days, "stores": [], "chain": None}
    entries = entries_by_quarter(db, since, now, only)
    counted = {name: t for (name, _), t in tallies(db, since, now, entries, only).items()}
    sales = conversion(db, since, now, entries, only)
    cases = open_cases(db, only)
    targets = goals.current_targets(db, None)
    alerts = goals.unresolved_alerts(db, None)
    latest = last_events(db)
    stations: dict[str, list[dict]] = {}
    for s in delivery["stations"]:
        s["last_event"] = latest.get(s["station"], (None, None))[0]
        s["fps"] = camera_fps(s["health"])
        s["last_seen_epoch"] = None if s["last_seen_ago_s"] is None else now - s["last_seen_ago_s"]
        stations.setdefault(store_of(s["station"]), []).append(s)
    names = sorted(set(stations) | set(counted) | set(cases) | set(targets) | set(alerts))
    if store is not None:
        names = [store]
    rows = [_store_row(name, stations.get(name, []), counted.get(name, Tally()),
                       sales.get(name), cases.get(name, []), targets.get(name, {}),
                       alerts.get(name, []), min_n, config.tz, now) for name in names]
    chain = Tally()
    for t in counted.values():
        chain.add(t)
    card = chain.scorecard(min_n)
    return {"since": since, "until": now, "days": days, "stores": rows,
            "chain": {"card": card, "responses": chain.responses, "entries": chain.entries,
                      "open_cases": sum(len(c) for c in cases.values()),
                      "alerts": sum(r["alerts"]["unresolved"] for r in rows),
                      "stations": len(delivery["stations"]), "online": delivery["online"]}}


def _store_row(name, stations, tally, sales, cases, targets, alerts, min_n, tz, now) -> dict:
    card = tally.scorecard(min_n)
    judged = goals.judge(targets, tally.figures(min_n), tz)
    statuses = [s["status"] for s in stations]
    backlogs = [s["backlog"] for s in stations if isinstance(s["backlog"], int)]
    last_events = [s["last_event"] for s in stations if s["last_event"] is not None]
    return {
        "store": name, "stations": stations,
        "online": sum(st == "online" for st in statuses), "station_count": len(stations),
        "last_event": max(last_events, default=None),
        "card": card, "responses": tally.responses, "entries": tally.entries,
        "conversion": sales,
        "open_cases": len(cases), "cases": cases,
        "oldest_case_age_s": now - cases[0]["opened"] if cases else None,
        "alerts": goals.alert_summary(alerts, tz),
        "backlog": sum(backlogs) if backlogs else None,
        "missing": sum(s["missing"] for s in stations),
        "dead_letters": sum(s["dead_letters"] for s in stations),
        "targets": judged,
        "below_target": [t for t in judged if t["status"] == "below_target"],
        "nps_target": next((t for t in judged if t["kpi"] == "nps"), None),
    }


def store_detail(db, config, store: str, now: float) -> dict | None:
    """One store: its overview row, trends per day and week, open cases, alerts, stations."""
    rows = overview(db, config, now, store=store)["stores"]
    if not rows:
        return None
    row = rows[0]
    tz, min_n = config.tz, config.reports.min_n
    stations = [s["station"] for s in row["stations"]]
    days = day_periods(now, tz, TREND_DAYS)
    weeks = week_periods(now, tz, TREND_WEEKS)
    start = min(days[0][1], weeks[0][1])
    entries = entries_by_quarter(db, start, now, stations)
    buckets = [(b, t) for (s, b), t in tallies(db, start, now, entries, stations,
                                               BUCKET_S).items() if s == store]
    row["daily"] = _trend(days, buckets, min_n)
    row["weekly"] = _trend(weeks, buckets, min_n)
    return row


def _trend(periods, buckets, min_n) -> list[dict]:
    out = []
    for label, since, until in periods:
        t = Tally()
        for start, bucket in buckets:
            if since <= start < until:
                t.add(bucket)
        out.append({"label": label, "since": since, "until": until, "card": t.scorecard(min_n),
                    "responses": t.responses, "entries": t.entries})
    return out


def camera_fps(health) -> float | None:
    """The camera's frames per second where the station's health message carries it."""
    if not isinstance(health, dict):
        return None
    vision = health.get("vision")
    for value in ((vision or {}).get("fps") if isinstance(vision, dict) else None,
                  health.get("camera_fps"), health.get("fps")):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def as_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
