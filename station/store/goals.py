"""The store's writes of KPI targets and alerts (Store inherits them; see station/targets.py
and station/alerts.py for what they mean).

    store.set_target(Target("nps", 40, "higher", "week"), "admin", who="manager")
    store.raise_alert("kpi_below_target", "warning", "nps", context={...})
    store.acknowledge_alert(alert_id)

Each change is one transaction with its `target` or `alert` event in the outbox, as every
write of the store (Store.transaction, Store._append_events).
"""
from __future__ import annotations

import dataclasses
import json
import time

from station import events
from station.alerts import SEVERITIES, Alert
from station.events import rfc3339
from station.store.records import Response, StoreError, new_id
from station.targets import SOURCES, Target


class Goals:
    """Mixed into Store: needs its db, transaction(), _append_events(), station, kiosk_zone
    and alert_resend_s."""

    # -- targets ---------------------------------------------------------------------------
    def set_target(self, target: Target, source: str, who: str | None = None,
                   at: float | None = None) -> bool:
        """Make `target` the current one on its KPI, with its audit row and a `target` event
        to HQ in the same transaction. Setting what is already there changes nothing and
        returns False."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {list(SOURCES)}, got {source!r}")
        at = at or time.time()
        with self.transaction():
            old = self.target(target.kpi)
            if old == target:
                return False
            data = events.Target(
                kpi=target.kpi, value=float(target.value), direction=target.direction,
                period=target.period, source=source, changed_at=rfc3339(at), who=who,
                old_value=old and float(old.value), old_direction=old and old.direction,
                old_period=old and old.period).to_data()
            (seq,) = self._append_events("target", [(new_id(), at, data)])
            self.db.execute(
                "INSERT INTO target_changes (kpi, ts, source, who, old_value, old_direction, "
                "old_period, new_value, new_direction, new_period, outbox_seq) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (target.kpi, at, source, who, old and old.value, old and old.direction,
                 old and old.period, target.value, target.direction, target.period, seq))
            self.db.execute(
                "INSERT INTO targets (kpi, value, direction, period, updated_at, source) "
                "VALUES (?,?,?,?,?,?) ON CONFLICT (kpi) DO UPDATE SET value = excluded.value, "
                "direction = excluded.direction, period = excluded.period, "
                "updated_at = excluded.updated_at, source = excluded.source",
                (target.kpi, target.value, target.direction, target.period, at, source))
        return True

    def apply_config_targets(self, targets: list[Target], at: float | None = None) -> list[str]:
        """At start-up: set each configured target that differs from the database's, unless
        the config already applied that very target and a manager or HQ changed it since (their
        change stands until the config file itself changes). Returns the KPIs set."""
        changed = []
        with self.transaction():
            for target in targets:
                if target == self.target(target.kpi) or \
                        target == self.last_config_target(target.kpi):
                    continue
                if self.set_target(target, "config", at=at):
                    changed.append(target.kpi)
        return changed

    # -- alerts ----------------------------------------------------------------------------
    def raise_alert(self, kind: str, severity: str, subject: str, context: dict,
                    at: float | None = None) -> str:
        """Open an alert, or count a repeat on the unresolved one of (kind, subject); returns
        its id. See station/alerts.py for the rules and the rate limit."""
        with self.transaction():
            return self._raise_alert(kind, severity, subject, context, at or time.time())

    def _raise_alert(self, kind, severity, subject, context, at) -> str:
        if severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {list(SEVERITIES)}, got {severity!r}")
        row = self.db.execute(
            "SELECT id, first_seen, last_seen, count, state, sent_at, note, changed_by "
            "FROM alerts WHERE kind = ? AND subject = ? AND state != 'resolved'", (kind, subject)).fetchone()
        if row is None:
            alert = Alert(new_id(), kind, severity, subject, at, at, 1, "open", context)
            self.db.execute(
                "INSERT INTO alerts (id, kind, severity, subject, first_seen, last_seen, count, "
                "state, context, changed_at, sent_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (alert.id, kind, severity, subject, at, at, 1, "open", json.dumps(context), at,
                 at))
            self._send_alert(alert, at)
            return alert.id
        alert_id, first_seen, last_seen, count, state, sent_at, note, who = row
        # min/max: a backfill (simulated history, a replayed queue) may arrive out of order
        alert = Alert(alert_id, kind, severity, subject, min(first_seen, at),
                      max(last_seen, at), count + 1, state, context, note, who)
        resend = at - sent_at >= self.alert_resend_s
        self.db.execute(
            "UPDATE alerts SET severity = ?, first_seen = ?, last_seen = ?, count = ?, "
            "context = ?, sent_at = ? WHERE id = ?",
            (severity, alert.first_seen, alert.last_seen, alert.count, json.dumps(context),
             at if resend else sent_at, alert_id))
        if resend:
            self._send_alert(alert, at)
        return alert_id

    def acknowledge_alert(self, alert_id: str, note: str | None = None, who: str | None = None,
                          at: float | None = None) -> Alert:
        """The manager has seen it; it stays unresolved (a repeat still counts on it)."""
        return self._change_alert(alert_id, "acknowledged", at or time.time(), note, who)

    def close_alert(self, alert_id: str, note: str | None = None, who: str | None = None,
                    at: float | None = None) -> Alert:
        """The manager has dealt with it: resolved, with their note; the next one opens anew."""
        return self._change_alert(alert_id, "resolved", at or time.time(), note, who)

    def resolve_alert(self, kind: str, subject: str, at: float | None = None) -> Alert | None:
        """A rule saw its condition clear: close the unresolved alert of (kind, subject), if
        any."""
        with self.transaction():
            row = self.db.execute("SELECT id FROM alerts WHERE kind = ? AND subject = ? AND "
                                  "state != 'resolved'", (kind, subject)).fetchone()
            return self._change_alert(row[0], "resolved", at or time.time()) if row else None

    def _change_alert(self, alert_id: str, state: str, at: float, note: str | None = None,
                      who: str | None = None) -> Alert:
        with self.transaction():
            alert = self.alert(alert_id)
            if alert is None:
                raise StoreError(f"no alert with id {alert_id}")
            if alert.state == state or alert.state == "resolved":
                return alert
            note = note.strip() or None if note else None
            alert = dataclasses.replace(alert, state=state, note=note or alert.note,
                                        changed_by=who or alert.changed_by)
            self.db.execute("UPDATE alerts SET state = ?, changed_at = ?, sent_at = ?, note = ?, "
                            "changed_by = ? WHERE id = ?",
                            (state, at, at, alert.note, alert.changed_by, alert_id))
            self._send_alert(alert, at)
        return alert

    def _send_alert(self, alert: Alert, at: float) -> None:
        """An `alert` event with the alert as it now is, and its alert_events row. The alert's
        row must exist already (alert_events refers to it)."""
        data = events.Alert(alert_id=alert.id, kind=alert.kind, severity=alert.severity,
                            subject=alert.subject, state=alert.state,
                            first_seen=rfc3339(alert.first_seen),
                            last_seen=rfc3339(alert.last_seen), count=alert.count,
                            context=alert.context, note=alert.note,
                            changed_by=alert.changed_by).to_data()
        (seq,) = self._append_events("alert", [(new_id(), at, data)])
        self.db.execute("INSERT INTO alert_events (alert_id, ts, state, count, outbox_seq) "
                        "VALUES (?,?,?,?,?)", (alert.id, at, alert.state, alert.count, seq))

    def _detractor_context(self, response: Response, visit_id: str | None,
                           case_id: str) -> dict:
        """What the manager needs to go and talk to a detractor: the answer and, when the tap
        is linked, who stood at the kiosk (their visit row exists only once they left)."""
        context = {"response_id": response.id, "case_id": case_id, "score": response.nps,
                   "reasons": list(response.reasons), "comment": response.comment,
                   "visit_id": visit_id}
        if visit_id is None:
            return context
        dwell = self.db.execute("SELECT sum(until - since) FROM presence WHERE visit_id = ? "
                                "AND zone = ?", (visit_id, self.kiosk_zone)).fetchone()[0]
        visit = self.db.execute("SELECT age_bracket, dwell FROM visits WHERE id = ?",
                                (visit_id,)).fetchone()
        context.update(kiosk_dwell_s=dwell, age_bracket=visit[0] if visit else None,
                       dwell=json.loads(visit[1]) if visit else None)
        return context
