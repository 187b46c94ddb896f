"""Where the pipeline's events go: one interface, the station DB or a list in memory.

    collector = EventCollector()
    pipeline = Pipeline(detector, tracker, lines, zones, sink=collector)
    while (frame := camera.read()) is not None:
        pipeline.process(frame)
    pipeline.close(frame_ts)
    print(len(collector.crossings), len(collector.visits), len(collector.presence_spans))

``EventSink`` names the verbs the pipeline calls. Two things take them: ``EventRecorder``
(``vision/events.py``), which batches them into the station DB for ``cx-vision run``, and
``EventCollector`` here, which keeps them in lists for ``cx-vision analyze``, the benches and
tests. The pipeline never asks which one it has.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

from station.store import Crossing, Presence, Visit


@runtime_checkable
class EventSink(Protocol):
    def crossing(self, crossing: Crossing) -> None:
        """A person crossed a counting line."""

    def visit(self, visit: Visit) -> None:
        """A track ended: its visit with dwell per zone and demographics."""

    def presence(self, visit_id: str, zone: str, since: float, until: float) -> None:
        """A visit is in a zone since `since`, still seen at `until` (called every frame)."""

    def maybe_flush(self, now: float) -> bool:
        """Called every frame: write out what is buffered if it is time; True when written."""

    def flush(self, now: float) -> bool:
        """End of stream: write out everything buffered; True when written."""


class EventCollector:
    """The pipeline's events kept in memory, in the order they happened; nothing is written."""

    def __init__(self):
        self.crossings: list[Crossing] = []
        self.visits: list[Visit] = []
        self.presence_spans: dict[tuple[str, str], Presence] = {}    # (visit id, zone) -> span

    def crossing(self, crossing: Crossing) -> None:
        self.crossings.append(crossing)

    def visit(self, visit: Visit) -> None:
        self.visits.append(visit)

    def presence(self, visit_id: str, zone: str, since: float, until: float) -> None:
        first = self.presence_spans.get((visit_id, zone))
        since = since if first is None else min(since, first.since)
        self.presence_spans[(visit_id, zone)] = Presence(visit_id, zone, since, until)

    def maybe_flush(self, now: float) -> bool:
        return False

    def flush(self, now: float) -> bool:
        return False
