"""An alert in the manager's words, in one language: its kind, subject, times and key facts.

    words = AlertWords(config, strings, "en")
    words.kind("camera_fps_low")          # 'Camera slow'
    words.kind("fridge_warm")             # 'fridge_warm': a kind this kiosk does not know yet
    words.facts(alert)                    # ['Score 2 of 10', 'Reasons: Long wait', ...]

Facts per kind read the context the rule wrote (station/alerts.py, station/watch/rules.py):
a detractor's score, reasons, comment, kiosk dwell and age bracket; a KPI's value, its 95 %
interval and what it rests on in words ('from 240 responses', never 'n ='), and its target; the camera's, sync's, disk's and database's figures. A context this kiosk cannot
read is listed as its own `key: value` lines rather than hidden. No Qt here.
"""
from __future__ import annotations

import logging
from datetime import datetime

from station.alerts import KPI_BELOW_TARGET, Alert
from station.trends import SPAN_DAYS
from station.wording import number, quantity

log = logging.getLogger("kiosk.alert_words")

# Kinds whose subject says nothing their name does not ("camera", "disk", "kiosk", HQ's name):
# a list row leaves it out, the selected alert's details show it.
SUBJECT_IN_NAME = {"camera_no_frame", "camera_fps_low", "disk_low", "kiosk_quiet",
                   "sync_stalled"}
# What a KPI's n counts (station/scorecard.py), as a noun of station/wording.NOUNS.
KPI_NOUNS = {"nps": "responses", "csat": "answers", "ces": "answers",
             "participation_rate": "entries", "complaint_rate": "responses",
             "handling_median_s": "resolved cases", "conversion": "entries"}


class AlertWords:
    def __init__(self, config, strings, lang: str):
        self.config, self.strings, self.lang = config, strings, lang

    def get(self, key: str, **kw) -> str:
        return self.strings.get(self.lang, key, **kw)

    def _get_or(self, key: str, default: str) -> str:
        try:
            return self.get(key)
        except KeyError:
            return default

    def kind(self, kind: str) -> str:
        return self._get_or(f"alerts.kind.{kind}", kind)

    def severity(self, severity: str) -> str:
        return self._get_or(f"alerts.severity.{severity}", severity)

    def state(self, state: str) -> str:
        return self._get_or(f"alerts.state.{state}", state)

    def subject(self, alert: Alert) -> str | None:
        """A KPI by its name; None for the station itself (a detractor's subject)."""
        if alert.kind == KPI_BELOW_TARGET:
            return self._get_or(f"goals.kpi.{alert.subject}", alert.subject)
        return None if alert.subject == self.config.station.path else alert.subject

    def title(self, alert: Alert) -> str:
        """'Warning · KPI below target — NPS': a list row's first line."""
        title = self.get("alerts.row.title", severity=self.severity(alert.severity),
                         kind=self.kind(alert.kind))
        subject = self.subject(alert)
        # one of several cameras is named ('camera door'); the single camera is not
        named = alert.kind not in SUBJECT_IN_NAME or subject.startswith("camera ") \
            if subject else False
        return f"{title} — {subject}" if named else title

    def time(self, ts: float) -> str:
        """Local time of the station (config.tz), as the case list writes it."""
        return datetime.fromtimestamp(ts, self.config.tz).strftime("%d/%m %H:%M")

    def duration(self, seconds: float) -> str:
        s = float(seconds)
        if s < 120:
            return self.get("alerts.duration.s", n=s)
        if s < 7200:
            return self.get("admin.duration.min", n=number(s / 60, self.lang))
        return self.get("admin.duration.h", n=number(s / 3600, self.lang, decimals=1))

    def facts(self, alert: Alert) -> list[str]:
        """Its context's key facts in plain words, one per line."""
        render = getattr(self, f"_{alert.kind}", None)
        if render is not None:
            try:
                return [line for line in render(alert.context, alert.subject) if line]
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                log.warning("alert %s: a context this kiosk cannot read (%r)", alert.id, exc)
        return [f"{k.replace('_', ' ')}: {v}" for k, v in alert.context.items()
                if not k.endswith("_id") and v is not None and not isinstance(v, (dict, list))]

    # -- per kind: (context, subject) -> lines, a falsy line left out ------------------------
    def _detractor(self, c: dict, subject: str) -> list:
        names = {r.id: getattr(r, self.lang) for r in self.config.kiosk.reasons.detractor}
        return [
            self.get("alerts.fact.score", score=c["score"]),
            c.get("reasons") and self.get("alerts.fact.reasons", reasons=", ".join(
                names.get(r, r) for r in c["reasons"])),
            c.get("comment") and self.get("alerts.fact.comment", comment=c["comment"]),
            c.get("kiosk_dwell_s") is not None and self.get(
                "alerts.fact.kiosk_dwell", duration=self.duration(c["kiosk_dwell_s"])),
            c.get("age_bracket") and self.get("alerts.fact.age", age=c["age_bracket"]),
        ]

    def _kpi_below_target(self, c: dict, kpi: str) -> list:
        fmt = lambda v: kpi_text(kpi, v, self.get, self.lang)           # noqa: E731
        interval = c.get("interval")
        period = c.get("target_period", "week")
        count = quantity(c["n"], KPI_NOUNS.get(kpi, "responses"), self.lang)
        return [
            self.get("alerts.fact.kpi", value=fmt(c["value"]), low=fmt(interval[0]),
                     high=fmt(interval[1]), count=count) if interval else
            self.get("alerts.fact.kpi.point", value=fmt(c["value"]), count=count),
            self.get(f"goals.target.{c['direction']}", value=fmt(c["target"]),
                     period=self.get(f"goals.period.{period}")),
            self.get("alerts.fact.span", days=SPAN_DAYS[period]),
        ]

    def _camera_no_frame(self, c: dict, subject: str) -> list:
        last = c.get("last_frame")
        return [self.get("alerts.fact.no_frame",
                         duration=self.duration(c["seconds_without_frame"])),
                isinstance(last, (int, float)) and
                self.get("alerts.fact.last_frame", time=self.time(last))]

    def _camera_fps_low(self, c: dict, subject: str) -> list:
        return [self.get("alerts.fact.fps", fps=float(c["fps"]), min_fps=float(c["min_fps"]))]

    def _sync_stalled(self, c: dict, subject: str) -> list:
        acked, oldest = c.get("last_acked_at"), c.get("oldest_waiting_age_s")
        return [self.get("alerts.fact.backlog", events=quantity(c["backlog"], "events",
                                                                  self.lang)),
                self.get("alerts.fact.last_ack", time=self.time(acked)) if acked
                else self.get("alerts.fact.last_ack.never"),
                oldest is not None and self.get("alerts.fact.oldest",
                                                duration=self.duration(oldest))]

    def _disk_low(self, c: dict, subject: str) -> list:
        return [self.get("alerts.fact.disk", free=float(c["free_mb"]),
                         min=float(c["min_free_mb"])),
                c.get("path") and self.get("alerts.fact.path", path=c["path"])]

    def _db_write_errors(self, c: dict, subject: str) -> list:
        return [self.get("alerts.fact.write_errors", new=c.get("new", c["write_errors"]),
                         total=c["write_errors"]),
                c.get("last_error") and self.get("alerts.fact.last_error",
                                                 error=c["last_error"])]

    def _settings_rejected(self, c: dict, subject: str) -> list:
        return [self.get("alerts.fact.settings_rejected", version=c.get("version") or "?",
                         setting=c["key"], reason=c["reason"])]

    def _kiosk_quiet(self, c: dict, subject: str) -> list:
        return [self.get("alerts.fact.quiet", hours=float(c["hours"]), entries=c["entries"])]


def kpi_text(kpi: str, value: float, get, lang: str = "en") -> str:
    """A KPI's figure in its unit, as the Goals page writes it ('72,5%' in Vietnamese)."""
    if kpi == "handling_median_s":
        return get("goals.unit.min", n=value / 60)
    if kpi == "nps":
        return f"{round(value):+d}"               # never '-0'
    if kpi == "ces":
        return number(value, lang, decimals=1)
    return number(value, lang, decimals=0 if value == int(value) else 1) + "%"
