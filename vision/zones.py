"""Zone: a polygon on the floor; dwell time, visits and occupancy per track.

    kiosk = Zone("kiosk", [(160, 130), (320, 130), (320, 210), (160, 210)])
    for ts, frame in frames:
        inside = kiosk.trigger(tracker.update(detector.detect(frame)), ts)   # bool per row
        print(kiosk.occupancy, kiosk.dwell.get(7, 0.0), kiosk.visits.get(7, 0))

A track is in the zone when its feet point (box bottom-centre) is inside the polygon (even-odd
rule). Entering needs the point at least ``hysteresis_px`` inside the border and leaving at
least that far outside, so a person standing on the border is not counted as many visits.
Dwell adds, per track, the time since that track was last seen: all of it when the track was in
the zone at both sightings, half of it when it entered or left in between. So a person the
detector misses for a frame or two keeps earning dwell; gaps longer than ``max_gap_s`` (by
default the tracker's lost-track time: a gap it bridges counts whole) are capped, so a
stalled camera or a long occlusion does not credit minutes nobody saw.
"""
from __future__ import annotations

import numpy as np

from vision.detections import Detections
from vision.tracker import LOST_S, TRACK_AGE


def _inside_and_distance(points: np.ndarray, poly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Even-odd point-in-polygon and distance to the border, vectorised over points."""
    a = poly[None, :, :]                              # (1, V, 2)
    b = np.roll(poly, -1, axis=0)[None, :, :]
    p = points[:, None, :]                            # (N, 1, 2)
    ay, by = a[..., 1], b[..., 1]
    straddle = (ay > p[..., 1]) != (by > p[..., 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = a[..., 0] + (p[..., 1] - ay) * (b[..., 0] - a[..., 0]) / (by - ay)
    inside = (np.count_nonzero(straddle & (p[..., 0] < x_at), axis=1) % 2) == 1
    ab = b - a
    t = np.clip(((p - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0, 1)
    nearest = a + t[..., None] * ab
    dist = np.sqrt(((p - nearest) ** 2).sum(-1)).min(axis=1)
    return inside, dist


class Zone:
    def __init__(self, name: str, polygon, hysteresis_px: float = 2.0,
                 max_gap_s: float = LOST_S):
        poly = np.asarray(polygon, np.float64)
        if poly.ndim != 2 or poly.shape[1] != 2 or len(poly) < 3:
            raise ValueError(f"zone {name!r}: polygon needs at least 3 [x, y] points, "
                             f"got {polygon!r}")
        if not np.isfinite(poly).all():
            raise ValueError(f"zone {name!r}: polygon points must be finite numbers")
        area = 0.5 * abs(np.dot(poly[:, 0], np.roll(poly[:, 1], -1)) -
                         np.dot(poly[:, 1], np.roll(poly[:, 0], -1)))
        if area == 0:
            raise ValueError(f"zone {name!r}: polygon has zero area")
        self.name = name
        self.polygon = poly
        self.hysteresis_px = float(hysteresis_px)
        self.max_gap_s = float(max_gap_s)
        self.dwell: dict[int, float] = {}       # track -> seconds inside so far
        self.visits: dict[int, int] = {}        # track -> entries
        self.since: dict[int, float] = {}       # track -> start of its current stay
        self.occupancy = 0
        self._closed_dwell = 0.0                # totals of tracks already forgotten
        self._closed_visits = 0
        self._inside: dict[int, bool] = {}
        self._seen: dict[int, float] = {}       # track -> time of its previous sighting

    def trigger(self, detections: Detections, ts: float) -> np.ndarray:
        """Feed one frame of tracked detections at time ``ts`` (s); returns inside per row."""
        n = len(detections)
        if n == 0 or detections.tracker_id is None:
            self.occupancy = 0
            return np.zeros(n, bool)
        raw, dist = _inside_and_distance(detections.bottom_center.astype(np.float64),
                                         self.polygon)
        decided = dist > self.hysteresis_px
        ages = detections.data.get(TRACK_AGE)
        result = np.zeros(n, bool)
        for i, tid in enumerate(detections.tracker_id.tolist()):
            if tid < 0:
                continue
            was = self._inside.get(tid, False)
            now = bool(raw[i]) if decided[i] else was
            last = self._seen.get(tid)
            self._seen[tid] = ts
            # A track new to this zone has existed for its age already (it was confirmed a
            # step after its first sighting): that time counts too, up to the same cap.
            elapsed = (ages[i] if ages is not None else 0.0) if last is None else ts - last
            dt = min(max(elapsed, 0.0), self.max_gap_s)
            first = last is None
            if first:
                was = now           # first sighted a step ago: as good as here
            if now and (not was or first):
                self.visits[tid] = self.visits.get(tid, 0) + 1
                self.since[tid] = ts - dt if first else ts
                self.dwell.setdefault(tid, 0.0)
            elif was and not now:
                self.since.pop(tid, None)
            if now or was:
                self.dwell[tid] = self.dwell.get(tid, 0.0) + (dt if now and was else dt / 2)
            self._inside[tid] = now
            result[i] = now
        self.occupancy = int(result.sum())
        return result

    def forget(self, track_id: int) -> None:
        """Drop a finished track's state; its time and visits stay in ``total_*``."""
        tid = int(track_id)
        self._inside.pop(tid, None)
        self._seen.pop(tid, None)
        self.since.pop(tid, None)
        self._closed_dwell += self.dwell.pop(tid, 0.0)
        self._closed_visits += self.visits.pop(tid, 0)

    @property
    def total_dwell_s(self) -> float:
        return float(self._closed_dwell + sum(self.dwell.values()))

    @property
    def total_visits(self) -> int:
        return int(self._closed_visits + sum(self.visits.values()))
