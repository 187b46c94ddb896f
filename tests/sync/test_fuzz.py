"""Fuzz: generated envelopes, batches, garbage and hostile acks through a real mosquitto into a
real cx-hq process, beside a real cx-sync process that must ignore the acks it cannot trust.

One broker, one cx-hq and one cx-sync serve the whole test; hypothesis draws its examples inside
it, and each example writes as a station of its own (``fz/e<n>/k1``) so examples do not
interfere. An example publishes, in a drawn order, one message per event or JSON-array batches
of mixed items:

- valid envelopes of the four types, with edge values: 10**400 counts, seq 2**62, exactly 64 KB
  (also in 2-byte UTF-8), escaped surrogate pairs, NUL characters, 400-deep nesting, offsets
  from -08:00 to +14:00, 9-digit fractions, extra fields, resends of an event (duplicates);
- nearly valid ones, one field wrong (version, station, seq, id, type, ts, data and each type's
  checked fields: wrong types, bounds, missing keys, bool for int, 1.0 for 1);
- hostile ones: lone surrogates (``\\ud800``) in data values and keys, 1e999, 10**5000, nesting
  past Python's recursion limit, items over 64 KB, another station's name (the real station's
  too), a seq sent twice with two ids;
- whole messages that are wrong: garbage bytes, empty / truncated / not-an-array batches, topics
  HQ cannot parse, unknown kinds, bad status and health;
- and, on the real station's ack topic, acks it must ignore: another HQ's name (claiming events
  HQ does not hold yet), a malformed acked_seq under the right name, garbage, deep nesting.

The oracle is decided when an item is built:

- valid: stored exactly once under its (station, seq, id), with its type, ts and data; no dead
  letter.
- invalid: exactly one dead letter holding its bytes (the first 64 KB when bigger, and the size
  when HQ records it), and no row.
- either: stored once or dead-lettered once, never both: JSON Python's parser may refuse by its
  limits (1e999, 10**5000, nesting past the recursion limit; RFC 8259 lets a parser set them) or
  odd but storable input (a lone surrogate in a top-level field HQ does not store).
- conflict: one seq sent twice with two valid ids. HQ keeps the first it stored: exactly one row
  holds one of the two ids, the other is one dead letter. These seqs are not counted as valid
  for the mark; the mark must reach the contiguous valid seqs below the lowest disputed seq and
  must not pass a seq HQ does not hold.
- A batch holding an item Python's parser refuses by its limits may be refused whole (one dead
  letter for the batch) or item by item; the test reads which HQ did and expects the rest
  accordingly (such a batch carries only its own fresh events).

After each example: HQ's rows, mark and gaps for the example's station are exactly those
expected, its dead letters match one to one, every ack HQ published names its HQ, HQ and cx-sync
are alive, and the real station (a few events appended per example, then the hostile acks) has
its outbox acknowledged but never past HQ's own mark. At the end the real station and HQ agree
row by row and both processes stop on SIGTERM with exit code 0 within a few seconds.

Not shrunk: an HQ that is wedged by one example fails every later one too, so a shrunk example
would mislead. The draw is derandomized (CI sees the same examples); CX_FUZZ_EXAMPLES=N runs a
different number of examples.
"""
from __future__ import annotations

import itertools
import json
import os
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from station.config import load_config
from station.store import Store
from sync_testlib import (Broker, mqtt_client, station_vs_hq, stop_timed, wait_until,
                          write_config)

PREFIX = "cx/v1"
HQ_NAME = "hq-fuzz"
REAL = "acme/s1/k1"
PROBE = "fz/probe/k1"
TYPES = ("response", "case", "traffic", "visit")
MAX_EXAMPLES = int(os.environ.get("CX_FUZZ_EXAMPLES", "200"))
KEEP = 64 * 1024                 # what a dead letter keeps of its payload
NOW = time.time()
VALID, INVALID, EITHER, CONFLICT = "valid", "invalid", "either", "conflict"
ITEMS, ONE, NONE, MAYBE, ITEMS_OR_ONE = "items", "one", "none", "maybe", "items-or-one"


# -- JSON text with parts written by hand --------------------------------------------------------
class Raw(str):
    """JSON text inserted as is (1e999, 10**5000, nesting too deep for json.dumps)."""


def enc(value) -> str:
    """JSON text of `value`; strings with lone surrogates come out as \\u escapes, others as
    UTF-8, so the text always encodes (the wire carries what a hostile sender can write)."""
    if isinstance(value, Raw):
        return str(value)
    if value is None or isinstance(value, (bool, float)):
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return json.dumps(value, ensure_ascii=False)
        except UnicodeEncodeError:
            return json.dumps(value)
    if isinstance(value, list):
        return "[" + ",".join(enc(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(enc(k) + ":" + enc(v) for k, v in value.items()) + "}"
    raise TypeError(type(value))


def deep(depth: int, kind: str = "[") -> Raw:
    return Raw('{"a":' * depth + "1" + "}" * depth if kind == "{" else "[" * depth + "]" * depth)


@dataclass(eq=False)
class Item:
    """One envelope (or any JSON value) as sent, and what HQ must make of it."""
    text: str
    fate: str
    case: str
    seq: int | None = None
    id: str | None = None
    doc: dict | None = None          # parsed, for valid ones: compared with HQ's row
    topic_type: str | None = None    # sent alone, on this event topic
    type: str | None = None          # its event type, when it names one

    def __repr__(self):
        return f"<{self.fate} {self.case} seq={self.seq}>"

    def _repr_pretty_(self, printer, _cycle):        # hypothesis prints examples with it
        printer.text(repr(self))

    @property
    def raw(self) -> bytes:
        return self.text.encode("utf-8")


@dataclass(eq=False)
class Msg:
    topic: str
    payload: bytes
    mode: str                        # ITEMS, ONE, NONE, MAYBE or ITEMS_OR_ONE (see the docstring)
    case: str
    items: list = field(default_factory=list)
    whole: bool = False              # resolved: the batch was refused whole

    def __repr__(self):
        return f"<{self.case} on {self.topic[len(PREFIX) + 1:]} {self.mode} {self.items}>"

    def _repr_pretty_(self, printer, _cycle):
        printer.text(repr(self))


@dataclass
class Scenario:
    station: str
    sibling: str
    msgs: list
    conflicts: dict                  # seq -> [Item, Item]


# -- strategies --------------------------------------------------------------------------------
ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
text = st.text(max_size=16)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70),
                    st.sampled_from([10 ** 400, -10 ** 400, 2 ** 63]),
                    st.floats(allow_nan=False, allow_infinity=False), text)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)), max_leaves=6)
RESERVED = {"response": {"nps", "csat", "ces"}, "traffic": {"line", "in", "out"},
            "case": {"status"}, "visit": {"dwell"}}


@st.composite
def ts_valid(draw) -> str:
    epoch = draw(st.integers(946_684_800 + 86_400, int(NOW) - 7200))
    minutes = draw(st.sampled_from([0, 0, 0, 330, -480, 840]))
    t = datetime.fromtimestamp(epoch, timezone(timedelta(minutes=minutes)))
    frac = draw(st.sampled_from(["", ".5", ".123", ".123456", ".123456789"]))
    if minutes == 0 and draw(st.booleans()):
        zone = "Z"
    else:
        zone = t.strftime("%z")
        zone = zone[:3] + ":" + zone[3:]
    return t.strftime("%Y-%m-%dT%H:%M:%S") + frac + zone


@st.composite
def data_for(draw, type_: str) -> dict:
    extras = draw(st.dictionaries(text, json_values, max_size=3))
    data = {k: v for k, v in extras.items() if k not in RESERVED[type_]}
    if type_ == "response":
        data["nps"] = draw(st.integers(0, 10))
        for key, hi in (("csat", 5), ("ces", 7)):
            choice = draw(st.integers(0, 2))
            if choice:
                data[key] = None if choice == 1 else draw(st.integers(1, hi))
    elif type_ == "traffic":
        data.update({"line": draw(text), "in": draw(st.one_of(st.integers(0, 10 ** 6),
                                                              st.just(10 ** 400))),
                     "out": draw(st.integers(0, 10 ** 6))})
    elif type_ == "case":
        data["status"] = draw(st.sampled_from(["opened", "resolved"]))
    elif draw(st.booleans()):
        data["dwell"] = draw(st.dictionaries(text, st.floats(0, 1e6), max_size=3))
    return data


def one_in(draw, k: int) -> bool:
    """True about once in k draws (a drawn integer == 0 comes up far more often than 1/k)."""
    return draw(st.sampled_from((False,) * (k - 1) + (True,)))


class Ctx:
    """What one example's items are built from: its station and a supply of fresh ids/seqs."""

    def __init__(self, n: int, valid_top: int, holes: set):
        self.n = n
        self.station = f"fz/e{n}/k1"
        self.sibling = f"fz/e{n}/k2"
        self._ids = itertools.count(1)
        # Seqs for items that must not collide with a valid one: the holes, then past the top.
        self.spare = sorted(holes) + list(range(valid_top + 1, valid_top + 200))

    def new_id(self, draw) -> str:
        suffix = f"-{self.n}-{next(self._ids)}"
        base = draw(st.text(ID_ALPHABET, min_size=1, max_size=20))
        if one_in(draw, 10):                          # exactly 64 characters
            base = (base * 64)[:64 - len(suffix)]
        return base + suffix

    def take_seq(self) -> int:
        return self.spare.pop(0)

    def any_spare(self, draw) -> int:
        return draw(st.sampled_from(self.spare[:20]))


def valid_doc(draw, ctx: Ctx, seq: int, type_: str | None = None) -> dict:
    type_ = type_ or draw(st.sampled_from(TYPES))
    doc = {"v": 1, "station": ctx.station, "seq": seq, "id": ctx.new_id(draw), "type": type_,
           "ts": draw(ts_valid()), "data": draw(data_for(type_))}
    if one_in(draw, 20):
        doc["renumbered"] = False
    if one_in(draw, 20):
        doc["x_newer_station_field"] = draw(json_values)
    return doc


def item_of(doc, fate: str, case: str, **kw) -> Item:
    body = enc(doc)
    if isinstance(doc, dict) and doc.get("type") in TYPES:
        kw.setdefault("type", doc["type"])
    if fate == VALID:
        parsed = json.loads(body)
        kw.setdefault("seq", parsed["seq"])
        kw.setdefault("id", parsed["id"])
        kw["doc"] = parsed
    elif isinstance(doc, dict) and fate in (EITHER, CONFLICT):
        kw.setdefault("seq", doc.get("seq"))
        kw.setdefault("id", doc.get("id"))
    return Item(body, fate, case, **kw)


def _with(doc: dict, **fields) -> dict:
    return {**doc, **fields}


def _without(doc: dict, key: str) -> dict:
    return {k: v for k, v in doc.items() if k != key}


def _data(doc: dict, drop: str | None = None, **fields) -> dict:
    data = {k: v for k, v in doc["data"].items() if k != drop}
    return {**doc, "data": {**data, **fields}}


def _padded(doc: dict, target: int, char: str) -> dict:
    """`doc` with a data field that makes its JSON exactly `target` bytes."""
    doc = _data(doc, pad="")
    k = target - len(enc(doc).encode())
    width = len(char.encode())
    doc = _data(doc, pad=char * (k // width) + "x" * (k % width))
    assert len(enc(doc).encode()) == target
    return doc


# One field wrong: (case, type the base event must have or None, mutation). All INVALID.
NEARLY = [
    ("v=2", None, lambda d, c: _with(d, v=2)),
    ("v=0", None, lambda d, c: _with(d, v=0)),
    ('v="1"', None, lambda d, c: _with(d, v="1")),
    ("v=1.0", None, lambda d, c: _with(d, v=Raw("1.0"))),
    ("v=true", None, lambda d, c: _with(d, v=True)),
    ("no v", None, lambda d, c: _without(d, "v")),
    ("station=sibling", None, lambda d, c: _with(d, station=c.sibling)),
    ("station=real station", None, lambda d, c: _with(d, station=REAL)),
    ("station=null", None, lambda d, c: _with(d, station=None)),
    ("station+surrogate", None, lambda d, c: _with(d, station=c.station + "\ud800")),
    ("no station", None, lambda d, c: _without(d, "station")),
    ("seq=0", None, lambda d, c: _with(d, seq=0)),
    ("seq=-1", None, lambda d, c: _with(d, seq=-1)),
    ('seq="3"', None, lambda d, c: _with(d, seq=str(d["seq"]))),
    ("seq=3.0", None, lambda d, c: _with(d, seq=Raw(f"{d['seq']}.0"))),
    ("seq=true", None, lambda d, c: _with(d, seq=True)),
    ("seq=2**62+1", None, lambda d, c: _with(d, seq=2 ** 62 + 1)),
    ("seq=10**400", None, lambda d, c: _with(d, seq=10 ** 400)),
    ("seq=1e999", None, lambda d, c: _with(d, seq=Raw("1e999"))),
    ("seq=null", None, lambda d, c: _with(d, seq=None)),
    ("no seq", None, lambda d, c: _without(d, "seq")),
    ("id empty", None, lambda d, c: _with(d, id="")),
    ("id 65 chars", None, lambda d, c: _with(d, id=(d["id"] * 65)[:65])),
    ("id with space", None, lambda d, c: _with(d, id=d["id"] + " x")),
    ("id non-ASCII", None, lambda d, c: _with(d, id=d["id"] + "é")),
    ("id=5", None, lambda d, c: _with(d, id=5)),
    ("id surrogate", None, lambda d, c: _with(d, id=d["id"] + "\udc00")),
    ("no id", None, lambda d, c: _without(d, "id")),
    ("type=selfie", None, lambda d, c: _with(d, type="selfie")),
    ("type=Response", None, lambda d, c: _with(d, type="Response")),
    ("type=null", None, lambda d, c: _with(d, type=None)),
    ("no type", None, lambda d, c: _without(d, "type")),
    ("ts not a time", None, lambda d, c: _with(d, ts="yesterday")),
    ("ts Feb 30", None, lambda d, c: _with(d, ts="2025-02-30T10:00:00Z")),
    ("ts 1999", None, lambda d, c: _with(d, ts="1999-12-31T23:59:59Z")),
    ("ts +2 days", None, lambda d, c: _with(d, ts=datetime.fromtimestamp(
        NOW + 2 * 86400, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))),
    ("ts no zone", None, lambda d, c: _with(d, ts="2025-01-01T10:00:00")),
    ("ts number", None, lambda d, c: _with(d, ts=1735725600)),
    ("ts 10 digit fraction", None, lambda d, c: _with(d, ts="2025-01-01T10:00:00.1234567890Z")),
    ("ts surrogate", None, lambda d, c: _with(d, ts="2025-01-01T10:00:00Z\ud800")),
    ("no ts", None, lambda d, c: _without(d, "ts")),
    ("data=[]", None, lambda d, c: _with(d, data=[])),
    ("data=string", None, lambda d, c: _with(d, data="{}")),
    ("data=null", None, lambda d, c: _with(d, data=None)),
    ("no data", None, lambda d, c: _without(d, "data")),
    ("not an object: 5", None, lambda d, c: 5),
    ("not an object: string", None, lambda d, c: "envelope"),
    ("not an object: null", None, lambda d, c: None),
    ("not an object: list", None, lambda d, c: [d]),
    ("empty object", None, lambda d, c: {}),
    ("nps=11", "response", lambda d, c: _data(d, nps=11)),
    ("nps=-1", "response", lambda d, c: _data(d, nps=-1)),
    ('nps="5"', "response", lambda d, c: _data(d, nps="5")),
    ("nps=5.0", "response", lambda d, c: _data(d, nps=Raw("5.0"))),
    ("nps=true", "response", lambda d, c: _data(d, nps=True)),
    ("nps=null", "response", lambda d, c: _data(d, nps=None)),
    ("nps=10**400", "response", lambda d, c: _data(d, nps=10 ** 400)),
    ("nps=1e999", "response", lambda d, c: _data(d, nps=Raw("1e999"))),
    ("no nps", "response", lambda d, c: _data(d, drop="nps")),
    ("csat=6", "response", lambda d, c: _data(d, csat=6)),
    ('csat="3"', "response", lambda d, c: _data(d, csat="3")),
    ("ces=0", "response", lambda d, c: _data(d, ces=0)),
    ("ces=true", "response", lambda d, c: _data(d, ces=True)),
    ("line=5", "traffic", lambda d, c: _data(d, line=5)),
    ("no line", "traffic", lambda d, c: _data(d, drop="line")),
    ("in=-1", "traffic", lambda d, c: _data(d, **{"in": -1})),
    ("in=1.5", "traffic", lambda d, c: _data(d, **{"in": 1.5})),
    ("in=true", "traffic", lambda d, c: _data(d, **{"in": True})),
    ("in=-1e999", "traffic", lambda d, c: _data(d, **{"in": Raw("-1e999")})),
    ("out=-10**400", "traffic", lambda d, c: _data(d, out=-10 ** 400)),
    ("status=closed", "case", lambda d, c: _data(d, status="closed")),
    ("status=null", "case", lambda d, c: _data(d, status=None)),
    ("no status", "case", lambda d, c: _data(d, drop="status")),
    ("dwell=[]", "visit", lambda d, c: _data(d, dwell=[])),
    ("dwell=null", "visit", lambda d, c: _data(d, dwell=None)),
]

# Hostile input with a definite outcome: (case, fate, type or None, mutation).
HOSTILE = [
    ("surrogate in data value", INVALID, None, lambda d, c: _data(d, note="ok\ud800")),
    ("low surrogate alone", INVALID, None, lambda d, c: _data(d, note="\udfff")),
    ("surrogates reversed", INVALID, None, lambda d, c: _data(d, note="\ude00\ud83d")),
    ("surrogate in data key", INVALID, None, lambda d, c: _data(d, **{"k\ud800": 1})),
    ("surrogate nested in data", INVALID, None, lambda d, c: _data(
        d, nested={"a": [1, {"b": "\udbff"}]})),
    ("surrogate in traffic line", INVALID, "traffic", lambda d, c: _data(d, line="door\ud800")),
    ("65 537 bytes", INVALID, None, lambda d, c: _padded(d, KEEP + 1, "x")),
    ("65 537 bytes of é", INVALID, None, lambda d, c: _padded(d, KEEP + 1, "é")),
    ("100 000 bytes", INVALID, None, lambda d, c: _padded(d, 100_000, "x")),
    ("escaped surrogate pair", VALID, None, lambda d, c: _data(d, emoji=Raw('"\\ud83d\\ude00"'))),
    ("NUL characters", VALID, None, lambda d, c: _data(d, note="a\x00b", **{"\x00": 0})),
    ("10**400 in data", VALID, None, lambda d, c: _data(d, big=10 ** 400, small=-10 ** 400)),
    ("traffic in=10**400", VALID, "traffic", lambda d, c: _data(d, **{"in": 10 ** 400})),
    ("nesting 400 deep", VALID, None, lambda d, c: _data(d, deep=deep(400, "{"))),
    ("exactly 65 536 bytes", VALID, None, lambda d, c: _padded(d, KEEP, "x")),
    ("exactly 65 536 bytes of é", VALID, None, lambda d, c: _padded(d, KEEP, "é")),
]

# Outcome left to HQ (stored once, or one dead letter): (case, type, mutation, parser_limit).
EITHERS = [
    ("1e999 in data", None, lambda d, c: _data(d, inf=Raw("1e999"), ninf=Raw("-1e999")), False),
    ("surrogate in a top-level field", None, lambda d, c: _with(d, note="\ud800"), False),
    ("surrogate in a top-level key", None, lambda d, c: _with(d, **{"\udc00": 1}), False),
    ("10**5000 in data", None, lambda d, c: _data(d, big=Raw("1" + "0" * 5000)), True),
    ("nesting 1 500 deep in data", None, lambda d, c: _data(d, deep=deep(1500)), True),
    ("nesting 20 000 deep in data", None, lambda d, c: _data(d, deep=deep(20000, "{")), True),
]


@st.composite
def scenario(draw, n: int) -> Scenario:
    top = draw(st.integers(0, 8))
    holes = draw(st.sets(st.integers(1, top), max_size=2)) if top else set()
    ctx = Ctx(n, top, holes)
    valid = [item_of(valid_doc(draw, ctx, s), VALID, "valid") for s in range(1, top + 1)
             if s not in holes]
    if one_in(draw, 10):
        valid.append(item_of(valid_doc(draw, ctx, 2 ** 62), VALID, "seq=2**62"))
    conflicts = {}
    low = [v for v in valid if v.seq < 2 ** 62]
    if low and one_in(draw, 6):
        first = draw(st.sampled_from(low))
        valid.remove(first)
        twin = valid_doc(draw, ctx, first.seq)
        first.fate, first.case = CONFLICT, "conflict"
        conflicts[first.seq] = [first, item_of(twin, CONFLICT, "conflict")]
    loose = list(valid) + [i for pair in conflicts.values() for i in pair]
    # Resends of valid events: HQ counts them as duplicates and stores each once.
    for item in draw(st.lists(st.sampled_from(valid), max_size=2)) if valid else []:
        loose.append(item)
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["nearly", "nearly", "hostile", "either"]))
        if kind == "nearly":
            case, type_, mutate = draw(st.sampled_from(NEARLY))
            fate, limit = INVALID, False
        elif kind == "hostile":
            case, fate, type_, mutate = draw(st.sampled_from(HOSTILE))
            limit = False
        else:
            case, type_, mutate, limit = draw(st.sampled_from(EITHERS))
            fate = EITHER
        seq = ctx.take_seq() if fate != INVALID else ctx.any_spare(draw)
        doc = mutate(valid_doc(draw, ctx, seq, type_), ctx)
        item = item_of(doc, fate, case)
        if fate == EITHER and limit:        # alone here; in a batch only with fresh events
            item.topic_type = item.type
        loose.append(item)
    # A valid event on the topic of another type: refused.
    if one_in(draw, 6):
        doc = valid_doc(draw, ctx, ctx.any_spare(draw))
        loose.append(item_of(doc, INVALID, "type differs from topic", topic_type=draw(
            st.sampled_from([t for t in TYPES if t != doc["type"]]))))
    loose = draw(st.permutations(loose))
    msgs = []
    while loose:
        size = draw(st.integers(1, 5))
        chunk, loose = loose[:size], loose[size:]
        alone = [i for i in chunk if i.topic_type]
        chunk = [i for i in chunk if not i.topic_type]
        for item in alone:
            msgs.append(Msg(f"{PREFIX}/{ctx.station}/{item.topic_type}", item.raw, ITEMS,
                            "single", [item]))
        if len(chunk) == 1 and draw(st.booleans()):
            item = chunk[0]
            type_ = item.type or draw(st.sampled_from(TYPES))
            msgs.append(Msg(f"{PREFIX}/{ctx.station}/{type_}", item.raw, ITEMS, "single",
                            [item]))
        elif chunk:
            msgs.append(batch_msg(draw, ctx, chunk, ITEMS))
    # A batch with an item Python cannot parse (by its limits), and only fresh events besides.
    if one_in(draw, 5):
        case, type_, mutate, _limit = draw(st.sampled_from([e for e in EITHERS if e[3]]))
        odd = item_of(mutate(valid_doc(draw, ctx, ctx.take_seq(), type_), ctx), EITHER, case)
        cohort = [item_of(valid_doc(draw, ctx, ctx.take_seq()), VALID, "valid beside it")
                  for _ in range(draw(st.integers(0, 2)))]
        msgs.append(batch_msg(draw, ctx, draw(st.permutations(cohort + [odd])), ITEMS_OR_ONE))
    for _ in range(draw(st.sampled_from(range(4)))):
        msgs.append(draw(st.sampled_from(WHOLE))(draw, ctx))
    return Scenario(ctx.station, ctx.sibling, draw(st.permutations(msgs)), conflicts)


def batch_msg(draw, ctx: Ctx, items: list, mode: str) -> Msg:
    sep = draw(st.sampled_from([",", " , ", ",\n\t"]))
    head, tail = draw(st.sampled_from([("[", "]"), (" [\n", " ]\r\n")]))
    body = head + sep.join(i.text for i in items) + tail
    return Msg(f"{PREFIX}/{ctx.station}/batch", body.encode(), mode, "batch", list(items))


# Whole messages: (draw, ctx) -> Msg.
def _garbage_event(draw, ctx):
    payload = draw(st.one_of(
        st.binary(max_size=200), st.just(b""), st.just(b"\xed\xa0\x80"),
        st.sampled_from([b"null", b"[]", b'{"v":1', b"1" * 5000, b"\x00", b"1e999"]),
        st.integers(1200, 30000).map(lambda n: deep(n).encode())))
    return Msg(f"{PREFIX}/{ctx.station}/{draw(st.sampled_from(TYPES))}", payload, ONE,
               "garbage on an event topic")


def _bad_batch(draw, ctx):
    one = enc(valid_doc(draw, ctx, ctx.any_spare(draw)))
    payload = draw(st.sampled_from([
        "[]", " [ ] ", one, "[" + one, "[" + one + "]x", "[" + one + ",]", "[," + one + "]",
        "[" + one + "][" + one + "]", '"a string"', "[" + one + "," + one[:-1],
    ])).encode()
    if one_in(draw, 6):
        payload = b"\xff" + payload
    return Msg(f"{PREFIX}/{ctx.station}/batch", payload, ONE, "broken batch")


def _bad_topic(draw, ctx):
    org, store, sta = ctx.station.split("/")
    topic = draw(st.sampled_from([
        f"{PREFIX}/{org}/{store}", f"{PREFIX}/{ctx.station}/response/x",
        f"{PREFIX}/FZ/{store}/{sta}/case", f"{PREFIX}/{org}/{store}/é/visit", f"{PREFIX}/{org}//{store}/traffic",
        f"{PREFIX}/{org}/{store}/{'k' * 64}/response"]))
    payload = draw(st.one_of(st.binary(max_size=100), st.just(
        enc(valid_doc(draw, ctx, ctx.any_spare(draw))).encode())))
    return Msg(topic, payload, ONE, "unparseable topic")


def _unknown_kind(draw, ctx):
    kind = draw(st.sampled_from(["selfie", "Response", "", "batch2", "events"]))
    payload = enc(valid_doc(draw, ctx, ctx.any_spare(draw))).encode()
    return Msg(f"{PREFIX}/{ctx.station}/{kind}", payload, ONE, "unknown kind")


def _status(draw, ctx):
    payload = draw(st.sampled_from([b"online", b"offline", b"Online", b"", b"online\n",
                                    b"on\xffline", b"{}"]))
    mode = NONE if payload in (b"online", b"offline") else ONE
    return Msg(f"{PREFIX}/{ctx.station}/status", payload, mode, "status")


def _health(draw, ctx):
    choice = draw(st.sampled_from(range(8)))
    if choice <= 1:
        payload = json.dumps({"backlog": draw(st.integers(0, 10 ** 6)),
                              "note": draw(text)}).encode()
        return Msg(f"{PREFIX}/{ctx.station}/health", payload, NONE, "health")
    if choice <= 4:
        payload = draw(st.sampled_from([b"[]", b"null", b"not json", b"\xff{}", b"7",
                                        b'{"x":"' + b"y" * 70_000 + b'"}']))
        return Msg(f"{PREFIX}/{ctx.station}/health", payload, ONE, "bad health")
    payload = draw(st.sampled_from([
        b'{"x":"\\ud800"}', deep(5000, "{").encode(), b'{"n":1e999}',
        b'{"n":' + b"1" * 5000 + b"}"]))
    return Msg(f"{PREFIX}/{ctx.station}/health", payload, MAYBE, "hostile health")


def _foreign_ack(draw, ctx):
    payload = draw(st.sampled_from([b"garbage", deep(3000).encode(),
                                    b'{"hq":"other","acked_seq":99}']))
    return Msg(f"{PREFIX}/{ctx.station}/ack", payload, MAYBE, "an ack from elsewhere")


WHOLE = [_garbage_event, _bad_batch, _bad_topic, _unknown_kind, _status, _health, _foreign_ack]


# -- acks the real station must ignore ------------------------------------------------------------
ABSENT = object()
WRONG_NAMES = [ABSENT, None, "hq", "HQ-FUZZ", "hq-fuzz ", " hq-fuzz", "hq-fuzz\ud800",
               "hq-fuzz\x00", "", "hq\u2010fuzz", "hq-fuzz2", 1, True, ["hq-fuzz"],
               {"name": "hq-fuzz"}]
CLAIMS = {"its newest seq": lambda last: last, "newest+1": lambda last: last + 1,
          "newest+1000": lambda last: last + 1000, "10**400": lambda last: 10 ** 400,
          "2**62": lambda last: 2 ** 62}
# acked_seq values under our HQ's name that are not a seq ({last}: the station's newest).
BAD_SEQS = ['"{last}"', "{last}.0", "true", "null", "-1", "[{last}]", '{{"n":{last}}}',
            "1e999", "-0.0", "10e0", None]
# Marks under our HQ's name that no HQ can send (it refuses seqs above 2**62): taking one would
# make the station renumber its events past what SQLite can hold.
HUGE = {"2**62+1": 2 ** 62 + 1, "2**63": 2 ** 63, "2**64": 2 ** 64, "10**400": 10 ** 400}
GARBAGE_ACKS = {
    "empty": b"", "null": b"null", "array": b"[]", "string": b'"ack"', "1e999": b"1e999",
    "cut": b"{", "UTF-8 surrogate": b"\xed\xb0\x80", "escaped surrogate key": b'{"\\ud800":1}',
    "not UTF-8": b"\xff\xfe{}",
    "acked_seq 3000 deep": b'{"hq":"hq-fuzz","acked_seq":' + b"[" * 3000 + b"]" * 3000 + b"}",
    "gaps 5000 deep": b'{"hq":"hq-fuzz","acked_seq":{last},"gaps":' + b"[" * 5000 +
                      b"]" * 5000 + b"}",
    "acked_seq of 5001 digits": b'{"hq":"hq-fuzz","acked_seq":1' + b"0" * 5000 + b"}",
    "100 000 deep": b"[" * 100_000 + b"]" * 100_000,
}


@st.composite
def hostile_ack(draw):
    """An ack the real station must ignore, as (case, spec); built when sent (build_ack)."""
    kind = draw(st.sampled_from(range(4)))
    if kind == 0:                   # another HQ's name, claiming what our HQ does not hold yet
        return "wrong hq", ("wrong", draw(st.sampled_from(WRONG_NAMES)),
                            draw(st.sampled_from(sorted(CLAIMS))))
    if kind == 1:                   # our HQ's name, a mark that is not a seq
        return "malformed mark", ("bad", draw(st.sampled_from(BAD_SEQS)))
    if kind == 2:
        return "huge mark", ("huge", draw(st.sampled_from(sorted(HUGE))))
    return "garbage ack", ("raw", draw(st.sampled_from(sorted(GARBAGE_ACKS))))


def build_ack(spec, last: int, last_id: str | None) -> bytes:
    if spec[0] == "wrong":
        _tag, name, claim = spec
        seq = CLAIMS[claim](last)
        doc = {} if name is ABSENT else {"hq": name}
        doc.update({"acked_seq": seq, "max_seq": seq, "id": last_id, "gaps": [], "at": NOW})
        return enc(doc).encode()
    if spec[0] == "bad":
        bad = spec[1]
        head = '{"hq":"' + HQ_NAME + '"' + ("" if bad is None else
                                            ',"acked_seq":' + bad.format(last=last))
        return (head + f',"max_seq":{last},"id":{enc(last_id)},"gaps":[]}}').encode()
    if spec[0] == "huge":
        seq = HUGE[spec[1]]
        return enc({"hq": HQ_NAME, "acked_seq": seq, "max_seq": seq, "id": last_id,
                    "gaps": []}).encode()
    return GARBAGE_ACKS[spec[1]].replace(b"{last}", str(last).encode())


# -- the run ---------------------------------------------------------------------------------------
class Fuzz:
    def __init__(self, tmp_path, broker: Broker, services):
        self.cfg = write_config(tmp_path / "station.toml", broker,
                                sync={"ack_timeout_s": 1, "health_interval_s": 1,
                                      "hq_name": HQ_NAME},
                                hq={"name": HQ_NAME})
        config = load_config(self.cfg)
        self.hq_db = tmp_path / "hq.db"
        self.station_db = config.database.path
        self.store = Store.open(config)
        self.hq = services("hq", self.cfg)
        self.sync = services("sync", self.cfg)
        self.pub = mqtt_client(broker, "fuzz-publisher")
        self.acks: list[tuple[str, bytes]] = []
        self.hostile_acks: set[bytes] = set()
        self.watch = mqtt_client(broker, "fuzz-ack-watcher", subscribe=[f"{PREFIX}/+/+/+/ack"],
                                 on_message=lambda c, u, m: self.acks.append((m.topic,
                                                                              m.payload)))
        self.ro: sqlite3.Connection | None = None
        self.probe_seq = 0
        self.n = itertools.count(1)
        self.figures = Counter()
        self.cases = Counter()

    # publishing
    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        info = self.pub.publish(topic, payload, qos=qos)
        assert info.rc == 0, f"publish to {topic} failed: {info.rc}"
        self.figures["messages sent"] += 1

    def settle(self, timeout: float = 15.0) -> None:
        """Everything published so far is committed by HQ: a probe event sent last is stored."""
        self.probe_seq += 1
        doc = {"v": 1, "station": PROBE, "seq": self.probe_seq, "id": f"probe-{self.probe_seq}",
               "type": "case", "ts": "2025-06-01T10:00:00Z", "data": {"status": "opened"}}
        self.publish(f"{PREFIX}/{PROBE}/case", enc(doc).encode())
        try:
            wait_until(lambda: self.query("SELECT 1 FROM events WHERE station = ? AND seq = ?",
                                          (PROBE, self.probe_seq)), timeout, interval=0.01,
                       message=f"HQ to commit probe {self.probe_seq}")
        except AssertionError as exc:
            errors = [line for line in self.hq.log_text().splitlines() if " ERROR " in line]
            raise AssertionError(f"{exc}: HQ wedged or dead (alive: {self.hq.alive}); its last "
                                 f"errors: {errors[-3:]}") from None

    def query(self, sql: str, args=()) -> list:
        if self.ro is None:
            if not self.hq_db.exists():
                return []
            self.ro = sqlite3.connect(f"file:{self.hq_db}?mode=ro", uri=True, timeout=30)
        try:
            return self.ro.execute(sql, args).fetchall()
        except sqlite3.OperationalError:
            return []                   # HQ still creating its schema

    def start(self) -> None:
        """Until HQ's first session has subscribed the broker drops what it gets: probe."""
        deadline = time.monotonic() + 30
        while True:
            try:
                self.settle(timeout=0.5)
                return
            except AssertionError:
                self.probe_seq -= 1
                if time.monotonic() > deadline:
                    raise

    # one example
    def example(self, sc: Scenario, real_events: list, acks: list) -> None:
        for msg in sc.msgs:
            if msg.topic.endswith("/ack"):
                self.hostile_acks.add(msg.payload)
            self.publish(msg.topic, msg.payload)
            self.cases[msg.case] += 1
            for item in msg.items:
                self.cases[f"{item.fate}: {item.case}"] += 1
        # The real station: new events, then acks it must not believe.
        last = self.store.outbox_status()["last_seq"]
        if real_events:
            last = self.store.append_raw_events("traffic", real_events)[-1]
            self.figures["real station events"] += len(real_events)
        last_id = self.store.outbox_id(last)
        for kind, spec in acks:
            payload = build_ack(spec, last, last_id)
            self.hostile_acks.add(payload)
            self.publish(f"{PREFIX}/{REAL}/ack", payload, qos=1)
            self.cases[f"ack: {kind}"] += 1
            self.figures["hostile acks"] += 1
        self.settle()
        self.check(sc)
        wait_until(lambda: self.store.outbox_status()["pending"] == 0 or not self.sync.alive, 15,
                   interval=0.02, message="the real station's events acknowledged by HQ "
                                          "(cx-sync stuck after a hostile ack?)")
        assert self.sync.alive, "cx-sync died\n" + self.sync.log_text()[-3000:]
        acked = self.store.outbox_status()["last_acked_seq"] or 0
        mark = (self.query("SELECT acked_seq FROM stations WHERE station = ?", (REAL,))
                or [(0,)])[0][0]
        assert acked <= mark, f"the station marked {acked} delivered, HQ's mark is {mark}: it " \
                              f"believed an ack that was not HQ's"
        assert self.hq.alive and self.sync.alive

    def check(self, sc: Scenario) -> None:
        s = sc.station
        rows = {seq: (event_id, type_, ts, data) for seq, event_id, type_, ts, data in self.query(
            "SELECT seq, id, type, ts, data FROM events WHERE station = ?", (s,))}
        columns = {r[1] for r in self.query("PRAGMA table_info(dead_letters)")}
        size_col = "size" if "size" in columns else "NULL"
        topics = {m.topic for m in sc.msgs}
        letters = [(bytes(p), size, topic) for p, size, topic, station in self.query(
            f"SELECT payload, {size_col}, topic, station FROM dead_letters "
            f"WHERE station = ? OR station IS NULL", (s,)) if station == s or topic in topics]
        unmatched = list(letters)

        def take(payload: bytes) -> bool:
            """Match one dead letter: the payload's first 64 KB, and its size where recorded."""
            for letter in unmatched:
                kept, size, _topic = letter
                if len(kept) == min(len(payload), KEEP) and payload.startswith(kept) and \
                        size in (None, len(payload)):
                    unmatched.remove(letter)
                    return True
            return False

        def missing(what, payload: bytes) -> str:
            near = [(len(k), size) for k, size, _t in unmatched if k[:200] == payload[:200]]
            return f"no dead letter for {what} ({len(payload)} bytes: {payload[:160]!r}); " + \
                (f"letters with its start keep (bytes, size) {near}" if near else
                 f"unmatched letters {[(k[:80], t) for k, _s, t in unmatched]}")

        # Batches refused whole, where HQ may do that: their items are neither stored nor
        # dead-lettered one by one.
        for msg in sc.msgs:
            if msg.mode == ITEMS_OR_ONE:
                msg.whole = take(msg.payload)
        for msg in sc.msgs:
            if msg.mode == ONE:
                assert take(msg.payload), missing(repr(msg), msg.payload)
            elif msg.mode == MAYBE:
                take(msg.payload)
        expected: dict[int, Item] = {}
        eithers = []
        for msg in sc.msgs:
            if msg.mode not in (ITEMS, ITEMS_OR_ONE) or msg.whole:
                continue
            for item in msg.items:
                if item.fate == VALID:
                    expected[item.seq] = item
                elif item.fate == INVALID:
                    assert take(item.raw), missing(f"{item!r} in {msg!r}", item.raw)
                elif item.fate == EITHER:
                    eithers.append(item)
        for item in eithers:
            stored = rows.get(item.seq)
            lettered = take(item.raw)
            assert (stored is not None and stored[0] == item.id) != lettered, \
                f"{item!r} must be stored or dead-lettered, once: row {stored}, " + \
                ("and a dead letter" if lettered else missing(repr(item), item.raw))
            if stored is not None:
                expected[item.seq] = item
        for seq, item in expected.items():
            row = rows.get(seq)
            assert row is not None, f"valid {item!r} was not stored"
            assert row[0] == item.id, f"seq {seq} holds {row[0]}, sent {item!r} ({item.id})"
            if item.fate == VALID:
                assert (row[1], row[2], json.loads(row[3])) == (
                    item.doc["type"], item.doc["ts"], item.doc["data"]), f"{item!r} changed"
        disputed = set()
        for seq, pair in sc.conflicts.items():
            row = rows.get(seq)
            assert row is not None and row[0] in {i.id for i in pair}, \
                f"conflict at seq {seq}: HQ holds {row}, sent {[i.id for i in pair]}"
            disputed.add(seq)
            loser = next(i for i in pair if i.id != row[0])
            for letter in unmatched:
                try:
                    doc = json.loads(letter[0])
                except (ValueError, RecursionError):
                    continue
                if isinstance(doc, dict) and doc.get("seq") == seq and doc.get("id") == loser.id:
                    unmatched.remove(letter)
                    break
            else:
                raise AssertionError(f"no dead letter for the refused {loser!r} ({loser.id})")
        extra = set(rows) - set(expected) - disputed
        assert not extra, f"stored what should not be: seqs {sorted(extra)}"
        assert not unmatched, f"dead letters nothing explains: " \
                              f"{[(p[:120], t) for p, _s, t in unmatched]}"
        assert not self.query("SELECT 1 FROM events WHERE station = ?", (sc.sibling,)), \
            "an envelope naming another station was stored under it"
        # The mark: up to the first seq HQ lacks, never past a disputed one it had to keep open.
        mark, max_seq = (self.query("SELECT acked_seq, max_seq FROM stations WHERE station = ?",
                                    (s,)) or [(0, 0)])[0]
        stored = set(rows)
        if disputed:
            low = min(prefix(set(expected)), min(disputed) - 1)
            assert low <= mark <= prefix(stored), \
                f"mark {mark} outside {low}..{prefix(stored)} (disputed {sorted(disputed)})"
        else:
            assert mark == prefix(stored), f"mark {mark}, stored seqs {sorted(stored)[:20]}"
        assert max_seq == max(stored, default=0)
        gaps = self.query("SELECT from_seq, to_seq FROM gaps WHERE station = ? ORDER BY from_seq",
                          (s,))
        assert [tuple(g) for g in gaps] == holes(stored), f"gaps {gaps}, stored {sorted(stored)}"
        if rows:
            wait_until(lambda: self.ack_for(s, mark), 5, interval=0.01,
                       message=f"HQ's ack for {s} at {mark}, naming {HQ_NAME}")
        self.figures["valid events"] += sum(1 for i in expected.values() if i.fate == VALID)
        self.figures["either: stored"] += sum(1 for i in expected.values() if i.fate == EITHER)
        self.figures["either: dead-lettered"] += len(eithers) - sum(
            1 for i in expected.values() if i.fate == EITHER)
        self.figures["conflicting seqs"] += len(disputed)
        self.figures["batches refused whole"] += sum(1 for m in sc.msgs if m.whole)
        self.figures["dead letters (example stations)"] += len(letters)

    def ack_for(self, station: str, mark: int) -> bool:
        topic = f"{PREFIX}/{station}/ack"
        for t, payload in reversed(self.acks):
            if t == topic and payload not in self.hostile_acks:
                doc = json.loads(payload)
                return doc.get("hq") == HQ_NAME and doc.get("acked_seq") == mark
        return False

    def finish(self) -> None:
        wait_until(lambda: self.store.outbox_status()["pending"] == 0, 30, interval=0.1,
                   message="the real station's outbox fully acknowledged")
        comparison = station_vs_hq(self.station_db, self.hq_db, REAL)
        assert (comparison["missing"], comparison["different"], comparison["extra"],
                comparison["duplicate_ids"], comparison["unacked"]) == ([], [], [], 0, 0), \
            comparison
        mark = self.query("SELECT acked_seq FROM stations WHERE station = ?", (REAL,))[0][0]
        assert mark == comparison["outbox"] and not self.query(
            "SELECT 1 FROM gaps WHERE station = ?", (REAL,))
        assert self.query("SELECT acked_seq FROM stations WHERE station = ?",
                          (PROBE,))[0][0] == self.probe_seq
        # Every ack HQ published names it (the hostile ones were ours).
        for topic, payload in self.acks:
            if payload not in self.hostile_acks:
                assert json.loads(payload).get("hq") == HQ_NAME, (topic, payload[:200])
        self.figures["acks seen from HQ"] = sum(1 for _t, p in self.acks
                                                if p not in self.hostile_acks)
        for name, svc in (("cx-sync", self.sync), ("cx-hq", self.hq)):
            assert svc.alive, f"{name} died\n{svc.log_text()[-3000:]}"
        for name, svc in (("cx-sync", self.sync), ("cx-hq", self.hq)):
            rc, took = stop_timed(svc, 10)
            self.figures[f"{name} SIGTERM seconds"] = round(took, 2)
            assert rc == 0 and took < 5, f"{name} on SIGTERM: exit {rc} after {took:.1f}s\n" \
                                         f"{svc.log_text()[-3000:]}"
        self.figures["stored events (all stations)"] = self.query(
            "SELECT count(*) FROM events")[0][0]
        self.figures["dead letters (all)"] = self.query("SELECT count(*) FROM dead_letters")[0][0]
        self.figures["duplicates absorbed"] = self.query(
            "SELECT coalesce(sum(duplicates), 0) FROM stations")[0][0]
        self.figures["duplicate rows"] = self.query(
            "SELECT count(*) - count(DISTINCT station || ' ' || id) FROM events")[0][0]
        self.figures["real station rows compared"] = comparison["outbox"]

    def close(self) -> None:
        for client in (self.pub, self.watch):
            client.disconnect()
            client.loop_stop()
        if self.ro is not None:
            self.ro.close()
        self.store.close()


def prefix(seqs: set) -> int:
    k = 0
    while k + 1 in seqs:
        k += 1
    return k


def holes(seqs: set) -> list[tuple[int, int]]:
    out, prev = [], 0
    for s in sorted(seqs):
        if s > prev + 1:
            out.append((prev + 1, s - 1))
        prev = s
    return out


real_events = st.lists(st.fixed_dictionaries({
    "minute": st.just("2026-11-23T10:00:00Z"), "line": text, "in": st.integers(0, 10 ** 6),
    "out": st.integers(0, 10 ** 6)}), max_size=3)


def test_fuzz_hostile_input_through_a_real_broker_into_a_real_hq(tmp_path, broker, services):
    started = time.monotonic()
    fuzz = Fuzz(tmp_path, broker, services)
    fuzz.start()
    examples = itertools.count(1)

    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=(Phase.explicit, Phase.generate), report_multiple_bugs=False,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def one_example(data):
        n = next(examples)
        sc = data.draw(scenario(n), label="scenario")
        events = data.draw(real_events, label="real station events")
        acks = data.draw(st.lists(hostile_ack(), max_size=3), label="hostile acks")
        fuzz.example(sc, events, acks)
        fuzz.figures["examples"] += 1

    try:
        one_example()
        fuzz.finish()
    finally:
        fuzz.close()
        took = time.monotonic() - started
        print(f"\nfuzz: {took:.1f}s")
        for name, value in sorted(fuzz.figures.items()):
            print(f"  {name}: {value}")
        print("  cases: " + "; ".join(f"{k} x{v}" for k, v in sorted(fuzz.cases.items())))
