"""The vision pipeline: detect -> track -> lines -> zones -> faces -> events, one frame at a time.

    pipeline = Pipeline(detector, Tracker(frame_rate=10),
                        lines=[LineCounter("entrance", (240, 100), (240, 300))],
                        zones=[Zone("kiosk", [(160, 130), (320, 130), (320, 210), (160, 210)])],
                        sink=EventRecorder(store))      # or EventCollector(): lists in memory
    while (frame := camera.read()) is not None:
        people = pipeline.process(frame)        # tracked Detections of this frame
    pipeline.close(frame_ts)                    # ends open visits, flushes the events
    print(pipeline.stage_ms(), pipeline.lines[0].in_count)

The person detector runs every ``detect_every``-th frame; in between, the tracker's motion
model carries the tracks forward so lines and zones still see people move. The tracker then
steps once per detector run: build it with ``Tracker(frame_rate=fps / detect_every)``. Faces
run on the frames the detector ran on. Each track becomes a *visit*: an id assigned when the track is
confirmed, the time it entered and left, its dwell per zone and the face analyzer's age bracket
and gender with their confidence -- never an image or an embedding. Frames live only in memory.
Crossings, visits and zone presence go to the ``sink`` (``vision/sink.py``); without one they
are collected in memory (``pipeline.sink.visits``).
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from station.store import Crossing, Visit
from vision.detections import Detections
from vision.lines import LineCounter
from vision.sink import EventCollector, EventSink
from vision.tracker import TRACK_AGE, Tracker
from vision.zones import Zone

STAGES = ("detect", "track", "lines", "zones", "faces", "events")


@dataclass
class _OpenVisit:
    id: str
    entered_at: float
    last_seen: float


class Pipeline:
    def __init__(self, detector, tracker: Tracker, lines: list[LineCounter] = (),
                 zones: list[Zone] = (), faces=None, sink: EventSink | None = None,
                 detect_every: int = 1):
        if detect_every < 1:
            raise ValueError(f"detect_every must be >= 1, got {detect_every}")
        self.detector = detector
        self.tracker = tracker
        self.lines = list(lines)
        self.zones = list(zones)
        self.faces = faces
        self.sink = EventCollector() if sink is None else sink
        self.detect_every = detect_every
        self.frames = 0
        self.tracks_seen = 0
        self._open: dict[int, _OpenVisit] = {}
        self._seconds = dict.fromkeys(STAGES, 0.0)

    # -- per frame --------------------------------------------------------------------------
    def process(self, frame) -> Detections:
        """Run every stage on one camera Frame; returns the tracked people in it."""
        ts, image = frame.ts, frame.image
        clock = time.perf_counter
        t0 = clock()
        detect_now = self.frames % self.detect_every == 0
        if detect_now:
            found = self.detector.detect(image)
            found = found[found.class_id == 0]
        t1 = clock()
        if detect_now:
            people = self.tracker.update(found)
            ended = list(self.tracker.ended)
        else:
            people = self.tracker.peek((self.frames % self.detect_every) / self.detect_every)
            ended = []
        t2 = clock()
        for tid, age in zip(people.tracker_id.tolist(), people.data[TRACK_AGE].tolist()):
            visit = self._open.get(tid)
            if visit is None:
                self._open[tid] = _OpenVisit(str(uuid.uuid4()), ts - age, ts)
                self.tracks_seen += 1
            else:
                visit.last_seen = ts
        line_crossings = [c for line in self.lines for c in line.trigger(people)]
        t3 = clock()
        for zone in self.zones:
            zone.trigger(people, ts)
        t4 = clock()
        if self.faces is not None and detect_now:
            self.faces.update(image, people)
        t5 = clock()
        for c in line_crossings:
            visit = self._open.get(c.track_id)
            self.sink.crossing(Crossing(ts=ts, line=c.line, direction=c.direction,
                                        visit_id=visit.id if visit else None))
        for zone in self.zones:
            for tid, since in zone.since.items():
                visit = self._open.get(tid)
                if visit is not None and visit.last_seen == ts:
                    self.sink.presence(visit.id, zone.name, since, ts)
        for tid in ended:
            self._end_track(tid)
        self.sink.maybe_flush(ts)
        t6 = clock()
        for stage, dt in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5)):
            self._seconds[stage] += dt
        self.frames += 1
        return people

    def close(self, ts: float | None = None) -> None:
        """End of stream: every open track becomes a finished visit; events are flushed."""
        for tid in self.tracker.end_all():
            self._end_track(tid)
        self.sink.flush(ts if ts is not None else time.time())

    # -- results ----------------------------------------------------------------------------
    def stage_ms(self) -> dict[str, float]:
        """Mean milliseconds per frame spent in each stage."""
        n = max(self.frames, 1)
        return {stage: 1000 * s / n for stage, s in self._seconds.items()}

    @property
    def open_visits(self) -> int:
        return len(self._open)

    # -- internals ----------------------------------------------------------------------------
    def _end_track(self, tid: int) -> None:
        visit = self._open.pop(tid, None)
        dwell = {z.name: round(z.dwell[tid], 3) for z in self.zones if z.dwell.get(tid)}
        attrs = None
        if self.faces is not None:
            attrs = self.faces.attributes(tid)
            self.faces.forget(tid)
        for line in self.lines:
            line.forget(tid)
        for zone in self.zones:
            zone.forget(tid)
        if visit is None:
            return
        record = Visit(
            id=visit.id, entered_at=visit.entered_at, left_at=visit.last_seen, dwell=dwell,
            age_bracket=getattr(attrs, "age_bracket", None),
            age_confidence=_maybe_float(getattr(attrs, "age_confidence", None)),
            gender=getattr(attrs, "gender", None),
            gender_confidence=_maybe_float(getattr(attrs, "gender_confidence", None)),
            views=int(getattr(attrs, "views", 0) or 0),
            p_female=_maybe_float(getattr(attrs, "p_female", None)),
            age_probs=None if attrs is None else tuple(round(float(p), 5) for p in attrs.age_probs))
        self.sink.visit(record)


def _maybe_float(value) -> float | None:
    return None if value is None else float(value)
