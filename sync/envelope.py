"""Event envelopes on the wire: topics, batches and the checks HQ applies to each event.

    from sync.envelope import parse_message, Topic
    topic = Topic.parse("cx/v1/acme/hcm-d1/kiosk-1/response", prefix="cx/v1")
    events, rejects = parse_message(topic, payload_bytes, now=time.time())
    # events: list[Envelope] that passed; rejects: list[Reject(raw, reason, station)]

A message is either one envelope (a JSON object) on ``<prefix>/<station>/<type>`` or a batch
(a JSON array of envelopes with strictly increasing seqs) on ``<prefix>/<station>/batch``.
Checks are per event: one bad envelope in a batch is rejected alone, the rest go through.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from station import events
from station.events import VERSION, Invalid, show as _show

EVENT_TYPES = frozenset(events.TYPES)
BATCH = "batch"
# Live, retained state published by the station itself (not outbox events), HQ's marks and
# the settings HQ pushes to a station (station/remote_settings.py).
STATUS, HEALTH, ACK, CONFIG = "status", "health", "ack", "config"
MAX_EVENT_BYTES = 64 * 1024
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
MIN_TS = 946684800.0                    # 2000-01-01: older means a clock that never got set
MAX_FUTURE_S = 24 * 3600                # a day of clock skew is tolerated, more is not
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_EVENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")


@dataclass(frozen=True)
class Topic:
    station: str            # org/store/station
    kind: str               # an event type, "batch", "status", "health", "ack" or "config"

    @classmethod
    def parse(cls, topic: str, prefix: str) -> "Topic":
        if not topic.startswith(prefix + "/"):
            raise Invalid(f"topic {topic[:200]!r} is not under {prefix!r}")
        parts = topic[len(prefix) + 1:].split("/")
        if len(parts) != 4 or not all(_ID.match(p) for p in parts[:3]):
            raise Invalid(f"topic {topic[:200]!r} is not {prefix}/<org>/<store>/<station>/<kind>")
        return cls("/".join(parts[:3]), parts[3])


@dataclass(slots=True)          # not frozen: frozen __init__ costs ~2 us per event at HQ
class Envelope:
    station: str
    seq: int
    id: str
    type: str
    ts: str
    ts_epoch: float
    data: dict
    raw: bytes | None        # the event's own JSON when already at hand (see raw_bytes)
    # Moved to a new seq by a station database that replaced another (Store.renumber_pending):
    # HQ may hold the same event under its old seq already.
    renumbered: bool = False
    # `data` as the JSON text HQ stores, made (and proven storable) by check_envelope.
    data_text: str | None = None

    def data_json(self) -> str:
        return self.data_text if self.data_text is not None else _encode_data(self.data)

    def raw_bytes(self) -> bytes:
        """The event as JSON, for a conflict's dead letter (rebuilt only when needed)."""
        if self.raw is not None:
            return self.raw
        return _dump(events.envelope(self.station, self.seq, self.id, self.type, self.ts,
                                     self.data))


@dataclass(frozen=True)
class Reject:
    raw: bytes
    reason: str
    station: str | None


def parse_message(topic: Topic, payload: bytes, now: float) -> tuple[list[Envelope], list[Reject]]:
    """Split one MQTT message into accepted envelopes and rejected raw pieces with reasons."""
    if len(payload) > MAX_MESSAGE_BYTES:
        return [], [Reject(payload, f"message of {len(payload)} bytes exceeds "
                                    f"{MAX_MESSAGE_BYTES}", topic.station)]
    if topic.kind == BATCH:
        try:
            items = _split_array(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            return [], [Reject(payload, f"a batch must be a non-empty JSON array of envelopes: "
                                        f"{str(exc)[:200]}", topic.station)]
        expected_type = None
    elif topic.kind in EVENT_TYPES:
        try:
            items = [(json.loads(payload), None)]
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            return [], [Reject(payload, f"not UTF-8 JSON: {str(exc)[:200]}", topic.station)]
        expected_type = topic.kind
    else:
        return [], [Reject(payload, f"unknown topic kind {topic.kind[:60]!r}", topic.station)]
    accepted, rejected = [], []
    for doc, text in items:
        raw = payload if text is None else None
        try:
            # Characters undercount UTF-8 bytes at most 4x: encode only the borderline ones.
            if text is not None and len(text) * 4 > MAX_EVENT_BYTES:
                raw = text.encode()
            accepted.append(check_envelope(doc, topic.station, expected_type, raw, now))
        except Invalid as exc:
            rejected.append(Reject(raw if raw is not None else text.encode(), str(exc),
                                   topic.station))
    return accepted, rejected


_scan = json.JSONDecoder().scan_once
_WS = " \t\n\r"


def _split_array(text: str) -> list[tuple[object, str]]:
    """Parse a JSON array item by item, keeping each item's own text (its raw bytes)."""
    end = len(text)
    i = _skip(text, 0)
    if i >= end or text[i] != "[":
        raise ValueError("not a JSON array")
    i = _skip(text, i + 1)
    if i < end and text[i] == "]":
        raise ValueError("the array is empty")
    items = []
    while True:
        try:
            doc, stop = _scan(text, i)
        except StopIteration as exc:
            raise ValueError(f"bad JSON value at {exc.value}") from None
        items.append((doc, text[i:stop]))
        c = text[stop:stop + 1]
        if c in _WS and c:
            stop = _skip(text, stop)
            c = text[stop:stop + 1]
        if c == ",":
            i = stop + 1
            if text[i:i + 1] in _WS:
                i = _skip(text, i)
            continue
        if c == "]" and _skip(text, stop + 1) == end:
            return items
        raise ValueError(f"unexpected character at {stop}")


def _skip(text: str, i: int) -> int:
    end = len(text)
    while i < end and text[i] in _WS:
        i += 1
    return i


def check_envelope(doc, station: str, expected_type: str | None, raw: bytes | None,
                   now: float) -> Envelope:
    if type(doc) is not dict:
        raise Invalid(f"an envelope must be a JSON object, got {type(doc).__name__}")
    if raw is not None and len(raw) > MAX_EVENT_BYTES:
        raise Invalid(f"event of {len(raw)} bytes exceeds {MAX_EVENT_BYTES}")
    v = doc.get("v")
    if type(v) is not int:
        raise Invalid(f"v must be an integer, got {_show(v)}")
    if v != VERSION:
        raise Invalid(f"envelope version {v} is not supported (this HQ reads v{VERSION})")
    try:
        st, seq, event_id, type_, ts, data = (doc["station"], doc["seq"], doc["id"], doc["type"],
                                              doc["ts"], doc["data"])
    except KeyError:
        missing = sorted({"station", "seq", "id", "type", "ts", "data"} - doc.keys())
        raise Invalid(f"missing keys {missing}") from None
    if st != station:
        raise Invalid(f"station {_show(st)} does not match the topic's {station!r}")
    if type(seq) is not int or seq < 1 or seq > 2 ** 62:
        raise Invalid(f"seq must be a positive integer, got {_show(seq)}")
    if type(event_id) is not str or not _EVENT_ID.match(event_id):
        raise Invalid(f"id must be a uuid-like string, got {_show(event_id)}")
    if type_ not in EVENT_TYPES:
        raise Invalid(f"unknown event type {_show(type_)}")
    if expected_type is not None and type_ != expected_type:
        raise Invalid(f"type {type_!r} does not match the topic's {expected_type!r}")
    ts_epoch = parse_ts(ts, now)
    if type(data) is not dict:
        raise Invalid(f"data must be an object, got {_show(data)}")
    events.TYPES[type_].check(data)
    return Envelope(station, seq, event_id, type_, ts, ts_epoch, data, raw,
                    doc.get("renumbered") is True, storable_text(data))


def storable_text(data: dict) -> str:
    """`data` as JSON text that SQLite and PostgreSQL can store. JSON may spell a lone UTF-16
    surrogate (``"\\ud800"``), which json.loads turns into a str no database accepts: such an
    event is refused here, alone, instead of failing the commit of everything around it."""
    try:
        text = _encode_data(data)
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid("data holds text that is not valid Unicode (a lone surrogate such as "
                      "\\ud800), which no database can store") from None
    except (ValueError, RecursionError) as exc:
        raise Invalid(f"data cannot be stored as JSON: {str(exc)[:200]}") from None
    return text


def parse_ts(ts, now: float) -> float:
    if not isinstance(ts, str) or len(ts) > 40 or not _RFC3339.match(ts):
        raise Invalid(f"ts must be an RFC 3339 time, got {_show(ts)}")
    try:
        epoch = datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise Invalid(f"ts {ts!r} is not a real time: {exc}") from None
    if epoch < MIN_TS or epoch > now + MAX_FUTURE_S:
        raise Invalid(f"ts {ts!r} is outside the sane range (2000-01-01 .. now + 1 day)")
    return epoch


def batch_payload(payloads: list[str]) -> bytes:
    """Envelopes already serialised by the station store joined into one JSON array."""
    return ("[" + ",".join(payloads) + "]").encode()


_encode_data = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"),
                                check_circular=False).encode


def _dump(doc) -> bytes:
    try:
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:          # a lone surrogate: kept as its \u escape
        return json.dumps(doc, separators=(",", ":")).encode()


def is_int(value) -> bool:
    """An int that is not a bool (JSON true would pass isinstance(value, int))."""
    return isinstance(value, int) and not isinstance(value, bool)
