"""Demographics per track: look for a face in the head region of a few tracked people per frame,
align it, estimate age and gender, and keep the best few views per track.

    >>> analyzer = FaceAnalyzer(models_dir, threads=2)                 # doctest: +SKIP
    >>> analyzer.update(frame_bgr, tracked)   # tracked.tracker_id set  # doctest: +SKIP
    >>> analyzer.attributes(7)                                         # doctest: +SKIP
    TrackAttributes(age=31.4, age_bracket='25-34', age_confidence=0.52, gender='female', ...)
    >>> analyzer.forget(7)                                             # doctest: +SKIP

Only numbers are kept per track (an age, p(male) and a quality weight per view); frames, crops
and chips live in memory for the duration of one call and are never written anywhere.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from vision.detections import Detections
from vision.faces.align import align_chip, box_chip, frontalness
from vision.faces.attributes import (AGE_GENDER_CHIP, AGE_SIGMA_YEARS, GENDER_CHIP, AgeGenderEstimator,
                                     age_confidence, bracket_of, bracket_probabilities)
from vision.faces.centerface import CenterFaceDetector


@dataclass(frozen=True)
class FaceEstimate:
    box: tuple[float, float, float, float]          # xyxy in image pixels
    landmarks: tuple[tuple[float, float], ...]      # 5 points: eyes, nose tip, mouth corners
    age: float                                      # expected age, years
    age_bracket: str
    age_confidence: float                           # probability the age is inside age_bracket
    gender: str                                     # "female" / "male"
    gender_confidence: float                        # 0.5..1
    score: float                                    # face detector score

    def as_dict(self) -> dict:
        return {"box": [round(v, 1) for v in self.box], "age": round(self.age, 1),
                "age_bracket": self.age_bracket, "age_confidence": round(self.age_confidence, 3),
                "gender": self.gender, "gender_confidence": round(self.gender_confidence, 3),
                "score": round(self.score, 3),
                "landmarks": [[round(x, 1), round(y, 1)] for x, y in self.landmarks]}


@dataclass(frozen=True)
class TrackAttributes:
    age: float
    age_bracket: str
    age_confidence: float
    gender: str | None          # None: less sure than the analyzer's gender_min_confidence
    gender_confidence: float | None
    views: int
    p_female: float             # kept even when gender is None: the period's shares use it
    age_probs: tuple[float, ...]   # probability of each of BRACKETS


@dataclass
class _View:
    quality: float
    age: float
    p_male: float


@dataclass
class _TrackState:
    views: list[_View] = field(default_factory=list)
    attempts: int = 0
    last_frame: int = -1


class FaceEngine:
    """Face detection + alignment + age/gender on one image or image region."""

    def __init__(self, models_dir: Path, threads: int = 2, face_threshold: float = 0.5):
        self.detector = CenterFaceDetector(Path(models_dir) / "centerface.onnx", threads,
                                           score_threshold=face_threshold)
        self.estimator = AgeGenderEstimator(models_dir, threads)

    def estimate(self, image_bgr: np.ndarray, faces: Detections) -> tuple[np.ndarray, np.ndarray]:
        """(age in years [N], p(male) [N]) for detected faces with boxes and landmarks."""
        if len(faces) == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.float32)
        c112 = np.stack([box_chip(image_bgr, box, AGE_GENDER_CHIP) for box in faces.xyxy])
        c32 = np.stack([align_chip(image_bgr, lm, GENDER_CHIP) for lm in faces.landmarks])
        return self.estimator.estimate(c112, c32)


def _estimate_from(box, landmarks, age, p_male, score) -> FaceEstimate:
    age = float(age)
    bracket = bracket_of(age)
    return FaceEstimate(
        box=tuple(float(v) for v in box), landmarks=tuple((float(x), float(y)) for x, y in landmarks),
        age=age, age_bracket=bracket, age_confidence=age_confidence(age, AGE_SIGMA_YEARS, bracket),
        gender="male" if p_male >= 0.5 else "female", gender_confidence=float(max(p_male, 1 - p_male)),
        score=float(score))


def analyze_image(image_bgr: np.ndarray, engine: FaceEngine, max_side: int = 640,
                  min_face: int = 16) -> list[FaceEstimate]:
    """Every face of a still photo with its age and gender estimate, largest first."""
    faces = engine.detector.detect(image_bgr, max_side=max_side)
    faces = faces[(faces.xyxy[:, 2] - faces.xyxy[:, 0]) >= min_face]
    faces = faces[np.argsort(-faces.area)]
    ages, males = engine.estimate(image_bgr, faces)
    return [_estimate_from(faces.xyxy[i], faces.landmarks[i], ages[i], males[i], faces.confidence[i])
            for i in range(len(faces))]


class FaceAnalyzer:
    """Per-track demographics under a per-frame budget (see module docstring)."""

    def __init__(self, models_dir: Path, threads: int, max_faces_per_frame: int = 2,
                 views_per_track: int = 5, min_face_px: int = 20, revisit_frames: int = 5,
                 face_input_px: int = 96, engine: FaceEngine | None = None,
                 gender_min_confidence: float = 0.5):
        if max_faces_per_frame < 0 or views_per_track < 1:
            raise ValueError("max_faces_per_frame must be >= 0 and views_per_track >= 1")
        if not 0.5 <= gender_min_confidence <= 1:
            raise ValueError(f"gender_min_confidence must be in 0.5..1, got {gender_min_confidence}")
        self.gender_min_confidence = float(gender_min_confidence)
        self.engine = engine or FaceEngine(models_dir, threads)
        self.max_faces_per_frame = int(max_faces_per_frame)
        self.views_per_track = int(views_per_track)
        self.min_face_px = int(min_face_px)
        self.revisit_frames = int(revisit_frames)
        if face_input_px < 32:
            raise ValueError(f"face_input_px must be >= 32, got {face_input_px}")
        self.face_input_px = int(face_input_px)
        self._tracks: dict[int, _TrackState] = {}
        self._frame = 0

    # -- public boundary ---------------------------------------------------------------
    def update(self, frame_bgr: np.ndarray, tracked: Detections) -> int:
        """Look for faces on a few tracks of this frame; returns how many views were added."""
        self._frame += 1
        if tracked.tracker_id is None:
            raise ValueError("FaceAnalyzer.update needs tracked detections (tracker_id set)")
        added = 0
        for row in self._pick(tracked, frame_bgr.shape):
            track_id = int(tracked.tracker_id[row])
            state = self._tracks.setdefault(track_id, _TrackState())
            state.attempts += 1
            state.last_frame = self._frame
            view = self._look(frame_bgr, tracked.xyxy[row])
            if view is not None:
                state.views.append(view)
                state.views.sort(key=lambda v: -v.quality)
                del state.views[self.views_per_track:]
                added += 1
        return added

    def attributes(self, track_id: int) -> TrackAttributes | None:
        state = self._tracks.get(int(track_id))
        if state is None or not state.views:
            return None
        weights = np.array([v.quality for v in state.views], np.float64)
        weights = weights / weights.sum() if weights.sum() > 0 else np.full(len(weights), 1 / len(weights))
        ages = np.array([v.age for v in state.views], np.float64)
        p_male = float(np.dot(weights, [v.p_male for v in state.views]))
        age = float(np.dot(weights, ages))
        # Views that disagree widen the spread the bracket confidence is read from.
        sigma = float(np.sqrt(AGE_SIGMA_YEARS ** 2 + np.dot(weights, (ages - age) ** 2)))
        bracket = bracket_of(age)
        gender, sure = ("male" if p_male >= 0.5 else "female"), max(p_male, 1 - p_male)
        if sure < self.gender_min_confidence:
            # An unsure guess stored as a fact would skew the shares the manager reads; the
            # visit keeps its age and says "gender unknown" instead.
            gender, sure = None, None
        return TrackAttributes(age=age, age_bracket=bracket, age_confidence=age_confidence(age, sigma, bracket),
                               gender=gender, gender_confidence=sure, views=len(state.views),
                               p_female=1.0 - p_male, age_probs=bracket_probabilities(age, sigma))

    def forget(self, track_id: int) -> None:
        self._tracks.pop(int(track_id), None)

    # -- internals -----------------------------------------------------------------------
    def _head_region(self, box, frame_shape) -> tuple[int, int, int, int] | None:
        """The top of a person box, squared up: where a face would be for a standing person."""
        x1, y1, x2, y2 = (float(v) for v in box)
        w, h = x2 - x1, y2 - y1
        side = min(max(w, 1.0) * 1.1, max(h, 1.0) * 0.6)
        cx = (x1 + x2) / 2
        top = y1 - 0.05 * side
        fh, fw = frame_shape[:2]
        rx1, ry1 = int(max(0, cx - side / 2)), int(max(0, top))
        rx2, ry2 = int(min(fw, cx + side / 2)), int(min(fh, top + side))
        if rx2 - rx1 < self.min_face_px or ry2 - ry1 < self.min_face_px:
            return None
        return rx1, ry1, rx2, ry2

    def _pick(self, tracked: Detections, frame_shape) -> list[int]:
        """Rows to look at this frame (at most max_faces_per_frame)."""
        if self.max_faces_per_frame == 0 or len(tracked) == 0:
            return []
        candidates = []
        for row in range(len(tracked)):
            track_id = int(tracked.tracker_id[row])
            if track_id < 0:
                continue
            box = tracked.xyxy[row]
            # A head narrower than min_face_px cannot give a usable face: do not spend the budget.
            if (box[2] - box[0]) < self.min_face_px:
                continue
            state = self._tracks.get(track_id)
            views = len(state.views) if state else 0
            if state and self._frame - state.last_frame < self.revisit_frames:
                continue
            if views >= self.views_per_track and state.views[-1].quality > 0.8:
                continue  # already has enough excellent views
            attempts = state.attempts if state else 0
            # Fewest views first; among equals, the least tried (someone showing their back
            # must not starve the others), then the biggest person (the best face).
            candidates.append((views, attempts, -float(tracked.area[row]), row))
        candidates.sort()
        return [c[-1] for c in candidates[: self.max_faces_per_frame]]

    def _look(self, frame_bgr: np.ndarray, box) -> _View | None:
        region = self._head_region(box, frame_bgr.shape)
        if region is None:
            return None
        rx1, ry1, rx2, ry2 = region
        crop = frame_bgr[ry1:ry2, rx1:rx2]
        # The head crop is resized so its long side is face_input_px: CenterFace's cost grows
        # with pixels, and a face filling half a 96 px crop is plenty for its stride-4 maps.
        scale = self.face_input_px / max(crop.shape[:2])
        image = cv2.resize(crop, None, fx=scale, fy=scale,
                           interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        faces = self.engine.detector.detect(image, max_side=self.face_input_px)
        if len(faces) == 0:
            return None
        faces.xyxy /= scale
        faces.landmarks /= scale
        best = int(np.argmax(faces.area * faces.confidence))
        faces = faces[best]
        size = float(faces.xyxy[0, 2] - faces.xyxy[0, 0])
        if size < self.min_face_px:
            return None
        ages, males = self.engine.estimate(crop, faces)
        # Quality: face size (saturating at 64 px), frontalness, detector score.
        quality = min(1.0, size / 64.0) * (0.25 + 0.75 * frontalness(faces.landmarks[0])) * float(faces.confidence[0])
        return _View(quality=quality, age=float(ages[0]), p_male=float(males[0]))

