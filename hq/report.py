"""`cx-hq report`: one self-contained HTML file (and optional JSON) across all stores.

    cx-hq report --config hq.toml --html report.html --since 2026-11-01 --until 2026-11-30
    cx-hq report --config hq.toml --html report.html --json report.json

    report = build(open_readonly("hq.db"), config, since=None, until=None)
    report["stores"][0]["nps"]["value"]      # the first store's NPS (None below min_n)

A store is `org/store` (its kiosks together). Each store's headline figures are the station's
scorecard (station/scorecard.py, as in `cx-station report` and the kiosk's admin screen): NPS
with its 95 % interval and group shares, CSAT, CES, participation (responses / camera entries),
complaints per response and per entry, case and complaint handling time, returning share and
NPS of first-visit vs returning shoppers, each absent with the reason below the n it needs
(HQ's privacy.min_n for the survey figures); beside them conversion (POS source), occupancy now
and peak and dwell per zone (hq/report_kpis.py). Demographic cells under privacy.k_floor visitors are
suppressed. Aggregation runs in the database (GROUP BY); Python only sees grouped rows, so the
report's memory does not grow with the number of events.

Each store also has its KPI targets, judged over the report's period on these figures, and its
alerts not yet resolved, counted by severity with the newest listed (hq/report_goals.py):

    report["stores"][0]["targets"][0]["status"]          # 'below_target'
    report["stores"][0]["alerts"]["by_severity"]         # {'critical': 0, 'warning': 1, ...}
"""
from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from station import kpi
from station.period import add_period_arguments
from station.scorecard import build_scorecard, nps_cell, nps_figure
from station.shares import calibration_or_none, period_shares
from hq import report_goals as goals
from hq import report_kpis
from hq import stats as hq_stats
from hq.views import backend_of, open_for_reading, period_clause, store_of, temp_name

BUCKET_S = 900          # 15 min: every UTC offset in use is a multiple, so local hours stay exact
GENDERS = ("female", "male")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("report", help="self-contained HTML report across stores",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True, help="the HQ's TOML config ([database], [reports])")
    p.add_argument("--html", help="write the HTML here (default: [reports] path of the config)")
    p.add_argument("--json", help="also write the figures as one JSON object here")
    add_period_arguments(p)
    p.add_argument("--title", default="Customer experience across stores")
    p.set_defaults(func=run)


def run(args) -> int:
    from hq.report_html import render_html
    opened = open_for_reading(args, "report")
    if opened is None:
        return 2
    config, db, since, until = opened
    try:
        report = build(db, config, since, until, title=args.title)
    finally:
        db.close()
    out = Path(args.html) if args.html else Path(config.reports.path)
    try:
        _write(out, render_html(report))
        if args.json:
            _write(Path(args.json), json.dumps(report, ensure_ascii=False, indent=1))
    except OSError as exc:
        print(f"cx-hq report: cannot write: {exc}", file=sys.stderr)
        return 1
    print(f"cx-hq report: {len(report['stores'])} stores, {report['all']['responses']} "
          f"responses -> {out}", file=sys.stderr)
    return 0


def _write(path: Path, text: str) -> None:
    """Write beside, then rename: a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    part.write_text(text, encoding="utf-8")
    os.replace(part, path)


def build(db, config, since: float | None, until: float | None, now: float | None = None,
          title: str = "Customer experience across stores") -> dict:
    """Every figure of the report as plain data (what --json writes)."""
    now = time.time() if now is None else now
    min_n, k = config.reports.min_n, config.reports.k_floor
    tz = config.tz
    end = until if until is not None else now
    period, params = period_clause(since, until)
    local = _LocalTime(tz)
    _materialize(db, period, params, since, until)
    visit_period, visit_params = period, params
    period, params = "1 = 1", []      # _responses and _traffic hold only the period already

    scores = _counts11(db.execute(
        f"SELECT store, CAST(nps AS INTEGER), count(*) FROM _responses WHERE {period} "
        f"AND nps BETWEEN 0 AND 10 GROUP BY 1, 2", params))
    counted = ", ".join(_count_if(c) for c in ("complete = 1", "presence = 'no_presence'",
                                               "presence = 'linked'"))
    totals = {row[0]: row[1:] for row in db.execute(
        f"SELECT store, count(*), {counted} FROM _responses WHERE {period} GROUP BY store",
        params)}
    csat = _answers(db, "csat", period, params)
    ces = _answers(db, "ces", period, params)
    traffic = {s: (i or 0, o or 0) for s, i, o in db.execute(
        f"SELECT store, sum(entries), sum(exits) FROM _traffic WHERE {period} AND entrance = 1 "
        f"GROUP BY store", params)}
    visits = _visit_mix(db, visit_period, visit_params)
    cases = _cases(db, visit_period, visit_params, end)
    stations = hq_stats.collect(db, now)["stations"]
    targets = goals.current_targets(db, until)
    alerts = goals.unresolved_alerts(db, until)
    store_names = sorted(set(scores) | set(traffic) | set(visits) | set(cases["opened"]) |
                         {store_of(s["station"]) for s in stations} | set(targets) |
                         set(alerts))
    by_store_stations = {}
    for s in stations:
        by_store_stations.setdefault(store_of(s["station"]), []).append(s["station"])

    extra = report_kpis.collect(db, period, params, end)
    segments = _linked_segments(db)
    summaries = []
    for store in store_names:
        summaries.append(_summary(
            store, by_store_stations.get(store, []), scores.get(store, [0] * 11),
            totals.get(store, (0, 0, 0, 0)), csat.get(store, {}), ces.get(store, {}),
            traffic.get(store, (0, 0)), visits.get(store, {}), cases, store, end,
            segments.get(store, {}), min_n, targets.get(store, {}), tz,
            _store_extra(extra, store)))
        summaries[-1]["alerts"] = goals.alert_summary(alerts.get(store, []), tz)
    all_summary = _summary(
        "All stores", sorted(s["station"] for s in stations), _sum_lists(scores.values()),
        tuple(sum(t[i] or 0 for t in totals.values()) for i in range(4)),
        _sum_dicts(csat.values()), _sum_dicts(ces.values()),
        tuple(sum(t[i] for t in traffic.values()) for i in range(2)),
        _sum_dicts(visits.values()), cases, None, end, _merge_segments(segments), min_n,
        {}, tz, _all_extra(extra))       # targets are each store's own: none for the total
    all_summary["alerts"] = goals.all_alert_summary([s["alerts"] for s in summaries])

    first, last = db.execute(f"SELECT min(ts_epoch), max(ts_epoch) FROM events WHERE "
                             f"{visit_period} AND type IN ('response', 'traffic', 'visit', "
                             f"'case')", visit_params).fetchone()
    return {
        "title": title,
        "generated_at": _iso(now, tz),
        "timezone": config.reports.timezone,
        "period": {"since": _iso(since, tz), "until": _iso(until, tz),
                   "first_event": _iso(first, tz), "last_event": _iso(last, tz)},
        "min_n": min_n, "k_floor": k,
        "all": all_summary,
        "stores": summaries,
        "weekly": _weekly(db, period, params, local, min_n),
        "by_hour": _by_hour(db, period, params, local),
        # Women's share and age mix per store, corrected for the face models' measured errors,
        # with 95 % intervals; none below k visitors (station/shares.py).
        "demographics": _demographics(db, visit_period, visit_params, store_names, k),
        "nps_by_age_bracket": {
            bracket: nps_cell(counts, min_n)
            for bracket, counts in sorted(_by_age(segments).items())},
        "reasons": _reasons(db, period, params),
        "stations": stations,
    }


# -- per store ---------------------------------------------------------------------------------
def _store_extra(extra: dict, store: str) -> dict:
    """One store's issue-17 tallies (hq/report_kpis.py)."""
    return {key: by_store.get(store) for key, by_store in extra.items()}


def _all_extra(extra: dict) -> dict:
    """The issue-17 tallies of all stores together (occupancy and dwell stay per store)."""
    complaints = list(extra["complaints"].values())
    conversion = list(extra["conversion"].values())
    first = list(extra["first_visit"].values())
    return {
        "complaints": {"complaints": sum(c["complaints"] for c in complaints),
                       "with_contact": sum(c["with_contact"] for c in complaints),
                       "handling_s": [h for c in complaints for h in c["handling_s"]]},
        "first_visit": {seg: _sum_lists(f[seg] for f in first) for seg in ("new", "returning")},
        "conversion": report_kpis.sum_conversion(conversion) if conversion else None,
        "occupancy": None, "zone_dwell": None}


def _summary(name, stations, counts, totals, csat, ces, traffic, visits, cases, store, end,
             segments, min_n, targets, tz, extra) -> dict:
    responses, complete, no_presence, linked = (t or 0 for t in totals)
    entries, exits = traffic
    handling = [h for s, h in cases["handling"] if store is None or s == store]
    opened = sum(n for s, n in cases["opened"].items() if store is None or s == store)
    open_now = [(n, oldest) for s, (n, oldest) in cases["open"].items()
                if store is None or s == store]
    oldest = min((o for _, o in open_now if o is not None), default=None)
    footfall = {seg: n for seg, n in visits.items() if None not in seg}
    card = build_scorecard(score_counts=counts, csat_counts=csat, ces_counts=ces,
                           responses=responses, entries=entries, cases_opened=opened,
                           handling_s=handling, min_n=min_n, complaints=extra["complaints"],
                           first_visit_scores=extra["first_visit"])
    conversion = extra["conversion"]
    buyers = None if conversion is None else (conversion["transactions"],
                                               conversion["entries"], "pos")
    occupancy = extra["occupancy"]
    if occupancy is not None:
        occupancy = {**occupancy, "at": _iso(occupancy["at"], tz),
                     "peak_at": _iso(occupancy["peak_at"], tz)}
    return {
        "store": name,
        "stations": stations,
        **card.as_dict(),
        "complete": complete, "no_presence": no_presence, "linked": linked,
        "score_distribution": counts,
        "entries": entries, "exits": exits,
        "visits": sum(visits.values()),
        "open_cases": sum(n for n, _ in open_now),
        "oldest_open_case_age_s": None if oldest is None else round(end - oldest, 1),
        "nps_post_stratified": nps_figure(
            kpi.post_stratified_nps(segments, footfall, min_n)).as_dict(),
        "conversion": conversion,
        "occupancy": occupancy,
        "zone_dwell": extra["zone_dwell"] or {},
        "targets": goals.judge(targets, goals.target_figures(card, csat, ces, entries,
                                                             handling, buyers), tz),
    }


def _counts11(rows) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for store, score, n in rows:
        out.setdefault(store, [0] * 11)[score] += n
    return out


def _answers(db, column, period, params) -> dict[str, dict[int, int]]:
    out: dict[str, dict[int, int]] = {}
    for store, value, n in db.execute(
            f"SELECT store, CAST({column} AS INTEGER), count(*) FROM _responses "
            f"WHERE {period} AND {column} IS NOT NULL GROUP BY 1, 2", params):
        out.setdefault(store, {})[value] = n
    return out


def _visit_mix(db, period, params) -> dict[str, dict[tuple, int]]:
    """store -> {(age_bracket, gender): visits}; None where the camera could not tell."""
    out: dict[str, dict[tuple, int]] = {}
    for store, age, gender, n in db.execute(
            f"SELECT store, age_bracket, gender, count(*) FROM _visits WHERE {period} "
            f"GROUP BY 1, 2, 3", params):
        out.setdefault(store, {})[(age, gender if gender in GENDERS else None)] = n
    return out


def _cases(db, period, params, end: float) -> dict:
    """Opened in the period, resolution times in the period, and the backlog open at `end`."""
    db.execute(f"DROP TABLE IF EXISTS {temp_name(db, '_resolved')}")
    db.execute("CREATE TEMP TABLE _resolved AS SELECT station, case_id, ts_epoch "
               "FROM cases WHERE status = 'resolved'")
    db.execute("CREATE INDEX _resolved_case ON _resolved (station, case_id)")
    opened = dict(db.execute(f"SELECT store, count(*) FROM cases WHERE {period} "
                             f"AND status = 'opened' GROUP BY store", params).fetchall())
    handling = db.execute(f"SELECT store, handling_s FROM cases WHERE {period} AND status = "
                          f"'resolved' AND handling_s IS NOT NULL", params).fetchall()
    open_now = {store: (n, oldest) for store, n, oldest in db.execute(
        "SELECT o.store, count(*), min(o.ts_epoch) FROM cases o WHERE o.status = 'opened' "
        "AND o.ts_epoch < ? AND NOT EXISTS (SELECT 1 FROM _resolved r WHERE "
        "r.station = o.station AND r.case_id = o.case_id AND r.ts_epoch < ?) GROUP BY o.store",
        (end, end))}
    return {"opened": opened, "handling": handling, "open": open_now}


def _materialize(db, period: str, params: list, since, until) -> None:
    """One pass of JSON extraction per event type into TEMP tables; every figure is then
    computed from these plain columns (the HQ file itself is never written)."""
    for name in ("_responses", "_traffic", "_visits"):
        db.execute(f"DROP TABLE IF EXISTS {temp_name(db, name)}")
    db.execute(f"CREATE TEMP TABLE _responses AS SELECT * FROM responses WHERE {period}", params)
    # traffic arrives per minute and line: keep only entrance sums per station and 15 minutes
    db.execute(f"CREATE TEMP TABLE _traffic AS SELECT station, store, "
               f"{_BUCKET} * {BUCKET_S} AS ts_epoch, "
               f"sum(entries) AS entries, sum(exits) AS exits, 1 AS entrance FROM traffic "
               f"WHERE {period} AND entrance = 1 GROUP BY station, store, {_BUCKET}", params)
    # A visit event is sent when the visitor leaves, so the visit a response is linked to can
    # fall a little outside the period: keep a day either side (the mix still uses the period).
    lo = -1e18 if since is None else since - 86400
    hi = 1e18 if until is None else until + 86400
    db.execute("CREATE TEMP TABLE _visits AS SELECT station, store, ts_epoch, visit_id, "
               "age_bracket, gender, p_female, age_probs FROM visits "
               "WHERE ts_epoch >= ? AND ts_epoch < ?", (lo, hi))
    db.execute("CREATE INDEX _visits_id ON _visits (station, visit_id)")


def _linked_segments(db) -> dict[str, dict[tuple, list[int]]]:
    """store -> {(age_bracket, gender): 11 score counts} of responses linked to a visitor."""
    out: dict[str, dict[tuple, list[int]]] = {}
    for store, age, gender, score, n in db.execute(
            "SELECT r.store, v.age_bracket, v.gender, CAST(r.nps AS INTEGER), count(*) "
            "FROM _responses r JOIN _visits v ON v.station = r.station "
            "AND v.visit_id = r.visit_id WHERE r.presence = 'linked' "
            "AND v.age_bracket IS NOT NULL AND v.gender IN ('female', 'male') "
            "AND r.nps BETWEEN 0 AND 10 GROUP BY 1, 2, 3, 4"):
        out.setdefault(store, {}).setdefault((age, gender), [0] * 11)[score] += n
    return out


def _merge_segments(segments: dict) -> dict:
    merged: dict[tuple, list[int]] = {}
    for per_store in segments.values():
        for seg, counts in per_store.items():
            target = merged.setdefault(seg, [0] * 11)
            for i, c in enumerate(counts):
                target[i] += c
    return merged


def _by_age(segments: dict) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for (age, _gender), counts in _merge_segments(segments).items():
        target = out.setdefault(age, [0] * 11)
        for i, c in enumerate(counts):
            target[i] += c
    return out


# -- demographics: corrected shares behind the k-anonymity floor --------------------------------
def _demographics(db, period, params, store_names, k: int) -> dict:
    """store -> station.shares.period_shares of its visits with a face estimate."""
    estimates: dict[str, tuple[list, list]] = {}
    for store, p_female, age_probs in db.execute(
            f"SELECT store, p_female, age_probs FROM _visits WHERE {period} "
            f"AND p_female IS NOT NULL AND age_probs IS NOT NULL", params):
        p, probs = estimates.setdefault(store, ([], []))
        p.append(float(p_female))
        # the view gives the JSON list as text (SQLite) or already parsed (a JSON column)
        probs.append(json.loads(age_probs) if isinstance(age_probs, str) else list(age_probs))
    cal = calibration_or_none()
    return {store: period_shares(cal, *estimates.get(store, ([], [])), k) for store in store_names}


# -- over time ---------------------------------------------------------------------------------
class _LocalTime:
    """UTC 15-minute bucket -> local hour and ISO week (Monday), cached per bucket."""

    def __init__(self, tz):
        self.tz = tz
        self.cache: dict[int, tuple[int, str]] = {}

    def __call__(self, bucket: int) -> tuple[int, str]:
        hit = self.cache.get(bucket)
        if hit is None:
            moment = datetime.fromtimestamp(bucket * BUCKET_S, self.tz)
            monday = (moment - timedelta(days=moment.weekday())).date()
            hit = self.cache[bucket] = (moment.hour, monday.isoformat())
        return hit


def _weekly(db, period, params, local, min_n) -> dict:
    per: dict[str, dict[str, list[int]]] = {}
    for store, bucket, score, n in db.execute(
            f"SELECT store, {_BUCKET}, CAST(nps AS INTEGER), "
            f"count(*) FROM _responses WHERE {period} AND nps BETWEEN 0 AND 10 "
            f"GROUP BY 1, 2, 3", params):
        _, week = local(bucket)
        per.setdefault(store, {}).setdefault(week, [0] * 11)[score] += n
    weeks = sorted({w for by_week in per.values() for w in by_week})
    if weeks:      # every week in the range, so an empty week shows as a gap
        first, last = datetime.fromisoformat(weeks[0]), datetime.fromisoformat(weeks[-1])
        weeks = [(first + timedelta(weeks=i)).date().isoformat()
                 for i in range((last - first).days // 7 + 1)]
    all_stores = {w: _sum_lists([per[s][w] for s in per if w in per[s]]) for w in weeks}
    return {
        "weeks": weeks,
        "stores": {store: [nps_cell(by_week.get(w, [0] * 11), min_n) for w in weeks]
                   for store, by_week in sorted(per.items())},
        "all": [nps_cell(all_stores[w], min_n) for w in weeks],
    }


def _by_hour(db, period, params, local) -> dict:
    """Entries and responses per local hour of day (0-23), per store."""
    entries: dict[str, list[int]] = {}
    for store, bucket, n in db.execute(
            f"SELECT store, {_BUCKET}, sum(entries) FROM _traffic "
            f"WHERE {period} AND entrance = 1 GROUP BY 1, 2", params):
        entries.setdefault(store, [0] * 24)[local(bucket)[0]] += n or 0
    responses: dict[str, list[int]] = {}
    for store, bucket, n in db.execute(
            f"SELECT store, {_BUCKET}, count(*) FROM _responses "
            f"WHERE {period} GROUP BY 1, 2", params):
        responses.setdefault(store, [0] * 24)[local(bucket)[0]] += n
    return {"entries": entries, "responses": responses}


def _reasons(db, period, params, top: int = 6) -> dict[str, list]:
    out: dict[str, list] = {}
    rperiod = period.replace("ts_epoch", "r.ts_epoch")
    if backend_of(db) == "postgresql":
        each = ("CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(r.reasons) "
                "= 'array' THEN r.reasons ELSE '[]'::jsonb END) AS j(value)")
    else:
        each = ", json_each(CASE WHEN json_valid(r.reasons) THEN r.reasons ELSE '[]' END) j"
    for group, reason, n in db.execute(
            f"SELECT CASE WHEN r.nps >= 9 THEN 'promoter' WHEN r.nps >= 7 THEN 'passive' "
            f"ELSE 'detractor' END AS grp, j.value, count(*) FROM _responses r {each} "
            f"WHERE {rperiod} GROUP BY 1, 2 ORDER BY 3 DESC, 2", params):
        if len(out.setdefault(group, [])) < top:
            out[group].append([reason, n])
    return out


# -- helpers -----------------------------------------------------------------------------------
# The 15-minute bucket of ts_epoch: floor, as PostgreSQL's CAST rounds where SQLite's truncates.
_BUCKET = f"CAST(floor(ts_epoch / {BUCKET_S}) AS BIGINT)"


def _count_if(condition: str) -> str:
    """How many rows meet `condition`, in SQL both engines read (no sum over a boolean)."""
    return f"sum(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def _sum_lists(lists) -> list[int]:
    total = [0] * 11
    for counts in lists:
        for i, c in enumerate(counts):
            total[i] += c
    return total


def _sum_dicts(dicts) -> dict:
    total: dict = {}
    for d in dicts:
        for key, n in d.items():
            total[key] = total.get(key, 0) + n
    return total


def _iso(ts: float | None, tz) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).astimezone(tz).isoformat(timespec="minutes")
