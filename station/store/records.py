"""Plain records that services hand to the store. Timestamps are UTC epoch seconds."""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field


class StoreError(RuntimeError):
    """The database cannot be used (newer schema, not writable, ...); the message says why."""


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Complaint:
    """A problem the shopper chose to report after a low score: their words and, if they want
    to be contacted, how. Every field is optional; the act itself is the complaint."""
    problem: str | None = None
    contact_name: str | None = None
    contact: str | None = None          # phone or e-mail, as typed
    ts: float = field(default_factory=time.time)
    id: str = field(default_factory=new_id)

    def __post_init__(self):
        for name in ("problem", "contact_name", "contact"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"complaint {name} must be text, got {value!r}")

    @property
    def has_contact(self) -> bool:
        return bool(self.contact_name or self.contact)


@dataclass(frozen=True)
class Response:
    """One kiosk survey: the NPS score is always there; the rest is optional."""
    nps: int
    csat: int | None = None
    ces: int | None = None
    reasons: list[str] = field(default_factory=list)
    comment: str | None = None
    language: str | None = None
    complete: bool = True          # False: the shopper walked away after the score (idle timeout)
    ts: float = field(default_factory=time.time)
    id: str = field(default_factory=new_id)
    first_visit: bool | None = None    # "is this your first visit?" yes / no / not answered
    complaint: Complaint | None = None     # a problem reported after a low score

    def __post_init__(self):
        _check_range("nps", self.nps, 0, 10, optional=False)
        if self.first_visit not in (None, True, False):
            raise ValueError(f"first_visit must be true, false or None, got {self.first_visit!r}")
        if self.complaint is not None and self.group != "detractor":
            raise ValueError("a complaint is offered after a low score (0-6) only, "
                             f"got one with score {self.nps}")
        _check_range("csat", self.csat, 1, 5)
        _check_range("ces", self.ces, 1, 7)
        if not all(isinstance(r, str) for r in self.reasons):
            raise ValueError(f"reasons must be strings, got {self.reasons!r}")

    @property
    def group(self) -> str:
        return "promoter" if self.nps >= 9 else "passive" if self.nps >= 7 else "detractor"


@dataclass(frozen=True)
class Case:
    id: str
    response_id: str
    opened_at: float
    nps: int
    reasons: list[str]
    comment: str | None
    resolved_at: float | None
    resolution_note: str | None
    complaint: dict | None = None      # the shopper's complaint with contact details (manager)


# The age brackets a visit can carry: what vision estimates, what reports and HQ group by.
AGE_BRACKETS = ("0-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")


@dataclass(frozen=True)
class Visit:
    """A track's anonymous summary: when, how long per zone, estimated bracket. No image."""
    entered_at: float
    left_at: float
    dwell: dict[str, float] = field(default_factory=dict)
    age_bracket: str | None = None
    age_confidence: float | None = None
    gender: str | None = None
    gender_confidence: float | None = None
    views: int = 0
    id: str = field(default_factory=new_id)
    p_female: float | None = None                  # the estimate behind `gender`, kept when unsure
    age_probs: tuple[float, ...] | None = None     # probability of each of AGE_BRACKETS
    camera: str | None = None      # the camera that saw it ([[vision.cameras]] id)

    def __post_init__(self):
        if self.gender not in (None, "female", "male"):
            raise ValueError(f"gender must be 'female', 'male' or None, got {self.gender!r}")
        if self.p_female is not None and not 0 <= self.p_female <= 1:
            raise ValueError(f"p_female must be in 0..1, got {self.p_female!r}")
        if self.age_probs is not None and (len(self.age_probs) != len(AGE_BRACKETS)
                                           or any(not 0 <= p <= 1 for p in self.age_probs)):
            raise ValueError(f"age_probs must be {len(AGE_BRACKETS)} probabilities "
                             f"(one per age bracket), got {self.age_probs!r}")
        if self.left_at < self.entered_at:
            raise ValueError("left_at is before entered_at")


@dataclass(frozen=True)
class Crossing:
    ts: float
    line: str
    direction: str                 # 'in' or 'out'
    visit_id: str | None = None
    camera: str | None = None

    def __post_init__(self):
        if self.direction not in ("in", "out"):
            raise ValueError(f"direction must be 'in' or 'out', got {self.direction!r}")


@dataclass(frozen=True)
class Presence:
    """A visitor stood in `zone` from `since` to `until` (extended while they stay)."""
    visit_id: str
    zone: str
    since: float
    until: float


@dataclass(frozen=True)
class TrafficMinute:
    minute: int                    # epoch seconds at the start of the minute
    line: str
    entries: int
    exits: int


@dataclass(frozen=True)
class Event:
    """An outbox row as cx-sync sees it."""
    seq: int
    id: str
    type: str
    payload: str
    created_at: float


def _check_range(name, value, lo, hi, optional=True):
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer {lo}..{hi}, got {value!r}")
