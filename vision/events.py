"""Vision events into the station DB, batched: about one transaction per second.

    recorder = EventRecorder(store, camera="door")     # health row "vision:door"
    recorder.crossing(Crossing(ts, "entrance", "in", visit_id))
    recorder.presence(visit_id, "kiosk", since, ts)
    recorder.visit(Visit(...))
    recorder.maybe_flush(now)          # every frame; writes at most once per flush_every_s
    recorder.flush(now)                # at shutdown

Writes go only through the station store's API. A failed write (database locked past its busy
timeout, disk full) is logged and the batch is kept and retried on the next flush, so a
hiccup loses nothing; the buffers are bounded so a database that never comes back cannot eat
the memory (the oldest crossings go first; visits and presence are kept).
"""
from __future__ import annotations

import dataclasses
import logging
import time

from station.store import Crossing, Presence, Visit

log = logging.getLogger(__name__)


class EventRecorder:
    def __init__(self, store, flush_every_s: float = 1.0, rollup_lag_s: float = 5.0,
                 max_pending: int = 200_000, camera: str = "main"):
        self.store = store
        self.camera = camera               # stamped on every crossing and visit
        self.flush_every_s = flush_every_s
        self.rollup_lag_s = rollup_lag_s
        self.max_pending = max_pending
        self._crossings: list[Crossing] = []
        self._visits: list[Visit] = []
        self._presence: dict[tuple[str, str], Presence] = {}
        self._health: dict | None = None
        self._last_flush = time.monotonic()
        self.written = {"crossings": 0, "visits": 0, "presence": 0, "transactions": 0}
        self.failures = 0
        self.last_error: str | None = None

    def crossing(self, crossing: Crossing) -> None:
        self._crossings.append(dataclasses.replace(crossing, camera=self.camera))

    def visit(self, visit: Visit) -> None:
        self._visits.append(dataclasses.replace(visit, camera=self.camera))

    def presence(self, visit_id: str, zone: str, since: float, until: float) -> None:
        key = (visit_id, zone)
        old = self._presence.get(key)
        if old is not None:
            since = min(since, old.since)
        self._presence[key] = Presence(visit_id=visit_id, zone=zone, since=since, until=until)

    def health(self, data: dict) -> None:
        """Latest health snapshot; written with the next flush."""
        self._health = data

    @property
    def pending(self) -> int:
        return len(self._crossings) + len(self._visits) + len(self._presence)

    def maybe_flush(self, now: float) -> bool:
        if time.monotonic() - self._last_flush < self.flush_every_s:
            return False
        return self.flush(now)

    def flush(self, now: float) -> bool:
        """Write everything buffered in one transaction; True when it was committed."""
        self._last_flush = time.monotonic()
        crossings, visits = self._crossings, self._visits
        presence = list(self._presence.values())
        try:
            with self.store.transaction():
                self.store.append_crossings(crossings)
                self.store.append_visits(visits)
                self.store.update_presence(presence)
                self.store.roll_up_traffic(now - self.rollup_lag_s)
                self.store.roll_up_occupancy(now - self.rollup_lag_s)
                if self._health is not None:
                    self.store.put_health(health_component(self.camera), self._health,
                                          ts=now)
        except Exception as exc:          # keep the batch; the next flush retries it
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("could not write %d vision events to the station DB (%s); will retry",
                        self.pending, exc)
            self._trim()
            return False
        self.written["crossings"] += len(crossings)
        self.written["visits"] += len(visits)
        self.written["presence"] += len(presence)
        self.written["transactions"] += 1
        self._crossings, self._visits, self._presence = [], [], {}
        self._health = None
        return True

    def _trim(self) -> None:
        over = self.pending - self.max_pending
        if over <= 0:
            return
        drop = min(over, len(self._crossings))
        if drop:
            log.error("dropping %d oldest buffered crossings: the station DB is not writable",
                      drop)
            del self._crossings[:drop]


def health_component(camera: str) -> str:
    """The health row of one camera's cx-vision (Store.camera_health reads them back)."""
    return f"vision:{camera}"
