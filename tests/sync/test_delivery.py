"""The delivery window without a broker (sync/delivery.py): each transition, then properties of
random runs against a simulated station outbox, network and HQ."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.delivery import (MAX_ACK_TIMEOUT_S, MAX_SEQ, STUCK_ROUNDS, Ack, DeliveryWindow, Lookup,
                         MarkAcked, OutboxAt, Renumber, Resend, ResendOwn, Rewind, Send)

T = 1.0                                     # ack_timeout_s in these tests


def ack(mark, max_seq=None, mark_id="", gaps=None, more=False, conflict=None) -> Ack:
    """An ack as Ack.from_doc makes it; the id at the mark is ours ("e<mark>") unless given."""
    doc = {"acked_seq": mark, "max_seq": mark if max_seq is None else max_seq,
           "id": f"e{mark}" if mark_id == "" else mark_id, "hq": "hq"}
    if gaps is not None:
        doc["gaps"] = gaps
    if more:
        doc["gaps_more"] = True
    if conflict is not None:
        doc["conflict"] = conflict
    return Ack.from_doc(doc)


def connected(acked=0, last_seq=10, now=0.0) -> DeliveryWindow:
    """A window on a fresh connection that heard HQ (so it may send at once)."""
    window = DeliveryWindow(acked=acked, last_seq=last_seq, now=now, ack_timeout_s=T)
    window.connected(now)
    window.heard(ack(acked))
    return window


def answer(window, now=0.0, ids=None, last_seq=None):
    """lookup() answered from an outbox holding "e<seq>" at every seq (or `ids`)."""
    lookup = window.lookup()
    assert lookup is not None
    event_id = (ids or {}).get(lookup.seq, f"e{lookup.seq}")
    return window.looked_up(now, OutboxAt(lookup.seq, event_id,
                                          last_seq if lookup.last_seq else None))


# -- Ack ----------------------------------------------------------------------------------------
def test_an_ack_holds_what_hq_sends_and_an_older_hq_sends_the_mark_alone():
    full = Ack.from_doc({"acked_seq": 3, "max_seq": 9, "id": "e3", "gaps": [[4, 5], [7, 8]],
                         "gaps_more": True, "conflict": [4, "x"], "hq": "hq", "at": 1.5})
    assert full == Ack(3, "e3", 9, ((4, 5), (7, 8)), True, (4, "x"))
    assert Ack.from_doc({"acked_seq": 3}) == Ack(3, None, 3, None, False, None)
    assert Ack.from_doc({"acked_seq": 3, "gaps_more": 1}).gaps_more is False   # only true
    assert Ack.from_doc({"acked_seq": MAX_SEQ}).mark == MAX_SEQ


@pytest.mark.parametrize("doc", [
    [1, 2], "hq", None, {}, {"id": "e1"},
    {"acked_seq": -1}, {"acked_seq": True}, {"acked_seq": 1.0}, {"acked_seq": "3"},
    {"acked_seq": 10 ** 4000}, {"acked_seq": MAX_SEQ + 1},
    {"acked_seq": 2, "max_seq": 1}, {"acked_seq": 2, "max_seq": 2 ** 63},
    {"acked_seq": 2, "id": 5}, {"acked_seq": 2, "id": ["e2"]},
    {"acked_seq": 2, "max_seq": 10, "gaps": [[2, 3]]},          # not above the mark
    {"acked_seq": 2, "max_seq": 10, "gaps": [[5, 4]]},
    {"acked_seq": 2, "max_seq": 10, "gaps": [[4, 12]]},         # not below the highest seq
    {"acked_seq": 2, "max_seq": 10, "gaps": [[4, 10]]},
    {"acked_seq": 2, "max_seq": 10, "gaps": [[6, 7], [5, 5]]},  # not ascending
    {"acked_seq": 2, "max_seq": 10, "gaps": [[4, 5], [5, 6]]},  # overlapping
    {"acked_seq": 2, "max_seq": 10, "gaps": "4-5"},
    {"acked_seq": 2, "max_seq": 10, "gaps": [[4, True]]},
    {"acked_seq": 2, "max_seq": 10, "gaps": [[4]]},
    {"acked_seq": 2, "max_seq": 10, "gaps": [[[[1]]]]},
    {"acked_seq": 2, "conflict": [4, "x"]},                     # not right above the mark
    {"acked_seq": 2, "conflict": [3, 7]},
    {"acked_seq": 2, "conflict": [3]},
    {"acked_seq": 2, "conflict": "3"},
])
def test_a_malformed_ack_is_refused_whole(doc):
    with pytest.raises(ValueError):
        Ack.from_doc(doc)


# -- a new connection ------------------------------------------------------------------------
def test_nothing_goes_out_until_hqs_retained_ack_had_its_chance_to_arrive():
    window = DeliveryWindow(acked=0, last_seq=10, now=0.0, ack_timeout_s=T)
    window.connected(0.0)
    assert window.next_send(0.2) is None
    window.subscribed(at=0.2)
    assert window.next_send(0.69) is None
    assert window.next_send(0.71) == Send(after=0, mark=0)     # 0.5 s behind the SUBACK
    window.connected(1.0)
    assert window.next_send(1.1) is None
    window.heard(ack(0))                                        # the retained ack itself
    assert window.next_send(1.1) == Send(after=0, mark=0)
    window.connected(2.0)                                       # no SUBACK, no ack: 5 s
    assert window.next_send(6.9) is None and window.next_send(7.1) == Send(after=0, mark=0)


def test_a_reconnect_goes_back_to_hqs_mark_and_forgets_the_holes():
    window = connected()
    window.heard(ack(2, max_seq=10, gaps=[[3, 3]]))
    assert answer(window) == MarkAcked(2, drained=False)
    window.sent(10)
    assert isinstance(window.tick(1.5), Rewind) and window.next_send(1.5) == Resend(3, 3)
    window.connected(2.0)
    window.heard(ack(2, max_seq=10, gaps=[[3, 3]]))
    assert window.tick(2.0) is None and window.next_send(2.0) == Send(after=2, mark=2)


# -- HQ's mark ----------------------------------------------------------------------------------
def test_an_advancing_mark_is_checked_against_the_outbox_and_marked_acked_once():
    window = connected(last_seq=10)
    window.heard(ack(3, max_seq=5))
    assert window.lookup() == Lookup(3, last_seq=False)
    assert window.looked_up(0.0, OutboxAt(3, "e3")) == MarkAcked(3, drained=False)
    assert window.lookup() is None and window.acked == 3
    window.heard(ack(10))
    assert answer(window) == MarkAcked(10, drained=True)       # the whole outbox is at HQ


def test_stale_and_duplicate_acks_move_nothing():
    window = connected()
    window.heard(ack(5, max_seq=8, gaps=[[6, 7]]))
    answer(window)
    for old in (ack(3, max_seq=4), ack(5, max_seq=8, gaps=[[6, 7]]), ack(0)):
        window.heard(old)
        assert window.lookup() is None
    assert (window.acked, window.hq.mark, window.hq.max_seq) == (5, 5, 8)
    assert window.hq.gaps == (5, ((6, 7),), False) and window.hq.acks == 5


def test_a_mark_beyond_the_last_seq_known_asks_for_the_outboxs_last_seq():
    window = connected(last_seq=10)
    window.heard(ack(12))
    assert window.lookup() == Lookup(12, last_seq=True)
    assert window.looked_up(0.0, OutboxAt(12, "e12", last_seq=14)) == MarkAcked(12, False)
    assert window.max_seen == 14


@pytest.mark.parametrize("mark, mark_id, last_seq, hq_max", [
    (50, "old-50", 10, 50),          # a fresh database: HQ's mark is past our last seq
    (5, "old-5", 10, 7),             # we hold seq 5, but another event
    (5, "old-5", 3, 5),              # the last seq read again is still below the mark
])
def test_a_mark_that_is_not_our_event_renumbers_our_pending_events_after_hqs_seqs(
        mark, mark_id, last_seq, hq_max):
    window = connected(last_seq=last_seq)
    window.sent(last_seq)
    window.heard(ack(mark, max_seq=hq_max, mark_id=mark_id))
    action = answer(window, last_seq=last_seq)
    assert action == Renumber(after=hq_max, mark=mark, seq=mark, held_id=mark_id, hq_max=hq_max,
                              replaced=True)
    window.outbox_reaches(hq_max + last_seq)
    assert window.lookup() is None and window.acked == mark
    assert window.tick(0.0) is None and window.next_send(0.0) == Send(after=mark, mark=mark)


def test_an_older_hq_naming_no_event_is_trusted_for_seqs_we_hold():
    window = connected(last_seq=10)
    window.heard(ack(4, mark_id=None))
    assert answer(window, ids={4: "whatever"}) == MarkAcked(4, drained=False)


# -- the ack timeout --------------------------------------------------------------------------
def test_after_the_ack_timeout_a_window_without_hqs_holes_goes_back_to_the_mark():
    window = connected()
    window.heard(ack(2, max_seq=10))              # an older HQ: no gaps
    answer(window)
    window.sent(10)
    assert window.tick(T) is None                 # not yet: more than the timeout
    assert window.tick(T + 0.01) == Rewind(mark=2, idle_s=T + 0.01, outstanding=8,
                                           selective=False)
    assert window.next_send(T + 0.01) == Send(after=2, mark=2)


def test_after_the_ack_timeout_only_the_holes_hq_lists_go_again_then_the_rest():
    window = connected()
    window.heard(ack(2, max_seq=10, gaps=[[3, 3], [7, 8]]))
    answer(window)
    window.sent(12)                               # 11, 12: HQ may not have seen them
    assert window.tick(1.5).selective
    assert window.next_send(1.5) == Resend(3, 3)
    window.resent(3)
    assert window.next_send(1.5) == Resend(7, 8)
    window.resent(7)                              # part of it (the window was full)
    assert window.next_send(1.5) == Resend(8, 8)
    window.resent(8)
    assert window.next_send(1.5) == Send(after=10, mark=2)


def test_when_hq_lists_only_its_first_holes_everything_after_the_last_one_goes_again():
    window = connected()
    window.heard(ack(2, max_seq=10, gaps=[[3, 3], [5, 5]], more=True))
    answer(window)
    window.sent(10)
    window.tick(1.5)
    assert window.next_send(1.5) == Resend(3, 3)
    window.resent(3)
    assert window.next_send(1.5) == Resend(5, 5)
    window.resent(5)
    assert window.next_send(1.5) == Send(after=5, mark=2)


def test_a_hole_filled_meanwhile_is_not_resent():
    window = connected()
    window.heard(ack(2, max_seq=10, gaps=[[3, 3], [7, 8]]))
    answer(window)
    window.sent(10)
    window.tick(1.5)
    window.heard(ack(7, max_seq=10, gaps=[[8, 8]]))        # HQ got 3..7 meanwhile
    answer(window)
    assert window.next_send(1.5) == Resend(8, 8)
    window.resent(8)                                      # none of it pending: the hole goes
    assert window.next_send(1.5) == Send(after=10, mark=7)


def rewinds(window, start, count, hq_speaks=None):
    """The timeouts of `count` rounds, ticking the clock just past each; hq_speaks(window)
    runs between rounds."""
    seen, now = [], start
    for _ in range(count):
        seen.append(window.ack_timeout)
        assert window.tick(now + window.ack_timeout - 0.25) is None
        now += window.ack_timeout + 0.25
        assert isinstance(window.tick(now), Rewind)
        window.sent(10)
        if hq_speaks:
            hq_speaks(window)
    return seen, now


def test_the_timeout_doubles_while_hq_is_silent_and_is_short_again_when_it_speaks():
    window = connected()
    window.sent(10)
    seen, now = rewinds(window, 0.0, 5)         # HQ's retained ack came before the first
    assert seen == [1, 1, 2, 4, 8] and window.ack_timeout == 16
    window.heard(ack(0))                                  # HQ is back, the mark has not moved
    window.tick(now)
    assert window.ack_timeout == T


def test_the_timeout_stops_at_its_ceiling():
    window = connected()
    window.sent(10)
    rewinds(window, 0.0, 13)
    assert window.ack_timeout == MAX_ACK_TIMEOUT_S


def test_the_timeout_stays_short_while_hq_speaks_and_fills_holes_but_backs_off_when_stuck():
    window = connected()
    window.heard(ack(0, max_seq=10, mark_id=None, gaps=[[1, 9]]))
    window.sent(10)
    holes = iter(range(2, 100))

    def fills_a_hole(w):
        w.heard(ack(0, max_seq=10, mark_id=None, gaps=[[1, 1], [next(holes) % 8 + 2, 9]]))

    seen, now = rewinds(window, 0.0, 12, fills_a_hole)
    assert set(seen) == {T}
    # HQ speaks but its holes stay as they are (it refuses a seq): back off after a while
    # (the first of these rounds still counts the hole filled before it).
    seen, _ = rewinds(window, now, STUCK_ROUNDS + 3, lambda w: w.heard(ack(0, max_seq=10,
                                                                         mark_id=None)))
    assert seen[:-1] == [T] * (STUCK_ROUNDS + 2) and seen[-1] == 2 * T


def test_progress_resets_the_timeout():
    window = connected()
    window.sent(10)
    _seen, now = rewinds(window, 0.0, 4)
    assert window.ack_timeout == 8
    window.heard(ack(4))
    answer(window, now)
    assert window.ack_timeout == T


def test_nothing_outstanding_never_times_out():
    window = connected()
    assert window.tick(1000.0) is None
    window.sent(3)
    assert window.tick(1000.5) is None and window.tick(1001.6) is not None


# -- conflicts ---------------------------------------------------------------------------------
def test_a_conflict_on_our_own_event_resends_it_first_once_per_round():
    window = connected()
    window.heard(ack(3, max_seq=6, gaps=[], conflict=[4, "e4"]))
    assert answer(window) == MarkAcked(3, drained=False)
    assert window.lookup() == Lookup(4, last_seq=False)
    assert window.looked_up(0.0, OutboxAt(4, "e4")) == ResendOwn(4)
    assert window.lookup() is None                        # handled: not again this round
    window.sent(6)
    assert window.next_send(0.0) == Resend(4, 4)
    window.resent(4)
    assert window.next_send(0.0) == Send(after=6, mark=3)
    assert window.tick(1.5).selective and window.lookup() == Lookup(4, last_seq=False)


def test_a_conflict_on_another_event_renumbers_our_pending_events_past_hqs_seqs():
    window = connected()
    window.heard(ack(3, max_seq=9, gaps=[[7, 7]], conflict=[4, "forged-4"]))
    answer(window)
    window.sent(8)
    action = answer(window)
    assert action == Renumber(after=9, mark=3, seq=4, held_id="forged-4", hq_max=9,
                              replaced=False)
    assert window.lookup() is None and window.acked == 3
    assert window.next_send(0.0) == Send(after=3, mark=3)   # our events now start at 10


# -- properties of random runs -----------------------------------------------------------------
GAPS_LISTED = 2                   # HQ lists 256; 2 here, so that gaps_more comes up


class Outbox:
    """The station's outbox as Store keeps it: rows by seq, pending or acked, renumbered or
    not, and the last seq ever handed out (SQLite's sqlite_sequence)."""

    def __init__(self, ids: list[str], acked: int):
        self.rows = {seq: [event_id, seq <= acked, False] for seq, event_id in
                     enumerate(ids, 1)}
        self.last_seq = len(ids)
        self.made = len(ids)

    def append(self, n: int) -> None:
        for _ in range(n):
            self.made += 1
            self.last_seq += 1
            self.rows[self.last_seq] = [f"new-{self.made}", False, False]

    def pending(self, after: int, limit: int) -> list[int]:
        return sorted(s for s, row in self.rows.items() if not row[1] and s > after)[:limit]

    def mark_acked(self, up_to: int) -> None:
        for seq, row in self.rows.items():
            row[1] = row[1] or seq <= up_to

    def id_at(self, seq: int) -> str | None:
        return self.rows[seq][0] if seq in self.rows else None

    def renumber_pending(self, after: int) -> None:
        pending = sorted(s for s, row in self.rows.items() if not row[1])
        if not pending:
            self.last_seq = max(self.last_seq, after)
        elif after + 1 > pending[0]:
            shift = after + 1 - pending[0]
            self.rows.update({s + shift: [self.rows.pop(s)[0], False, True] for s in pending})
            self.last_seq = max(self.rows)

    def acked_rows(self):
        return [(s, row[0]) for s, row in self.rows.items() if row[1]]


class Hq:
    """HQ as sync/hq/db.py keeps one station: events by seq, aliases of renumbered events it
    already held, the mark, gaps and the ack it publishes."""

    def __init__(self, ids: list[str]):
        self.held = {seq: event_id for seq, event_id in enumerate(ids, 1)}
        self.aliases: dict[int, str] = {}
        self.conflicts: dict[int, str] = {}       # seq -> refused id, above the mark

    def receive(self, seq: int, event_id: str, renumbered: bool) -> None:
        there = self.held.get(seq) or self.aliases.get(seq)
        if there == event_id:
            self.conflicts.pop(seq, None)
        elif there is not None:
            if seq > self.mark():
                self.conflicts.setdefault(seq, event_id)
        elif renumbered and event_id in self.held.values():
            self.aliases[seq] = event_id
        else:
            self.held[seq] = event_id
        if renumbered:
            self.conflicts = {s: i for s, i in self.conflicts.items() if i != event_id}

    def has(self, seq: int) -> str | None:
        return self.held.get(seq) or self.aliases.get(seq)

    def max_seq(self) -> int:
        return max([*self.held, *self.aliases], default=0)

    def gaps(self) -> list[list[int]]:
        out, top = [], self.max_seq()
        for seq in range(1, top + 1):
            if self.has(seq) is None:
                if out and out[-1][1] == seq - 1:
                    out[-1][1] = seq
                else:
                    out.append([seq, seq])
        return out

    def mark(self) -> int:
        holes = [g[0] for g in self.gaps()[:1]] + sorted(self.conflicts)[:1]
        return min(holes) - 1 if holes else self.max_seq()

    def ack(self) -> Ack:
        mark, gaps = self.mark(), self.gaps()
        doc = {"acked_seq": mark, "max_seq": self.max_seq(), "id": self.has(mark),
               "gaps": gaps[:GAPS_LISTED], "hq": "hq"}
        if len(gaps) > GAPS_LISTED:
            doc["gaps_more"] = True
        if self.conflicts and min(self.conflicts) == mark + 1:
            doc["conflict"] = [mark + 1, self.has(mark + 1)]
        return Ack.from_doc(doc)


class Run:
    """A station (window + outbox, driven as Sender drives it), the broker in between (messages
    that may be dropped, doubled or reordered) and HQ; checks the safety properties as it goes."""

    def __init__(self, hq_ids: list[str], station_ids: list[str], acked: int, new: int):
        self.scenario = f"Run(hq_ids={hq_ids}, station_ids={station_ids}, acked={acked}, new={new})"
        self.now = 0.0
        self.hq = Hq(hq_ids)
        self.outbox = Outbox(station_ids, acked)
        self.outbox.append(new)
        self.to_hq: list[tuple[int, str, bool]] = []
        self.acks: list[Ack] = []                 # on their way to the station
        self.published: list[Ack] = [self.hq.ack()] if hq_ids else []
        self.offered: list[str] = []              # event ids, each time one is published
        self.start()

    def __repr__(self) -> str:
        return self.scenario

    def store_mark(self) -> int:
        """The mark a restarted cx-sync starts from (Store.outbox_status's last_acked_seq)."""
        return max((s for s, _ in self.outbox.acked_rows()), default=0)

    def start(self) -> None:
        """cx-sync (re)starts: a new window on the outbox as it is, then it connects."""
        acked = self.store_mark()
        self.window = DeliveryWindow(acked, self.outbox.last_seq, self.now, ack_timeout_s=T)
        self.reported = acked                     # the mark the window let us act on
        self.reconnect()

    def reconnect(self) -> None:
        self.window.connected(self.now)
        if self.published:                        # the broker's retained ack, behind the SUBACK
            self.window.heard(self.published[-1])
        self.window.subscribed(self.now)

    def step(self, free: int) -> bool:
        """Sender.step: the window's lookups, its timeout, then one round; True if it sent."""
        window = self.window
        while (lookup := window.lookup()) is not None:
            last = self.outbox.last_seq if lookup.last_seq else None
            self.carry_out(window.looked_up(self.now, OutboxAt(
                lookup.seq, self.outbox.id_at(lookup.seq), last)))
        window.tick(self.now)
        job = window.next_send(self.now)
        if job is None:
            return False
        if isinstance(job, Resend):
            assert job.lo > self.reported, "a resend below the mark"
            seqs = [s for s in self.outbox.pending(job.lo - 1, min(free, job.hi - job.lo + 1))
                    if s <= job.hi]
            self.publish(seqs)
            window.resent(seqs[-1] if seqs else job.hi)
            return True
        assert job.after >= self.reported and job.mark == self.reported
        seqs = self.outbox.pending(job.after, free)
        if not seqs:
            return False
        window.outbox_reaches(seqs[-1])
        self.publish(seqs)
        window.sent(seqs[-1])
        return True

    def carry_out(self, action) -> None:
        if isinstance(action, MarkAcked):
            assert action.seq <= self.hq.mark(), "the window passed what HQ holds"
            self.outbox.mark_acked(action.seq)
            self.reported = action.seq
        elif isinstance(action, Renumber):
            self.outbox.renumber_pending(action.after)
            self.window.outbox_reaches(self.outbox.last_seq)
            self.reported = action.mark
        else:
            assert isinstance(action, ResendOwn)
        for seq, event_id in self.outbox.acked_rows():
            assert self.hq.has(seq) == event_id, f"seq {seq} acked, HQ does not hold it"

    def publish(self, seqs: list[int]) -> None:
        for seq in seqs:
            event_id, acked, renumbered = self.outbox.rows[seq]
            assert not acked
            self.offered.append(event_id)
            self.to_hq.append((seq, event_id, renumbered))

    def deliver(self, i: int) -> None:
        self.hq.receive(*self.to_hq.pop(i % len(self.to_hq)))
        self.published.append(self.hq.ack())
        self.acks.append(self.published[-1])

    def pending_hq_lacks(self) -> set[str]:
        return {row[0] for s, row in self.outbox.rows.items()
                if not row[1] and self.hq.has(s) != row[0]}

    def drain(self, free: int = 3) -> None:
        """Steps until a round sends nothing more."""
        for _ in range(1000):
            if not self.step(free):
                return
        raise AssertionError("the window never stops sending")


TICKS = [0.3, 0.6, 1.1, 2.5, 40.0]


def apply(run: Run, op) -> None:
    kind, value = op
    if kind == "add":
        run.outbox.append(1 + value % 8)
    elif kind == "step":
        run.step(free=1 + value % 4)
    elif kind == "tick":
        run.now += TICKS[value % len(TICKS)]
    elif kind == "restart" and run.window.acked == run.store_mark():
        # Not while the window holds a mark the store does not: see the xfail at the end.
        run.start()
    elif kind == "reconnect":
        run.reconnect()
    elif kind == "stale" and run.published:
        run.window.heard(run.published[value % len(run.published)])
    elif kind in ("deliver", "drop", "double") and run.to_hq:
        if kind == "deliver":
            run.deliver(value)
        elif kind == "drop":
            run.to_hq.pop(value % len(run.to_hq))
        else:
            run.to_hq.append(run.to_hq[value % len(run.to_hq)])
    elif kind in ("ack", "lose ack") and run.acks:
        got = run.acks.pop(value % len(run.acks))
        if kind == "ack":
            run.window.heard(got)


def fair(run: Run, rounds: int = 40) -> None:
    """From now on the network loses nothing and keeps the order; the clock runs past each
    ack timeout until nothing is pending (or `rounds` are over)."""
    run.reconnect()
    for _round in range(rounds):
        run.drain()
        while run.to_hq:
            run.deliver(0)
        for got in run.acks:
            run.window.heard(got)
        run.acks.clear()
        run.drain()
        if not run.outbox.pending(0, 1):
            return
        run.now += MAX_ACK_TIMEOUT_S + 1


# Weighted: a run needs many steps, deliveries and ticks between the rarer faults.
KINDS = ["step"] * 6 + ["deliver"] * 5 + ["tick"] * 4 + ["ack"] * 3 + [
    "add", "drop", "double", "lose ack", "stale", "reconnect", "restart"]
OPS = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 1000)), min_size=10,
               max_size=150)


@st.composite
def runs(draw):
    """A station outbox and what HQ already holds for this station id: nothing, a replaced
    database's events (other ids), or events a restored backup holds only in part."""
    held = draw(st.integers(0, 6))
    kind = draw(st.sampled_from(["fresh", "replaced", "backup"]))
    if kind == "fresh" or not held:
        hq_ids, station_ids = [], []
    elif kind == "replaced":
        hq_ids, station_ids = [f"old-{i}" for i in range(held)], []
    else:
        hq_ids = [f"e-{i}" for i in range(held)]
        station_ids = hq_ids[:draw(st.integers(0, held))]
    acked = draw(st.integers(0, len(station_ids)))
    return Run(hq_ids, station_ids, acked, new=draw(st.integers(0, 20)))


PROPERTIES = settings(max_examples=300, deadline=None, derandomize=True, database=None)


@PROPERTIES
@given(run=runs(), ops=OPS)
def test_random_runs_never_pass_hq_and_a_fair_hq_gets_everything(run, ops):
    """Safety all along (checked in Run): nothing offered at or below the mark, no mark past
    what HQ holds, no event marked delivered that HQ does not hold under its seq. Then a fair
    network: everything is acknowledged."""
    for op in ops:
        apply(run, op)
    fair(run)
    assert not run.outbox.pending(0, 1), "a fair HQ did not get everything"
    assert run.hq.mark() >= max(run.outbox.rows, default=0)


@PROPERTIES
@given(run=runs(), ops=OPS)
def test_an_event_hq_lacks_is_offered_again_every_round_and_one_it_confirmed_never(run, ops):
    """After HQ's latest word, HQ goes silent (everything is dropped): each pending event it
    lacks goes out again in every resend round, however long the timeout grows; nothing HQ
    confirmed goes out again."""
    for op in ops:
        apply(run, op)
    run.reconnect()                                   # hears HQ's latest (retained) ack
    run.drain()
    run.to_hq.clear()
    lacking = run.pending_hq_lacks()
    confirmed = {event_id for _, event_id in run.outbox.acked_rows()}
    for _round in range(3):
        run.offered.clear()
        run.now += MAX_ACK_TIMEOUT_S + 1
        run.drain()
        run.to_hq.clear()
        assert lacking <= set(run.offered)
        assert not confirmed & set(run.offered)


# -- known limits, found by the runs above -----------------------------------------------------
@pytest.mark.xfail(strict=True, raises=AssertionError, reason="the store forgets HQ's mark of a "
                   "replaced database across a restart: the new window renumbers again, past "
                   "the holes it left")
def test_a_restart_during_a_replaced_databases_catch_up_strands_nothing():
    run = Run(hq_ids=["old-1"], station_ids=[], acked=0, new=2)
    run.step(free=2)                   # renumbered to follow HQ's seq 1: sends seqs 2 and 3
    run.to_hq.pop(0)                   # seq 2 is lost (a broker drop, paho's copies at a crash)
    run.deliver(0)                     # seq 3 reaches HQ, whose mark stays at 1
    run.start()                        # cx-sync restarts: HQ's mark 1 is no row of ours now
    fair(run)
    assert not run.outbox.pending(0, 1)


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="an event forged under our name "
                   "at a seq whose own message was lost passes as ours: HQ has no conflict to name")
def test_a_forged_event_never_makes_the_station_drop_its_own():
    run = Run(hq_ids=[], station_ids=[], acked=0, new=3)
    run.hq.receive(2, "forged-2", False)            # first, at a seq the station has not reached
    run.now += 1
    run.step(free=3)
    run.to_hq.pop(1)                                # our seq 2 is lost
    fair(run)                                       # HQ's mark 3 names our event 3: all acked
