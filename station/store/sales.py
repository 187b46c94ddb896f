"""The store's point-of-sale hours (Store inherits them; station/pos.py reads the files).

    store.import_pos(read_pos_csv(path, config.tz), source=path.name)
    store.pos_hours(since, until)          # [(hour, transactions, revenue), ...]
"""
from __future__ import annotations

import time

from station import events
from station.events import rfc3339
from station.store.records import new_id


class Sales:
    """Mixed into Store: needs its db, transaction() and _append_events()."""

    def import_pos(self, hours, source: str, at: float | None = None) -> dict:
        """Store each hour of a POS file, replacing what an earlier import held for it, with a
        `pos` event per hour that changed, all in one transaction. Returns the counts of hours
        new, replaced and unchanged."""
        at = at or time.time()
        counts = {"new": 0, "replaced": 0, "unchanged": 0}
        with self.transaction():
            for h in hours:
                old = self.db.execute("SELECT transactions, revenue FROM pos_hours WHERE hour = ?",
                                      (h.hour,)).fetchone()
                if old is not None and tuple(old) == (h.transactions, h.revenue):
                    counts["unchanged"] += 1
                    continue
                data = events.Pos(hour=rfc3339(h.hour), transactions=h.transactions,
                                  source=source, revenue=h.revenue).to_data()
                (seq,) = self._append_events("pos", [(new_id(), h.hour, data)])
                self.db.execute(
                    "INSERT INTO pos_hours (hour, transactions, revenue, source, imported_at, "
                    "outbox_seq) VALUES (?,?,?,?,?,?) ON CONFLICT (hour) DO UPDATE SET "
                    "transactions = excluded.transactions, revenue = excluded.revenue, "
                    "source = excluded.source, imported_at = excluded.imported_at, "
                    "outbox_seq = excluded.outbox_seq",
                    (h.hour, h.transactions, h.revenue, source, at, seq))
                counts["replaced" if old is not None else "new"] += 1
        return counts

    def pos_hours(self, since: float, until: float) -> list[tuple[float, int, float | None]]:
        return self.db.execute("SELECT hour, transactions, revenue FROM pos_hours "
                               "WHERE hour >= ? AND hour < ? ORDER BY hour",
                               (since, until)).fetchall()
