"""The local alert hook: `[alerts] command` runs once per alert change, the alert as JSON on
its stdin, so a store can post alerts to its own chat, pager or e-mail gateway.

    hook = AlertHook(config, log)
    hook.run_pending(store)        # every alert_events row since the last run

It runs in cx-watch, never in the writer's process: a slow or broken hook delays no tap and
no camera frame. A hook that fails or outlives `command_timeout_s` is logged (and killed) and
changes nothing else; its alert counts as told, so one broken script cannot replay old alerts
forever. The progress mark (the last alert_events id handled) lives in the settings table,
so a restart neither repeats nor skips an alert.
"""
from __future__ import annotations

import json
import logging
import subprocess
import time
from dataclasses import asdict

from station import notify
from station.events import rfc3339

MARK = "alert_hook_mark"
BATCH = 100

log = logging.getLogger("station.watch.hook")


class AlertHook:
    def __init__(self, config):
        self.argv = list(config.alerts.command)
        self.timeout_s = config.alerts.command_timeout_s
        self.states = set(config.alerts.command_on)
        self.station = config.station.path
        self.stats = {"runs": 0, "failures": 0, "timeouts": 0}

    @property
    def enabled(self) -> bool:
        return bool(self.argv)

    def run_pending(self, store, budget_s: float = 20.0) -> int:
        """Run the command for each alert change after the mark, for at most about `budget_s`
        (the rest waits for the next check, so a dead webhook cannot starve the other rules);
        returns how many it ran."""
        if not self.enabled:
            return 0
        mark = store.setting(MARK)
        if mark is None:
            # first start: the alerts so far are history, not news
            last = store.db.execute("SELECT coalesce(max(id), 0) FROM alert_events").fetchone()
            store.set_setting(MARK, last[0])
            return 0
        rows = store.db.execute(
            "SELECT id, alert_id, ts, state FROM alert_events WHERE id > ? ORDER BY id LIMIT ?",
            (mark, BATCH)).fetchall()
        ran, deadline = 0, time.monotonic() + budget_s
        for event_id, alert_id, ts, state in rows:
            if time.monotonic() > deadline:
                break
            alert = store.alert(alert_id)
            if state in self.states and alert is not None:
                self.run(alert_payload(self.station, alert, state, ts))
                notify.watchdog()          # each run may take command_timeout_s
                ran += 1
            store.set_setting(MARK, event_id)
        return ran

    def run(self, payload: dict) -> bool:
        """Run the command once with `payload` on stdin; True when it exited 0 in time."""
        self.stats["runs"] += 1
        try:
            result = subprocess.run(self.argv, input=json.dumps(payload, ensure_ascii=False),
                                    text=True, capture_output=True, timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            self.stats["timeouts"] += 1
            log.warning("alert hook %s ran past %.1f s and was killed (alert %s %s)",
                        self.argv[0], self.timeout_s, payload.get("kind"), payload.get("id"))
            return False
        except OSError as exc:
            self.stats["failures"] += 1
            log.warning("alert hook %s could not start: %s", self.argv[0], exc)
            return False
        if result.returncode != 0:
            self.stats["failures"] += 1
            log.warning("alert hook %s exited %d for alert %s %s: %s", self.argv[0],
                        result.returncode, payload.get("kind"), payload.get("id"),
                        result.stderr.strip()[-300:])
            return False
        return True


def alert_payload(station: str, alert, state: str, at: float) -> dict:
    """The JSON a hook reads: the alert as the admin screen shows it, times in RFC 3339."""
    data = asdict(alert)
    data.update(station=station, state=state, changed_at=rfc3339(at),
                first_seen=rfc3339(alert.first_seen), last_seen=rfc3339(alert.last_seen))
    return data
