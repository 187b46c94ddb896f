"""Alerts: what the store manager (and HQ) should look at now, and the rules that raise them.

    store.append_response(Response(nps=2, ...))      # rule 1 fires inside its transaction
    evaluate_targets(store, config, now=time.time())  # rule 2: call it every few minutes
    [a.kind for a in store.alerts(state="open")]      # ['detractor', 'kpi_below_target']
    store.acknowledge_alert(alert_id)                 # the admin screen's button

The rules:

- ``detractor`` (subject: the station): every detractor answer (score 0-6), raised in
  append_response's transaction, with the score, reasons, comment and case; when the tap is
  linked to a visitor, their kiosk dwell so far and, once their visit is written, its age
  bracket and dwell per zone.
- ``kpi_below_target`` (subject: the KPI): a KPI whose overall status (station/trends.py) is
  below_target -- its whole 95 % interval on the wrong side of the target. A dip the interval
  cannot tell from noise raises nothing. It resolves itself when the KPI is back on target, so
  the next time it turns below raises a new alert.

There is at most one unresolved alert per (kind, subject): a repeat adds to its count and
last_seen (and context) instead of opening another. HQ gets an `alert` event when one opens,
is acknowledged or resolved; repeats reach HQ at most once per `resend_after_s` (the count
keeps counting in between), so a busy afternoon of detractors is not a flood.
"""
from __future__ import annotations

from dataclasses import dataclass

from station.trends import build_trends

SEVERITIES = ("info", "warning", "critical")
STATES = ("open", "acknowledged", "resolved")
RESEND_AFTER_S = 900.0
DETRACTOR = "detractor"
KPI_BELOW_TARGET = "kpi_below_target"


@dataclass(frozen=True)
class Alert:
    id: str
    kind: str
    severity: str
    subject: str
    first_seen: float
    last_seen: float
    count: int
    state: str
    context: dict
    note: str | None = None          # the manager's, when acknowledged or resolved
    changed_by: str | None = None


def evaluate_targets(store, config, now: float) -> list[str]:
    """Rule 2: raise (or count again) a `kpi_below_target` alert for each KPI whose overall
    status is below_target, resolve the one of each KPI back on target; returns the KPIs below
    target."""
    below = []
    trends = build_trends(store, config, now, days=0, weeks=0)    # read before the write lock
    with store.transaction():       # one commit for every KPI: the kiosk waits on it at most once
        for kpi, trend in trends.items():
            overall = trend["overall"]
            if overall["status"] == "below_target":
                below.append(kpi)
                target = trend["target"]
                # flat, so HQ's export gives each its own column (context.target, ...)
                store.raise_alert(KPI_BELOW_TARGET, "warning", kpi, at=now, context={
                    "value": overall["value"], "n": overall["n"],
                    "interval": overall["interval"], "span": overall["period"],
                    "target": target["value"], "direction": target["direction"],
                    "target_period": target["period"]})
            elif overall["status"] == "on_target":
                # Only a KPI back on target resolves: one that is merely not distinguishable
                # (or without enough answers) keeps its alert, so a KPI hovering at the edge of
                # its interval does not open and resolve an alert at every evaluation.
                store.resolve_alert(KPI_BELOW_TARGET, kpi, at=now)
    return below
