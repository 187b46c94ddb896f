"""The store's hand counts (Store inherits them; station/handcount.py does the maths).

    check_id = store.add_hand_count(start, end, count=212, who="manager")
    store.hand_counts()                     # [{"id", "start", "end", "count", ...}, ...]
    store.remove_hand_count(check_id)       # entered by mistake: kept, no longer counted
    store.set_count_correction(True)        # entries, participation, conversion corrected

Each change is written with a `handcount` event in one transaction; the event carries the
factor over all checks after the change and the switch, so HQ labels corrected figures too.
"""
from __future__ import annotations

import time

from station import events, handcount
from station.events import rfc3339
from station.store.records import StoreError, new_id


class HandCounts:
    """Mixed into Store: needs its db, transaction(), _append_events(), entries(), setting()."""

    def add_hand_count(self, start: float, end: float, count: int, who: str | None = None,
                       at: float | None = None) -> str:
        """Store a hand count of entries from `start` to `end` (epoch seconds, in the past)."""
        at = time.time() if at is None else at
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"a hand count is a whole number >= 0, got {count!r}")
        if not end > start:
            raise ValueError("the period's end must be after its start")
        if end > at + 60:
            raise ValueError("the period has not ended yet: count a period that is over")
        check_id = new_id()
        with self.transaction():
            camera = self.entries(start, end)["entries"]
            self.db.execute(
                "INSERT INTO hand_counts (id, start, end, count, camera_count, entered_at, who, "
                "outbox_seq) VALUES (?,?,?,?,?,?,?,0)", (check_id, start, end, count, camera, at,
                                                         who))
            seq = self._hand_count_event("added", at, check_id, who)
            self.db.execute("UPDATE hand_counts SET outbox_seq = ? WHERE id = ?",
                            (seq, check_id))
        return check_id

    def remove_hand_count(self, check_id: str, who: str | None = None,
                          at: float | None = None) -> None:
        at = time.time() if at is None else at
        with self.transaction():
            changed = self.db.execute("UPDATE hand_counts SET removed_at = ? WHERE id = ? AND "
                                      "removed_at IS NULL", (at, check_id)).rowcount
            if not changed:
                raise StoreError(f"no hand count with id {check_id}")
            self._hand_count_event("removed", at, check_id, who)

    def hand_counts(self) -> list[dict]:
        """The hand counts in force, oldest period first."""
        cols = ("id", "start", "end", "count", "camera_count", "entered_at", "who")
        return [dict(zip(cols, row)) for row in self.db.execute(
            f"SELECT {', '.join(cols)} FROM hand_counts WHERE removed_at IS NULL "
            f"ORDER BY start, entered_at")]

    def set_count_correction(self, on: bool, who: str | None = None,
                             at: float | None = None) -> None:
        """The manager's switch: correct entries (and so participation and conversion)."""
        at = time.time() if at is None else at
        with self.transaction():
            self.set_setting(handcount.SETTING, bool(on))
            self._hand_count_event("correction", at, None, who)

    def _hand_count_event(self, action: str, at: float, check_id: str | None,
                          who: str | None) -> int:
        cal = handcount.calibration(self)
        row = self.db.execute("SELECT start, end, count, camera_count FROM hand_counts "
                              "WHERE id = ?", (check_id,)).fetchone() if check_id else None
        data = events.HandCount(
            action=action, correction=cal.applied, checks=len(cal.checks),
            factor=None if cal.factor is None else round(cal.factor, 6), check_id=check_id,
            start=rfc3339(row[0]) if row else None, end=rfc3339(row[1]) if row else None,
            count=row[2] if row else None, camera_count=row[3] if row else None,
            who=who).to_data()
        (seq,) = self._append_events("handcount", [(new_id(), at, data)])
        return seq
