"""Counting line: people crossing a segment, counted at their feet.

    entrance = LineCounter("entrance", a=(240, 100), b=(240, 300))
    for frame in frames:
        for crossing in entrance.trigger(tracker.update(detector.detect(frame))):
            print(crossing.track_id, crossing.direction)      # "in" or "out"
    print(entrance.in_count, entrance.out_count)

Direction: **"in" is a move to the side where cross(b - a, p - a) < 0**, "out" the opposite.
In image coordinates (y grows downwards) that means: for a segment drawn top to bottom, "in"
is moving left to right (x increasing); for a segment drawn left to right, "in" is moving up
(y decreasing). Swap a and b to swap the directions. (This is the same convention as
supervision's ``LineZone``.)

Each track keeps an explicit state: its last *confirmed* side and the last place its path
crossed the infinite line. The side changes only when the feet point is more than the band
from the line: ``hysteresis_px``, or ``hysteresis_frac`` of the person's box height if that is
more (NanoDet's bottom edge is off by 3-4 % of the box height on PETS, so a fixed band that
suits a far, small person is crossed by the jitter of a near, tall one standing beside the
line). Inside the band the track keeps its side, and a track that
starts inside the band has no side until it leaves it. When the side changes, the crossing
counts only if the last point where the path passed the line lies on the segment itself, so
walking round an end of the segment does not count. A track therefore counts once per real
crossing: jitter on the line adds nothing, and going back across counts in its own direction.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vision.detections import Detections


@dataclass(frozen=True)
class LineCrossing:
    line: str
    track_id: int
    direction: str            # "in" | "out"
    point: tuple[float, float]


@dataclass
class _TrackState:
    side: int                 # -1, +1, or 0 = not yet known
    d: float                  # signed distance at the last point
    point: np.ndarray         # last feet point
    t_cross: float | None     # segment parameter of the last pass through d = 0
    seen: int                 # call number when last seen


class LineCounter:
    def __init__(self, name: str, a, b, hysteresis_px: float = 2.0, hysteresis_frac: float = 0.05,
                 forget_after: int = 3000):
        self.name = name
        self.a = np.asarray(a, np.float64).reshape(2)
        self.b = np.asarray(b, np.float64).reshape(2)
        if not (np.isfinite(self.a).all() and np.isfinite(self.b).all()):
            raise ValueError(f"line {name!r}: end points must be finite numbers")
        self._ab = self.b - self.a
        self._len = float(np.hypot(*self._ab))
        if self._len == 0:
            raise ValueError(f"line {name!r}: a and b are the same point {tuple(self.a)}")
        if hysteresis_px < 0 or not 0 <= hysteresis_frac < 1:
            raise ValueError(f"line {name!r}: hysteresis_px must be >= 0 and hysteresis_frac in "
                             f"[0, 1), got {hysteresis_px}, {hysteresis_frac}")
        self.hysteresis_px = float(hysteresis_px)
        self.hysteresis_frac = float(hysteresis_frac)
        self.forget_after = forget_after
        self.in_count = 0
        self.out_count = 0
        self._tracks: dict[int, _TrackState] = {}
        self._calls = 0

    def trigger(self, detections: Detections) -> list[LineCrossing]:
        """Feed one frame of tracked detections; returns the crossings completed in it."""
        self._calls += 1
        if detections.tracker_id is None or not len(detections):
            self._prune()
            return []
        points = detections.bottom_center.astype(np.float64)
        rel = points - self.a
        d_all = (self._ab[0] * rel[:, 1] - self._ab[1] * rel[:, 0]) / self._len
        heights = detections.xyxy[:, 3] - detections.xyxy[:, 1]
        bands = np.maximum(self.hysteresis_px, self.hysteresis_frac * heights).tolist()
        crossings = []
        for tid, p, d, band in zip(detections.tracker_id.tolist(), points, d_all.tolist(), bands):
            if tid < 0:
                continue
            crossing = self._step(tid, p, d, band)
            if crossing:
                crossings.append(crossing)
        self._prune()
        return crossings

    def forget(self, track_id: int) -> None:
        self._tracks.pop(int(track_id), None)

    def _step(self, tid: int, p: np.ndarray, d: float, h: float) -> LineCrossing | None:
        state = self._tracks.get(tid)
        side_now = 1 if d > h else (-1 if d < -h else 0)
        if state is None:
            t_here = self._param(p) if abs(d) <= h and d == 0 else None
            self._tracks[tid] = _TrackState(side_now, d, p, t_here, self._calls)
            return None
        if d == 0 or (state.d != 0 and (d > 0) != (state.d > 0)):
            # The straight step from the last point to this one passes d = 0: remember where.
            frac = state.d / (state.d - d) if state.d != d else 1.0
            state.t_cross = self._param(state.point + frac * (p - state.point))
        state.d, state.point, state.seen = d, p, self._calls
        if side_now == 0 or side_now == state.side:
            return None
        previous, state.side = state.side, side_now
        if previous == 0:
            return None                      # first time it is seen outside the band
        t, state.t_cross = state.t_cross, None
        if t is None or not 0.0 <= t <= 1.0:
            return None                      # went round the end of the segment
        direction = "in" if side_now < 0 else "out"
        if direction == "in":
            self.in_count += 1
        else:
            self.out_count += 1
        point = self.a + t * self._ab
        return LineCrossing(self.name, tid, direction, (float(point[0]), float(point[1])))

    def _param(self, q: np.ndarray) -> float:
        return float(np.dot(q - self.a, self._ab) / (self._len ** 2))

    def _prune(self) -> None:
        if self._calls % 256:
            return
        stale = [t for t, s in self._tracks.items() if self._calls - s.seen > self.forget_after]
        for t in stale:
            del self._tracks[t]
