"""The event format: what a station tells HQ, one typed record per event type.

    from station import events
    data = events.Traffic(minute=events.rfc3339(t), line="door", entries=3, exits=1,
                          entrance=True).to_data()      # {"minute": ..., "in": 3, "out": 1, ...}
    doc = events.envelope("acme/s1/k1", seq=7, event_id="…", type_="traffic", ts=t, data=data)
    events.TYPES["traffic"].check(data)                  # HQ: raises events.Invalid with why
    events.topic("cx/v1", "acme/s1/k1", "traffic")       # cx/v1/acme/s1/k1/traffic
    events.columns("traffic")     # [("minute", "minute", None), ("entries", "in", "0"), ...]

This is the one place an event type is defined: the station's store writes these records
into its outbox, HQ checks each arriving event against its record's `check`, and HQ's views
and export take their columns from its fields. Adding an event type is adding a record here
and naming it in TYPES (and a station write line for its topic in config/mosquitto/acl). A field's `key` is its name in the JSON (``in`` is a Python keyword);
`sql_default` is what HQ's views show when an older station did not send the field. Extra
fields in `data` are allowed: a newer station may send more than this HQ knows.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import ClassVar

VERSION = 1


class Invalid(ValueError):
    """One event cannot be accepted; the message is the reason stored with the dead letter."""


def rfc3339(ts: float) -> str:
    """The time format of every timestamp in an event: UTC, milliseconds, ``Z``."""
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds") \
        .replace("+00:00", "Z")


def topic(prefix: str, station: str, type_: str) -> str:
    """``<prefix>/<org>/<store>/<station>/<type>``: where one event of a station travels."""
    return f"{prefix}/{station}/{type_}"


def envelope(station: str, seq: int, event_id: str, type_: str, ts: float | str,
             data: dict, **extra) -> dict:
    """The versioned envelope around one event's data (`ts` as epoch seconds or RFC 3339)."""
    return {"v": VERSION, "station": station, "seq": seq, "id": event_id, "type": type_,
            "ts": ts if isinstance(ts, str) else rfc3339(ts), "data": data, **extra}


def _key(name: str, *, sql_default: str | None = None, optional: bool = False):
    """Field metadata: the JSON key, the view's default for stations that do not send it, and
    whether the field is left out of the JSON when it is None (it belongs to some events only)."""
    return {"key": name, "sql_default": sql_default, "optional": optional}


class Record:
    TYPE: ClassVar[str]             # the envelope's type and the topic's last level
    VIEW: ClassVar[str]             # HQ's SQL view of this type's events

    def to_data(self) -> dict:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            meta = f.metadata or {}
            if value is None and meta.get("optional"):
                continue
            out[meta.get("key", f.name)] = list(value) if isinstance(value, tuple) else value
        return out

    @staticmethod
    def check(data: dict) -> None:
        """The fields HQ's reports rely on; raises Invalid."""


@dataclass(frozen=True)
class Response(Record):
    TYPE: ClassVar[str] = "response"
    VIEW: ClassVar[str] = "responses"
    response_id: str
    nps: int
    csat: int | None
    ces: int | None
    reasons: tuple[str, ...]
    comment: str | None
    language: str
    complete: bool
    presence: str
    visit_id: str | None
    # "is this your first visit to this store?": true / false; left out when not answered
    first_visit: bool | None = field(default=None, metadata=_key("first_visit", optional=True))

    @staticmethod
    def check(data: dict) -> None:
        first_visit = data.get("first_visit")
        if first_visit is not None and type(first_visit) is not bool:
            raise Invalid(f"response first_visit must be true, false or absent, "
                          f"got {show(first_visit)}")
        nps = data.get("nps")
        if type(nps) is not int or not 0 <= nps <= 10:
            raise Invalid(f"response nps must be an integer 0..10, got {show(nps)}")
        for key, lo, hi in (("csat", 1, 5), ("ces", 1, 7)):
            value = data.get(key)
            if value is not None and (type(value) is not int or not lo <= value <= hi):
                raise Invalid(f"response {key} must be null or an integer {lo}..{hi}, "
                              f"got {show(value)}")


@dataclass(frozen=True)
class Case(Record):
    """A detractor case opened (with the answer's reasons and comment) or resolved (with the
    manager's note and the handling time)."""
    TYPE: ClassVar[str] = "case"
    VIEW: ClassVar[str] = "cases"
    case_id: str
    status: str
    response_id: str
    nps: int
    reasons: tuple[str, ...] | None = field(default=None, metadata=_key("reasons", optional=True))
    comment: str | None = field(default=None, metadata=_key("comment", optional=True))
    opened_at: str | None = None
    resolved_at: str | None = field(default=None, metadata=_key("resolved_at", optional=True))
    note: str | None = field(default=None, metadata=_key("note", optional=True))
    handling_s: float | None = field(default=None, metadata=_key("handling_s", optional=True))

    @staticmethod
    def check(data: dict) -> None:
        if data.get("status") not in ("opened", "resolved"):
            raise Invalid(f"case status must be 'opened' or 'resolved', "
                          f"got {show(data.get('status'))}")


@dataclass(frozen=True)
class Traffic(Record):
    """One minute of one line's crossings. `entrance` says whether 'in' here is store footfall
    (HQ cannot see the line config); stations from before the flag count every line."""
    TYPE: ClassVar[str] = "traffic"
    VIEW: ClassVar[str] = "traffic"
    minute: str
    line: str
    entries: int = field(metadata=_key("in", sql_default="0"))
    exits: int = field(metadata=_key("out", sql_default="0"))
    entrance: bool = field(default=True, metadata=_key("entrance", sql_default="1"))
    # the camera whose line it is ([[vision.cameras]] id); stations before cameras send none
    camera: str | None = field(default=None, metadata=_key("camera", optional=True))

    @staticmethod
    def check(data: dict) -> None:
        if type(data.get("line")) is not str:
            raise Invalid(f"traffic line must be a string, got {show(data.get('line'))}")
        for key in ("in", "out"):
            value = data.get(key)
            if type(value) is not int or value < 0:
                raise Invalid(f"traffic {key} must be a count, got {show(value)}")


@dataclass(frozen=True)
class Visit(Record):
    """One tracked visitor: when, how long in each zone, and the demographic estimate (never
    an image or an embedding)."""
    TYPE: ClassVar[str] = "visit"
    VIEW: ClassVar[str] = "visits"
    visit_id: str
    entered_at: str
    left_at: str
    dwell: dict
    age_bracket: str | None
    age_confidence: float | None
    gender: str | None
    gender_confidence: float | None
    views: int
    # What the face models estimated (also when `gender` is unknown); HQ corrects its shares
    # from these. Left out for visits without a face; older stations do not send them.
    p_female: float | None = field(default=None, metadata=_key("p_female", optional=True))
    age_probs: tuple[float, ...] | None = field(default=None, metadata=_key("age_probs", optional=True))
    camera: str | None = field(default=None, metadata=_key("camera", optional=True))

    @staticmethod
    def check(data: dict) -> None:
        if type(data.get("dwell", {})) is not dict:
            raise Invalid(f"visit dwell must be an object, got {show(data.get('dwell'))}")
        p = data.get("p_female")
        if p is not None and (type(p) not in (int, float) or not 0 <= p <= 1):
            raise Invalid(f"visit p_female must be null or a number 0..1, got {show(p)}")
        probs = data.get("age_probs")
        if probs is not None and (type(probs) is not list or not probs or any(
                type(v) not in (int, float) or not 0 <= v <= 1 for v in probs)):
            raise Invalid(f"visit age_probs must be null or a list of numbers 0..1, got {show(probs)}")


@dataclass(frozen=True)
class Target(Record):
    """A KPI target set or changed at the station: the new target, who set it (config, admin
    or hq) and, when it replaced one, the old target."""
    TYPE: ClassVar[str] = "target"
    VIEW: ClassVar[str] = "targets"
    kpi: str
    value: float
    direction: str
    period: str
    source: str
    changed_at: str
    who: str | None = field(default=None, metadata=_key("who", optional=True))
    old_value: float | None = field(default=None, metadata=_key("old_value", optional=True))
    old_direction: str | None = field(default=None,
                                      metadata=_key("old_direction", optional=True))
    old_period: str | None = field(default=None, metadata=_key("old_period", optional=True))

    @staticmethod
    def check(data: dict) -> None:
        # The KPI name is not checked against a list: a newer station may target more.
        if type(data.get("kpi")) is not str:
            raise Invalid(f"target kpi must be a string, got {show(data.get('kpi'))}")
        value = data.get("value")
        if type(value) not in (int, float) or value != value:
            raise Invalid(f"target value must be a number, got {show(value)}")
        if data.get("direction") not in ("higher", "lower"):
            raise Invalid(f"target direction must be 'higher' or 'lower', "
                          f"got {show(data.get('direction'))}")
        if data.get("period") not in ("week", "month"):
            raise Invalid(f"target period must be 'week' or 'month', "
                          f"got {show(data.get('period'))}")


@dataclass(frozen=True)
class Alert(Record):
    """An alert raised, raised again (count, last_seen), acknowledged or resolved at the
    station; `context` holds what caused it (the answer, the KPI's figure and target)."""
    TYPE: ClassVar[str] = "alert"
    VIEW: ClassVar[str] = "alerts"
    alert_id: str
    kind: str
    severity: str
    subject: str
    state: str
    first_seen: str
    last_seen: str
    count: int
    context: dict
    # the manager's note and name when they acknowledged or resolved it
    note: str | None = field(default=None, metadata=_key("note", optional=True))
    changed_by: str | None = field(default=None, metadata=_key("changed_by", optional=True))

    @staticmethod
    def check(data: dict) -> None:
        if data.get("state") not in ("open", "acknowledged", "resolved"):
            raise Invalid(f"alert state must be 'open', 'acknowledged' or 'resolved', "
                          f"got {show(data.get('state'))}")
        for key in ("kind", "subject"):
            if type(data.get(key)) is not str:
                raise Invalid(f"alert {key} must be a string, got {show(data.get(key))}")
        if type(data.get("count")) is not int or data["count"] < 1:
            raise Invalid(f"alert count must be a positive integer, got {show(data.get('count'))}")
        if type(data.get("context", {})) is not dict:
            raise Invalid(f"alert context must be an object, got {show(data.get('context'))}")


@dataclass(frozen=True)
class Pos(Record):
    """One hour's point-of-sale transactions as imported at the station (station/pos.py); a
    re-import sends the hour again, and the latest seq of an hour is its figure."""
    TYPE: ClassVar[str] = "pos"
    VIEW: ClassVar[str] = "pos_hours"
    hour: str
    transactions: int
    source: str
    revenue: float | None = field(default=None, metadata=_key("revenue", optional=True))

    @staticmethod
    def check(data: dict) -> None:
        if type(data.get("hour")) is not str:
            raise Invalid(f"pos hour must be an RFC 3339 time, got {show(data.get('hour'))}")
        count = data.get("transactions")
        if type(count) is not int or count < 0:
            raise Invalid(f"pos transactions must be a whole number >= 0, got {show(count)}")
        revenue = data.get("revenue")
        if revenue is not None and (type(revenue) not in (int, float) or revenue != revenue
                                    or revenue < 0):
            raise Invalid(f"pos revenue must be a number >= 0, got {show(revenue)}")


@dataclass(frozen=True)
class HandCount(Record):
    """The counter check (station/handcount.py): a hand count the manager entered ('added'),
    one taken back ('removed'), or the correction switched on or off ('correction'). Each
    carries the station's factor over all its checks after the change and whether entries,
    participation and conversion are corrected by it, so HQ labels them as the station does."""
    TYPE: ClassVar[str] = "handcount"
    VIEW: ClassVar[str] = "hand_counts"
    action: str
    correction: bool
    checks: int
    factor: float | None
    check_id: str | None = field(default=None, metadata=_key("check_id", optional=True))
    start: str | None = field(default=None, metadata=_key("start", optional=True))
    end: str | None = field(default=None, metadata=_key("end", optional=True))
    count: int | None = field(default=None, metadata=_key("count", optional=True))
    camera_count: int | None = field(default=None, metadata=_key("camera_count", optional=True))
    who: str | None = field(default=None, metadata=_key("who", optional=True))

    @staticmethod
    def check(data: dict) -> None:
        if data.get("action") not in ("added", "removed", "correction"):
            raise Invalid(f"handcount action must be 'added', 'removed' or 'correction', "
                          f"got {show(data.get('action'))}")
        if type(data.get("correction")) is not bool:
            raise Invalid(f"handcount correction must be true or false, "
                          f"got {show(data.get('correction'))}")
        factor = data.get("factor")
        if factor is not None and (type(factor) not in (int, float) or not factor > 0):
            raise Invalid(f"handcount factor must be null or a number > 0, got {show(factor)}")
        for key in ("count", "camera_count"):
            value = data.get(key)
            if value is not None and (type(value) is not int or value < 0):
                raise Invalid(f"handcount {key} must be a whole number >= 0, got {show(value)}")


@dataclass(frozen=True)
class Complaint(Record):
    """A shopper reported a problem after a low score (the act, not the score), linked to the
    detractor case; handled when that case is resolved. The contact details and the shopper's
    own words stay at the station: HQ learns only that contact was asked for."""
    TYPE: ClassVar[str] = "complaint"
    VIEW: ClassVar[str] = "complaints"
    complaint_id: str
    case_id: str
    response_id: str
    at: str
    contact_requested: bool = field(default=False,
                                    metadata=_key("contact_requested", sql_default="0"))

    @staticmethod
    def check(data: dict) -> None:
        for key in ("complaint_id", "case_id", "at"):
            if type(data.get(key)) is not str:
                raise Invalid(f"complaint {key} must be a string, got {show(data.get(key))}")
        if type(data.get("contact_requested", False)) is not bool:
            raise Invalid(f"complaint contact_requested must be true or false, "
                          f"got {show(data.get('contact_requested'))}")


@dataclass(frozen=True)
class Occupancy(Record):
    """People in the store at the end of one minute (entries - exits on entrance lines since
    opening, never below 0) and per zone (visitors seen in it during the minute), rolled up
    with that minute's traffic."""
    TYPE: ClassVar[str] = "occupancy"
    VIEW: ClassVar[str] = "occupancy"
    minute: str
    people: int
    zones: dict = field(default_factory=dict)

    @staticmethod
    def check(data: dict) -> None:
        people = data.get("people")
        if type(people) is not int or people < 0:
            raise Invalid(f"occupancy people must be a count, got {show(people)}")
        zones = data.get("zones", {})
        if type(zones) is not dict or any(type(n) is not int or n < 0 for n in zones.values()):
            raise Invalid(f"occupancy zones must map zone names to counts, got {show(zones)}")


TYPES: dict[str, type[Record]] = {r.TYPE: r for r in (Response, Case, Traffic, Visit, Target,
                                                      Alert, Pos, Complaint, Occupancy,
                                                      HandCount)}


def columns(type_: str) -> list[tuple[str, str, str | None]]:
    """(column name, JSON key, SQL default) of an event type's fields, in contract order."""
    return [(f.name, (f.metadata or {}).get("key", f.name),
             (f.metadata or {}).get("sql_default"))
            for f in dataclasses.fields(TYPES[type_])]


def keys(type_: str) -> list[str]:
    """The JSON keys of an event type's data, in contract order."""
    return [key for _column, key, _default in columns(type_)]


def show(value) -> str:
    """A value as an error message shows it: its type and a short repr."""
    return f"{type(value).__name__} {repr(value)[:60]}"
