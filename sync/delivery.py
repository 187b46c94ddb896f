"""The station's delivery window: what to send, resend, mark acked or renumber, without I/O.

    window = DeliveryWindow(acked=0, last_seq=12, now=0.0, ack_timeout_s=5)
    window.connected(now=0.0)
    window.heard(Ack.from_doc({"acked_seq": 0, "max_seq": 0, "gaps": []}))
    window.next_send(now=0.1)           # Send(after=0, mark=0): publish from seq 1 on
    window.sent(12)                     # ...handed seqs up to 12 to the broker

HQ's ack mark is the only thing that makes an event delivered (``sync/README.md``, Delivery);
this class decides what follows from the acks, the connection and the clock, and says it as
small actions that ``sync.station_sender.Sender`` carries out (outbox reads and writes,
publishes, logs). It reads no clock (``now`` comes in), no database and no socket: what the
window must know of the outbox (the event at a seq HQ names, the last seq) it asks for with a
``Lookup`` and is told with an ``OutboxAt``. One step of the sender, in order:

    heard / connected / subscribed       what the network thread recorded since the last step
    lookup() -> looked_up(now, at)       until None: HQ's new mark, then a conflict above it
    tick(now)                            the ack timeout: a Rewind when it went back for holes
    next_send(now) -> sent / resent      a normal round or a hole, once the connection settled
"""
from __future__ import annotations

from dataclasses import dataclass

from sync.envelope import is_int

MAX_ACK_TIMEOUT_S = 1800.0
STUCK_ROUNDS = 8                # resend rounds without progress before backing off anyway
# After a (re)connect nothing is published until HQ's retained ack had its chance to arrive
# (the broker sends it right behind the SUBACK): a database that replaced another one under
# the same station id must learn that before it reuses seqs HQ already holds.
RETAINED_ACK_WAIT_S = 0.5
SUBACK_WAIT_S = 5.0             # a broker that never answers the subscription does not block us
MAX_SEQ = 2 ** 62               # HQ refuses seqs above it; renumbering after it fits SQLite

Holes = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Ack:
    """One ack of the HQ this station trusts, checked: its mark (highest seq committed with no
    gap below), the event id at the mark, the highest seq it holds, its first holes between the
    two (None from an HQ too old to list them), whether it has more, and the [seq, id] it holds
    right above the mark where another event arrived under that seq."""
    mark: int
    mark_id: str | None
    max_seq: int
    gaps: Holes | None = None
    gaps_more: bool = False
    conflict: tuple[int, str] | None = None

    @classmethod
    def from_doc(cls, doc) -> "Ack":
        """The ack in a decoded JSON document; ValueError when anything in it is off."""
        if not isinstance(doc, dict):
            raise ValueError(f"not a JSON object: {doc!r:.80}")
        if "acked_seq" not in doc:
            raise ValueError("no acked_seq")
        mark = doc["acked_seq"]
        if not _is_seq(mark, 0):
            raise ValueError(f"acked_seq {mark!r:.80}")
        # Older HQs send the mark alone.
        top, mark_id = doc.get("max_seq", mark), doc.get("id")
        if not _is_seq(top, mark):
            raise ValueError(f"max_seq {top!r:.80}")
        if mark_id is not None and not isinstance(mark_id, str):
            raise ValueError(f"id {mark_id!r:.80}")
        return cls(mark, mark_id, top, _gaps(doc.get("gaps"), mark, top),
                   doc.get("gaps_more") is True, _conflict(doc.get("conflict"), mark))


def _is_seq(value, low: int) -> bool:
    """A seq no lower than `low` that a renumbering after it keeps inside SQLite's INTEGER."""
    return is_int(value) and low <= value <= MAX_SEQ


def _gaps(value, mark: int, top: int) -> Holes | None:
    """An ack's `gaps` checked: ascending, disjoint [lo, hi] ranges inside (mark, top). None when
    absent (an older HQ)."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError(f"gaps {str(value)[:80]!r}")
    out, floor = [], mark
    for item in value:
        if not (isinstance(item, list) and len(item) == 2 and all(map(is_int, item))
                and floor < item[0] <= item[1] < top):
            raise ValueError(f"gap {str(item)[:80]!r}")
        out.append((item[0], item[1]))
        floor = item[1]
    return tuple(out)


def _conflict(value, mark: int) -> tuple[int, str] | None:
    """An ack's `conflict` checked: [seq, id] of the event HQ holds right above its mark where
    another event arrived under the same seq. None when absent."""
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 2 and value[0] == mark + 1
            and is_int(value[0]) and isinstance(value[1], str)):
        raise ValueError(f"conflict {str(value)[:80]!r}")
    return value[0], value[1]


@dataclass
class HqView:
    """What HQ has said, merged across acks that may come late, twice or out of order: a
    mark never goes back, and the holes and conflict are those of the freshest mark."""
    mark: int = 0
    mark_id: str | None = None
    max_seq: int = 0
    gaps: tuple[int, Holes, bool] | None = None     # (at mark, holes, more than listed)
    conflict: tuple[int, str] | None = None
    acks: int = 0                                   # advancing or not: HQ is alive

    def heard(self, ack: Ack) -> None:
        self.acks += 1
        if ack.mark > self.mark:
            self.mark, self.mark_id = ack.mark, ack.mark_id
        self.max_seq = max(self.max_seq, ack.max_seq)
        if ack.mark >= self.mark:
            if ack.gaps is not None:
                self.gaps = (ack.mark, ack.gaps, ack.gaps_more)
            self.conflict = ack.conflict


# -- what the window asks and decides ----------------------------------------------------------
@dataclass(frozen=True)
class Lookup:
    """Tell me (``looked_up``) which event our outbox holds at `seq`, and its last seq too
    when `last_seq`."""
    seq: int
    last_seq: bool


@dataclass(frozen=True)
class OutboxAt:
    """The answer to a Lookup: the event id at `seq` (None: no such row), the outbox's last
    seq (None when not asked)."""
    seq: int
    event_id: str | None
    last_seq: int | None = None


@dataclass(frozen=True)
class MarkAcked:
    """HQ holds our events up to `seq`: mark them delivered. `drained`: nothing we know of is
    left beyond it."""
    seq: int
    drained: bool


@dataclass(frozen=True)
class Renumber:
    """HQ holds another event (`held_id`) at our `seq`: move our pending events to follow
    `after` (then tell the window the outbox's last seq); the window goes on from HQ's `mark`.
    `replaced`: `seq` is that mark, so this database replaced another one under the same
    station id; else a conflict right above it (someone published under our name first)."""
    after: int
    mark: int
    seq: int
    held_id: str | None
    hq_max: int
    replaced: bool


@dataclass(frozen=True)
class ResendOwn:
    """HQ refused another event under our `seq` and holds ours: it goes again first."""
    seq: int


@dataclass(frozen=True)
class Rewind:
    """The mark stayed at `mark` for `idle_s` with `outstanding` seqs sent beyond it: the
    window went back (`selective`: to the holes HQ listed, else to the mark)."""
    mark: int
    idle_s: float
    outstanding: int
    selective: bool


@dataclass(frozen=True)
class Send:
    """A normal round: the pending events after seq `after`, in order; `mark` decides batching
    (the backlog is what lies beyond it)."""
    after: int
    mark: int


@dataclass(frozen=True)
class Resend:
    """(Part of) a hole HQ listed: our pending events from `lo` to `hi`."""
    lo: int
    hi: int


class DeliveryWindow:
    """The end-to-end acknowledged window of one station outbox."""

    def __init__(self, acked: int, last_seq: int, now: float, ack_timeout_s: float):
        self.ack_timeout_s = ack_timeout_s
        self.hq = HqView()
        self.acked = acked                # HQ's mark as far as our outbox is concerned
        self.cursor = acked               # last seq handed to the broker on this connection
        self.max_seen = last_seq          # the highest seq our outbox is known to reach
        self.repair: list[list[int]] = []   # [lo, hi] holes to resend before the cursor goes on
        self.ack_timeout = ack_timeout_s
        self._moved_at = now              # when the mark last moved (or nothing was outstanding)
        self._acks_at_rewind = 0
        self._gaps_at_rewind: tuple | None = None
        self._stuck_rounds = 0
        self._backed_off_silent = False   # the timeout grew because HQ said nothing
        self._conflict_handled: tuple[int, str] | None = None
        self._connected_at = now
        self._heard_since_connect = False
        self._subscribed_at: float | None = None

    # -- what the network thread recorded ---------------------------------------------------------
    def connected(self, now: float) -> None:
        """A new connection: paho's copies are gone, so go on from HQ's mark."""
        self.cursor, self.repair = self.acked, []
        self._moved_at = self._connected_at = now
        self._heard_since_connect, self._subscribed_at = False, None

    def subscribed(self, at: float) -> None:
        """The broker answered our subscription to the ack topic at `at`."""
        self._subscribed_at = at

    def heard(self, ack: Ack) -> None:
        self.hq.heard(ack)
        self._heard_since_connect = True

    # -- HQ's mark and conflicts -------------------------------------------------------------------
    def lookup(self) -> Lookup | None:
        """What the outbox must be asked before the window can move: HQ's new mark (is it our
        event?), then a conflict right above our mark (is the event HQ holds ours?)."""
        if self.hq.mark > self.acked:
            return Lookup(self.hq.mark, last_seq=self.hq.mark > self.max_seen)
        if self._open_conflict():
            return Lookup(self.hq.conflict[0], last_seq=False)
        return None

    def looked_up(self, now: float, at: OutboxAt) -> MarkAcked | Renumber | ResendOwn:
        """The answer to lookup()'s question, and what follows from it."""
        if self.hq.mark > self.acked:
            return self._take_mark(now, at)
        return self._settle(now, at)

    def outbox_reaches(self, seq: int) -> None:
        """Our outbox holds `seq` (read in a round, or its last seq after a renumbering)."""
        self.max_seen = max(self.max_seen, seq)

    def _open_conflict(self) -> bool:
        conflict = self.hq.conflict
        return bool(conflict) and conflict[0] == self.acked + 1 and \
            conflict != self._conflict_handled

    def _take_mark(self, now: float, at: OutboxAt) -> MarkAcked | Renumber:
        hq = self.hq
        if at.last_seq is not None:
            self.outbox_reaches(at.last_seq)
        ours = hq.mark <= self.max_seen and (hq.mark_id is None or at.event_id == hq.mark_id)
        if not ours:
            # HQ holds another database's seqs: follow them rather than reuse them (HQ would
            # dead-letter ours, and its mark would then claim them delivered).
            self._restart_from(now, hq.mark)
            return Renumber(max(hq.mark, hq.max_seq), hq.mark, hq.mark, hq.mark_id, hq.max_seq,
                            replaced=True)
        self.acked = hq.mark
        self._moved_at = now
        self.ack_timeout = self.ack_timeout_s
        self._stuck_rounds = 0
        return MarkAcked(self.acked, drained=self.acked >= self.max_seen)

    def _settle(self, now: float, at: OutboxAt) -> ResendOwn | Renumber:
        """HQ got two events under the seq right above our mark and holds `held_id` there.
        Ours: resending it settles the conflict. Not ours: someone published under our name
        first, and our pending events move past HQ's seqs (HQ settles it when ours arrives)."""
        seq, held_id = self.hq.conflict
        self._conflict_handled = self.hq.conflict
        if at.event_id == held_id:
            self.repair.insert(0, [seq, seq])
            return ResendOwn(seq)
        after = max(self.acked, self.hq.max_seq)
        self._restart_from(now, self.acked)
        return Renumber(after, self.acked, seq, held_id, self.hq.max_seq, replaced=False)

    def _restart_from(self, now: float, mark: int) -> None:
        """Our pending events are being renumbered: HQ holds everything up to `mark`."""
        self.acked = self.cursor = mark
        self.repair = []
        self._moved_at = now

    # -- the ack timeout ---------------------------------------------------------------------------
    def tick(self, now: float) -> Rewind | None:
        """Go back for what HQ lacks when its mark has not moved for the ack timeout while
        events are outstanding."""
        self.cursor = max(self.cursor, self.acked)
        rewind = None
        if self.cursor == self.acked and not self.repair:
            self._moved_at = now            # nothing outstanding: nothing to time out
        elif now - self._moved_at > self.ack_timeout:
            outstanding = self.cursor - self.acked
            rewind = Rewind(self.acked, now - self._moved_at, outstanding, self._go_back())
            self._conflict_handled = None   # a resend that settles one may have been lost
            self._moved_at = now
            self._pace()
        if self._backed_off_silent and self.hq.acks != self._acks_at_rewind:
            # HQ speaks again (restarted, or brand new and never sent what the broker dropped
            # before it subscribed): resend on the short timeout, not the backed-off one.
            self._backed_off_silent = False
            self.ack_timeout = self.ack_timeout_s
        return rewind

    def _go_back(self) -> bool:
        """With HQ's holes at our mark known: those holes, then on from the last seq HQ is
        known to hold (its highest, or the end of the last hole listed when it lists only the
        first ones); True. Else (an older HQ): everything after the mark; False."""
        if self.hq.gaps is None or self.hq.gaps[0] != self.acked:
            self.cursor, self.repair = self.acked, []
            return False
        _mark, holes, more = self.hq.gaps
        top = holes[-1][1] if more and holes else self.hq.max_seq
        self.cursor = max(self.acked, min(self.cursor, top))
        self.repair = [[lo, min(hi, self.cursor)] for lo, hi in holes if lo <= self.cursor]
        return True

    def _pace(self) -> None:
        """The next round's timeout, after a rewind."""
        gaps, heard = self.hq.gaps, self.hq.acks
        # Holes HQ filled since the last round are progress too, even if the first one (which
        # holds the mark) is still open.
        self._stuck_rounds = 0 if gaps is not None and gaps != self._gaps_at_rewind \
            else self._stuck_rounds + 1
        self._gaps_at_rewind = gaps
        silent = heard == self._acks_at_rewind
        if silent or self._stuck_rounds > STUCK_ROUNDS:
            # HQ said nothing since the last round (it is down), or resending keeps not
            # helping (a seq HQ refuses): back off, do not flood the broker.
            self.ack_timeout = min(self.ack_timeout * 2, MAX_ACK_TIMEOUT_S)
            self._backed_off_silent = silent
        else:
            # HQ is committing but has holes (a broker drop, a dead receiver's share).
            self.ack_timeout = self.ack_timeout_s
        self._acks_at_rewind = heard

    # -- sending -----------------------------------------------------------------------------------
    def next_send(self, now: float) -> Send | Resend | None:
        """What to publish now that there is room in flight; None until HQ's retained ack had
        its chance to arrive on this connection."""
        if not self._settled(now):
            return None
        while self.repair and self.repair[0][1] <= self.acked:
            self.repair.pop(0)              # filled meanwhile: HQ's mark passed it
        if self.repair:
            lo, hi = self.repair[0]
            return Resend(max(lo, self.acked + 1), hi)
        return Send(self.cursor, self.acked)

    def sent(self, through: int) -> None:
        """A normal round handed the events up to `through` to the broker."""
        self.cursor = through

    def resent(self, through: int) -> None:
        """The first hole is resent up to `through` (its end: none of it is pending any more)."""
        hole = self.repair[0]
        hole[0] = through + 1
        if hole[0] > hole[1]:
            self.repair.pop(0)

    def _settled(self, now: float) -> bool:
        return self._heard_since_connect or now - self._connected_at >= SUBACK_WAIT_S or (
            self._subscribed_at is not None and now - self._subscribed_at >= RETAINED_ACK_WAIT_S)
