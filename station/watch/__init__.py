"""cx-watch: the station's alert service. It evaluates, on a timer, every alert rule that is
not raised by a write itself (the detractor rule is: it fires inside append_response).

    watcher = Watcher(config, store)
    timings = watcher.check(time.time())   # {'camera_no_frame': 0.0004, ..., 'hook': 0.0}

Each check looks at what the other services wrote (health rows, outbox, traffic, responses),
turns each rule's findings (station/watch/rules.py) into alerts, checks KPIs against their
targets every `kpi_every_s` (station/alerts.evaluate_targets) and runs the local hook for
every new alert change (station/watch/hook.py). With [pos] watch_dir set it also imports the
POS exports dropped in that folder (station/pos.PosFolder), on the same loop.

Hysteresis keeps a flapping condition to one alert: an episode (the condition turning on)
raises or counts on the unresolved alert of its kind and subject; the alert resolves itself
only when the condition stayed clear for `clear_after_s`. A camera that drops out for a few
seconds every minute is one alert whose count grows, not hundreds.
"""
from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass

from station import notify
from station.alerts import evaluate_targets
from station.remote_settings import effective_config
from station.pos import PosFolder
from station.watch.hook import AlertHook
from station.watch.rules import WriteErrors, health_rules

log = logging.getLogger("station.watch")
DB_ERRORS = (sqlite3.Error, OSError)
FPS_HOLD_S = 60.0          # a slow camera must stay slow this long (its fps is an average)


@dataclass
class Episode:
    firing_since: float | None = None
    raised: bool = False
    clear_since: float | None = None


class Watcher:
    def __init__(self, config, store, started_at: float | None = None, rules=None):
        self.config = config
        self.store = store
        self.started_at = started_at or time.time()
        self.rules = health_rules(config, self.started_at) if rules is None else rules
        self.write_errors = next((r for r in self.rules if isinstance(r, WriteErrors)), None)
        self.hook = AlertHook(config)
        self.episodes: dict[tuple[str, str], Episode] = {}
        self.due: dict[str, float] = {}
        self.last_kpi_check = float("-inf")
        self.failing_since: float | None = None
        self.pos_folder = PosFolder(config.pos.watch_dir, config.tz) \
            if config.pos.watch_dir is not None else None

    def use(self, config) -> None:
        """New thresholds (settings pushed from HQ): the rules are made anew from `config`;
        open episodes and the write-error count carry on."""
        if config.alerts == self.config.alerts:
            return
        log.info("alert thresholds changed (settings from HQ): rebuilding the rules")
        self.config = config
        errors = self.write_errors
        self.rules = [errors if isinstance(rule, WriteErrors) and errors is not None else rule
                      for rule in health_rules(config, self.started_at)]
        self.write_errors = next((r for r in self.rules if isinstance(r, WriteErrors)), None)
        self.due.clear()

    def check(self, now: float) -> dict[str, float]:
        """Evaluate every rule that is due; returns the seconds each took."""
        timings = {}
        for rule in self.rules:
            if now < self.due.get(rule.kind, float("-inf")):
                continue
            self.due[rule.kind] = now + rule.every_s
            timings[rule.kind] = self._timed(lambda: self._apply(rule, now))
        if self.config.alerts.kpi and now - self.last_kpi_check >= self.config.alerts.kpi_every_s:
            self.last_kpi_check = now
            timings["kpi_below_target"] = self._timed(
                lambda: evaluate_targets(self.store, self.config, now))
        if self.pos_folder is not None:
            timings["pos_import"] = self._timed(lambda: self.pos_folder.scan(self.store, now))
        timings["hook"] = self._timed(lambda: self.hook.run_pending(self.store))
        self._timed(lambda: self.store.put_health("watch", {
            "checked_at": now, "rules_ms": {k: round(v * 1000, 2) for k, v in timings.items()},
            "hook": self.hook.stats}, ts=now))
        return timings

    def _timed(self, work) -> float:
        start = time.perf_counter()
        try:
            work()
        except DB_ERRORS as exc:
            self._failed(exc)
        else:
            self.failing_since = None
        return time.perf_counter() - start

    def _failed(self, exc: Exception) -> None:
        """The database refused a read or write of ours. The alert waits for the database to
        take it; the hook hears it now, once per outage, since it needs no database."""
        reason = f"{type(exc).__name__}: {exc}"
        log.error("cannot use the station database: %s", reason)
        if self.write_errors is not None:
            self.write_errors.failed_write(reason)
        if self.failing_since is None:
            self.failing_since = time.time()
            if self.hook.enabled and self.write_errors is not None:
                self.hook.run({"station": self.config.station.path, "kind": "db_write_errors",
                               "subject": "watch", "severity": "critical", "state": "open",
                               "stored": False, "context": {"last_error": reason}})

    def _apply(self, rule, now: float) -> None:
        hold = FPS_HOLD_S if rule.kind == "camera_fps_low" else 0.0
        for finding in rule.look(self.store, now):
            key = (finding.kind, finding.subject)
            episode = self.episodes.get(key)
            if episode is None:
                # after a restart an alert already open for an ongoing condition continues
                episode = self.episodes[key] = Episode(raised=self._unresolved(key))
                if episode.raised and finding.firing:
                    episode.firing_since = now
            if finding.firing:
                episode.clear_since = None
                if episode.firing_since is None:
                    episode.firing_since, episode.raised = now, False
                if not episode.raised and now - episode.firing_since >= hold:
                    self.store.raise_alert(finding.kind, finding.severity, finding.subject,
                                           finding.context, at=now)
                    episode.raised = True
                continue
            episode.firing_since = None
            if episode.clear_since is None:
                episode.clear_since = now
            if now - episode.clear_since >= self.config.alerts.clear_after_s and \
                    self._unresolved(key):
                self.store.resolve_alert(finding.kind, finding.subject, at=now)

    def _unresolved(self, key: tuple[str, str]) -> bool:
        return self.store.db.execute(
            "SELECT 1 FROM alerts WHERE kind = ? AND subject = ? AND state != 'resolved'",
            key).fetchone() is not None


class WatchService:
    """cx-watch's life: a check every `[alerts] interval_s` until stopped."""

    def __init__(self, config, store):
        self.config = config            # the TOML alone: each push replaces the one before
        self.watcher = Watcher(effective_config(config, store), store)

    def run(self, stop) -> None:
        notify.ready(f"watching {len(self.watcher.rules)} rules")
        while not stop.is_set():
            try:        # the TOML with the settings HQ pushed on top, as the kiosk uses it
                self.watcher.use(effective_config(self.config, self.watcher.store))
            except DB_ERRORS as exc:
                self.watcher._failed(exc)
            self.watcher.check(time.time())
            next_check = time.monotonic() + self.watcher.config.alerts.interval_s
            # pet the watchdog through a long interval too
            while not stop.is_set() and time.monotonic() < next_check:
                notify.watchdog()
                stop.wait(min(1.0, max(0.0, next_check - time.monotonic())))
        self.watcher.store.close()
