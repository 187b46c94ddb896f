"""Person detectors behind one interface: ``detect(frame_bgr) -> Detections`` (class_id 0).

    >>> from vision.detectors import load_person_detector
    >>> detector = load_person_detector("ssdlite", models_dir, threads=2)   # doctest: +SKIP
    >>> people = detector.detect(frame_bgr)                                 # doctest: +SKIP

Chosen by measurement on the PETS 2009 clip (``bench/detectors.py``): SSDLite-MobileNetV2 is the
default; OpenCV's HOG needs no weights and is kept as a fallback.
"""
from __future__ import annotations

from pathlib import Path

from vision.detectors.base import PersonDetector
from vision.detectors.hog import HOGPersonDetector
from vision.detectors.ssdlite import SSDLitePersonDetector

SSDLITE_FILE = "converted/ssdlite_mobilenet_v2_pedestrian.onnx"
DEFAULT_DETECTOR = "ssdlite"
DETECTORS = ("ssdlite", "hog")


def load_person_detector(name: str, models_dir: Path, threads: int, **opts) -> PersonDetector:
    """Build a detector by name; `opts` go to its constructor (e.g. input_size=(320, 240))."""
    if name == "ssdlite":
        return SSDLitePersonDetector(Path(models_dir) / SSDLITE_FILE, threads=threads, **opts)
    if name == "hog":
        return HOGPersonDetector(threads=threads, **opts)
    raise ValueError(f"unknown person detector {name!r}; choose one of {', '.join(DETECTORS)}")


__all__ = ["PersonDetector", "load_person_detector", "SSDLitePersonDetector", "HOGPersonDetector",
           "DEFAULT_DETECTOR", "DETECTORS"]
