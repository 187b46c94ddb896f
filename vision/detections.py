"""The one data type that flows through the vision pipeline.

    detections = detector.detect(frame)          # boxes + scores (+ landmarks for faces)
    detections = tracker.update(detections)      # tracker_id filled in
    crossings = entrance.trigger(detections)     # lines and zones only read it

A detector returns it, the tracker annotates it, zones and counters read it; no stage invents
its own box format. Boxes are ``xyxy`` pixels in the frame the detector saw.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Detections:
    xyxy: np.ndarray                      # (N, 4) float32: x1, y1, x2, y2
    confidence: np.ndarray                # (N,) float32
    class_id: np.ndarray                  # (N,) int32; 0 = person, 1 = face
    tracker_id: np.ndarray | None = None  # (N,) int64 once a tracker has run; -1 = unmatched
    landmarks: np.ndarray | None = None   # (N, 5, 2) float32 for faces: eyes, nose, mouth corners
    data: dict[str, np.ndarray] = field(default_factory=dict)  # extras, one row per detection

    def __post_init__(self) -> None:
        self.xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        n = len(self.xyxy)
        self.confidence = np.asarray(self.confidence, dtype=np.float32).reshape(n)
        self.class_id = np.asarray(self.class_id, dtype=np.int32).reshape(n)
        if self.tracker_id is not None:
            self.tracker_id = np.asarray(self.tracker_id, dtype=np.int64).reshape(n)
        if self.landmarks is not None:
            self.landmarks = np.asarray(self.landmarks, dtype=np.float32).reshape(n, 5, 2)
        for key, value in self.data.items():
            if len(value) != n:
                raise ValueError(f"Detections.data[{key!r}] has {len(value)} rows, expected {n}")

    @classmethod
    def empty(cls) -> "Detections":
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32))

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index) -> "Detections":
        """Select rows by boolean mask, integer array or slice; every field follows."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Detections(
            xyxy=self.xyxy[index],
            confidence=self.confidence[index],
            class_id=self.class_id[index],
            tracker_id=None if self.tracker_id is None else self.tracker_id[index],
            landmarks=None if self.landmarks is None else self.landmarks[index],
            data={k: np.asarray(v)[index] for k, v in self.data.items()},
        )

    @property
    def bottom_center(self) -> np.ndarray:
        """(N, 2) feet points: where a person stands, used for lines and zones."""
        return np.stack([(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2, self.xyxy[:, 3]], axis=1)

    @property
    def area(self) -> np.ndarray:
        return (self.xyxy[:, 2] - self.xyxy[:, 0]) * (self.xyxy[:, 3] - self.xyxy[:, 1])
