"""The models and video settings the pipeline is built from, as a user names them.

    detector = load_detector("default", DEFAULT_MODELS, threads=2, input_size=parse_size("416x320"))
    faces = load_faces(DEFAULT_MODELS, threads=2)
    tracker = Tracker.for_detector(detector, video_fps("clip.avi") / detect_every)

Shared by ``cx-vision run`` (names from the station config), ``cx-vision analyze`` (names from
its options) and the benches, so a name means the same detector everywhere. A model that
cannot be loaded raises FileNotFoundError, ValueError or ImportError; each caller decides
whether that stops it.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2

from station.config import VisionSection

DEFAULT_MODELS = Path(__file__).resolve().parents[1] / "models"


def load_detector(name: str, models_dir: Path, threads: int, input_size=None):
    """The person detector called `name` ("" or "default": the station's default one)."""
    from vision.detectors import DEFAULT_DETECTOR, load_person_detector
    if name in ("", "default"):
        name = DEFAULT_DETECTOR
    opts = {"input_size": tuple(input_size)} if input_size else {}
    return load_person_detector(name, Path(models_dir), threads, **opts)


def load_faces(models_dir: Path, threads: int,
               gender_min_confidence: float = VisionSection.gender_min_confidence):
    from vision.faces import FaceAnalyzer
    if not gender_min_confidence:
        from station.shares import load_calibration
        gender_min_confidence = load_calibration().gender_min_confidence
    return FaceAnalyzer(Path(models_dir), threads, gender_min_confidence=gender_min_confidence)


def video_fps(path: str) -> float:
    """A video file's frame rate; 25 when the file does not say or says nonsense."""
    cap = cv2.VideoCapture(path)
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) if cap.isOpened() else 0.0
    cap.release()
    return fps if 1.0 <= fps <= 240.0 else 25.0


def parse_size(text: str) -> tuple[int, int]:
    """'416x320' -> (416, 320); an argparse `type` (also for the benches' --input-size)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 416x320, got {text!r}") from None
    return w, h
