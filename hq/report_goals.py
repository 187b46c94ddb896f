"""The HQ report's goals part: each store's KPI targets, whether it meets them over the report's
period, and its alerts not yet resolved.

    targets = current_targets(db, until=None)        # {store: {kpi: [per-station target, ...]}}
    alerts = unresolved_alerts(db, until=None)       # {store: [alert, ...]}
    judged = judge(targets.get("acme/s1", {}), target_figures(card, ...), tz)
    summary = alert_summary(alerts.get("acme/s1", []), tz)

A station sends a `target` event for every change of a target and an `alert` event for every
change of an alert, each with the whole record as it now is; the one with the highest seq of
a station is its current state (seq orders a station's own writes; arrival order and event
times do not: a backfill writes old times late). With --until, the state is as of that time.

The status words and the interval of each KPI are the station's own (station/trends.py,
station/targets.py), judged here over the report's period on the report's figures, so they
respect its privacy floor: a KPI hidden below min_n is "too few answers", without its value.
An alert's `context` (a detractor's answer and comment) never leaves here: only its kind,
subject, severity, state, times, count and the manager's note.
"""
from __future__ import annotations

from datetime import datetime

from station.alerts import SEVERITIES
from station.scorecard import Figure, Scorecard
from station.targets import TARGET_KPIS, Target
from station.trends import scorecard_intervals, status as target_status
from hq.views import store_of

ALERTS_SHOWN = 20          # unresolved alerts listed per store, newest first (all are counted)


# -- what HQ holds -----------------------------------------------------------------------------
def current_targets(db, until: float | None) -> dict[str, dict[str, list[dict]]]:
    """{store: {kpi: [each station's current target, latest set first]}}."""
    asof, params = ("ts_epoch < ?", [until]) if until is not None else ("1 = 1", [])
    out: dict[str, dict[str, list[dict]]] = {}
    for station, kpi_name, value, direction, period, source, who, changed_at, ts in db.execute(
            f"SELECT t.station, t.kpi, t.value, t.direction, t.period, t.source, t.who, "
            f"t.changed_at, t.ts_epoch FROM targets t JOIN (SELECT station, max(seq) AS seq "
            f"FROM targets WHERE {asof} GROUP BY station, kpi) latest "
            f"ON latest.station = t.station AND latest.seq = t.seq", params):
        out.setdefault(store_of(station), {}).setdefault(kpi_name, []).append({
            "station": station, "value": value, "direction": direction, "period": period,
            "source": source, "who": who, "set_at": _epoch(changed_at, ts)})
    for per_kpi in out.values():
        for targets in per_kpi.values():
            targets.sort(key=lambda t: (-t["set_at"], t["station"]))
    return out


def unresolved_alerts(db, until: float | None) -> dict[str, list[dict]]:
    """{store: its alerts whose latest event is not 'resolved', newest activity first}."""
    asof, params = ("ts_epoch < ?", [until]) if until is not None else ("1 = 1", [])
    out: dict[str, list[dict]] = {}
    # `context` is deliberately not selected: it may hold a customer's comment
    for row in db.execute(
            f"SELECT a.station, a.kind, a.severity, a.subject, a.state, a.first_seen, "
            f"a.last_seen, a.count, a.note, a.ts_epoch FROM alerts a JOIN (SELECT station, "
            f"max(seq) AS seq FROM alerts WHERE {asof} GROUP BY station, alert_id) latest "
            f"ON latest.station = a.station AND latest.seq = a.seq "
            f"WHERE a.state IS DISTINCT FROM 'resolved'", params):
        station, kind, severity, subject, state, first, last, count, note, ts = row
        out.setdefault(store_of(station), []).append({
            "station": station, "kind": kind, "severity": severity, "subject": subject,
            "state": state, "first_seen": _epoch(first, ts), "last_seen": _epoch(last, ts),
            "count": count, "note": note})
    for alerts in out.values():
        alerts.sort(key=lambda a: (-a["last_seen"], a["station"], a["kind"], a["subject"]))
    return out


# -- targets against the report's figures ------------------------------------------------------
def target_figures(card: Scorecard, csat_counts: dict[int, int], ces_counts: dict[int, int],
                   entries: int, handling_s: list[float],
                   conversion: tuple[int, int, str] | None = None
                   ) -> dict[str, tuple[Figure, tuple]]:
    """Each targetable KPI of the report's scorecard with its 95 % interval, paired as the
    station pairs them (station/trends.scorecard_intervals)."""
    return scorecard_intervals(card, csat_counts, ces_counts, entries, handling_s, conversion)


def judge(targets: dict[str, list[dict]], figures: dict, tz) -> list[dict]:
    """One row per targeted KPI: the store's target (the latest set of its stations'), the
    report's figure with its interval (absent below the privacy floor) and the status."""
    rows = []
    for name in sorted(targets, key=_kpi_order):
        latest, *others = targets[name]
        row = {"kpi": name, **{k: latest[k] for k in ("value", "direction", "period", "source",
                                                       "who", "station")},
               "set_at": _iso(latest["set_at"], tz), "unit": _unit(name),
               # other stations of the store with another target on this KPI
               "differs": [{**o, "set_at": _iso(o["set_at"], tz)} for o in others
                           if _same(o) != _same(latest)]}
        figure, interval = figures.get(name, (None, None))
        try:
            target = Target(name, latest["value"], latest["direction"], latest["period"])
        except (TypeError, ValueError):       # a KPI or range this HQ does not know
            target = None
        if figure is None or target is None:
            row.update(figure=None, status=None)
        else:
            row.update(figure={"value": figure.value, "n": figure.n,
                               "interval": list(interval) if figure.shown and interval
                               else None, "reason": figure.reason},
                       status=target_status(figure, interval, target))
        rows.append(row)
    return rows


# -- alerts ------------------------------------------------------------------------------------
def alert_summary(alerts: list[dict], tz, shown: int = ALERTS_SHOWN) -> dict:
    """Unresolved alerts counted by severity and state, and the newest `shown` of them."""
    by_severity = {severity: 0 for severity in reversed(SEVERITIES)}     # critical first
    by_state: dict[str, int] = {}
    for a in alerts:
        by_severity[a["severity"]] = by_severity.get(a["severity"], 0) + 1
        by_state[a["state"]] = by_state.get(a["state"], 0) + 1
    return {
        "unresolved": len(alerts), "by_severity": by_severity, "by_state": by_state,
        "newest": [{**a, "first_seen": _iso(a["first_seen"], tz),
                    "last_seen": _iso(a["last_seen"], tz)} for a in alerts[:shown]],
        "left_out": max(0, len(alerts) - shown),
    }


def all_alert_summary(per_store: list[dict]) -> dict:
    """The stores' alert counts added up (no list: each store has its own)."""
    by_severity = {severity: 0 for severity in reversed(SEVERITIES)}
    by_state: dict[str, int] = {}
    for s in per_store:
        for key, n in s["by_severity"].items():
            by_severity[key] = by_severity.get(key, 0) + n
        for key, n in s["by_state"].items():
            by_state[key] = by_state.get(key, 0) + n
    return {"unresolved": sum(s["unresolved"] for s in per_store), "by_severity": by_severity,
            "by_state": by_state, "newest": [], "left_out": 0}


# -- helpers -----------------------------------------------------------------------------------
def _kpi_order(name: str):
    order = list(TARGET_KPIS)
    return (order.index(name) if name in order else len(order), name)


def _unit(name: str) -> str:
    return TARGET_KPIS[name].unit if name in TARGET_KPIS else ""


def _same(target: dict) -> tuple:
    return (target["value"], target["direction"], target["period"])


def _epoch(rfc3339, fallback: float) -> float:
    """An event's own time field as epoch seconds; the event's ts where it cannot be read."""
    try:
        moment = datetime.fromisoformat(str(rfc3339).replace("Z", "+00:00"))
    except ValueError:
        return fallback
    return moment.timestamp() if moment.tzinfo else fallback


def _iso(ts: float, tz) -> str:
    return datetime.fromtimestamp(ts, tz).isoformat(timespec="minutes")
