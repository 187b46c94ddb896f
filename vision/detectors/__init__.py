"""Person detectors behind one interface: ``detect(frame_bgr) -> Detections`` (class_id 0).

    >>> from vision.detectors import load_person_detector
    >>> detector = load_person_detector("nanodet", models_dir, threads=2)   # doctest: +SKIP
    >>> people = detector.detect(frame_bgr)                                 # doctest: +SKIP

Chosen by measurement on the PETS 2009 clip (``bench/detectors.py --stride 3``, 265 frames,
IoU >= 0.5, at the score each detector's tracker takes as confident: 0.5 NanoDet, 0.3 SSDLite;
in brackets IoU >= 0.3; cost relative to SSDLite 480x360 in the same run):

    candidate                    recall  precision  (IoU .3 R/P)   count err/frame  cost
    NanoDet-g 320x224            0.754   0.947      (0.784/0.985)  1.26             0.5x
    NanoDet-g 352x256            0.823   0.960      (0.843/0.983)  0.91             0.7x
    NanoDet-g 416x320            0.876   0.927      (0.905/0.958)  0.62             1.1x
    NanoDet-g 480x352 (default)  0.891   0.949      (0.912/0.970)  0.51             1.6x
    NanoDet-g int8 352x256       0.824   0.959      (0.846/0.985)  0.90             0.5x
    NanoDet-g int8 480x352       0.893   0.936      (0.917/0.961)  0.47             1.0x
    SSDLite 300x300              0.514   0.739      (0.653/0.938)  1.83             0.5x
    SSDLite 480x360              0.527   0.717      (0.705/0.960)  1.60             1x
    SSDLite 640x480              0.597   0.802      (0.715/0.960)  1.54             2.5x
    OpenCV HOG (1x / 2x)         0.000 / ~0.02   (boxes never fit, 5.4 count err at 1x)

NanoDet-g (COCO, anchor-free, Apache-2.0) is the default, at 480x352, the issue's 480x360
frame without shrinking: it finds 1.7x the people SSDLite-MobileNetV2 finds at 480x360, with
tighter boxes and calibrated scores, at 1.5x its cost. In the whole pipeline
(``bench/vision_pipeline.py --input-size``) the extra recall of the larger inputs is what
tracking needs: IDF1 0.62 at 352x256 (35 fps), 0.75 at 416x320 (24 fps), 0.85 at 480x352
(25 fps), detecting every frame (figures from before the tracker's low-score threshold for
NanoDet). Where CPU is short, shrink ``[vision] detector_input`` or raise ``detect_every``.

``nanodet-int8`` is the same network with 8-bit weights and activations (models/README.md):
the same recall and count error, the network itself in half the time (28 vs 43 ms a frame
with pre- and post-processing at 480x352). Detecting every 2nd frame it runs the pipeline at
77-94 fps against 59-64 and tracks as well (IDF1 0.83 on the PETS clip and its mirror image,
against 0.80), but it misses more line crossings (the walkway's right-to-left direction 11 of
15 against 15 of 15 on the clip). Hence it is an option, not the default. SSDLite stays selectable (``person_detector = "ssdlite"``); OpenCV's HOG needs no
weights and is kept only as a fallback.
"""
from __future__ import annotations

from pathlib import Path

from vision.detectors.base import PersonDetector
from vision.detectors.hog import HOGPersonDetector
from vision.detectors.nanodet import NanoDetPersonDetector
from vision.detectors.ssdlite import SSDLitePersonDetector

NANODET_FILES = {"nanodet": "converted/nanodet_g_coco.onnx",
                 "nanodet-int8": "converted/nanodet_g_coco_int8.onnx"}
SSDLITE_FILE = "converted/ssdlite_mobilenet_v2_pedestrian.onnx"
DEFAULT_DETECTOR = "nanodet"
DETECTORS = ("nanodet", "nanodet-int8", "ssdlite", "hog")


def load_person_detector(name: str, models_dir: Path, threads: int, **opts) -> PersonDetector:
    """Build a detector by name; `opts` go to its constructor (e.g. input_size=(320, 240))."""
    if name in NANODET_FILES:
        detector = NanoDetPersonDetector(Path(models_dir) / NANODET_FILES[name], threads=threads,
                                         **opts)
        detector.name = name            # the float and 8-bit files share one class
        return detector
    if name == "ssdlite":
        return SSDLitePersonDetector(Path(models_dir) / SSDLITE_FILE, threads=threads, **opts)
    if name == "hog":
        return HOGPersonDetector(threads=threads, **opts)
    raise ValueError(f"unknown person detector {name!r}; choose one of {', '.join(DETECTORS)}")


__all__ = ["PersonDetector", "load_person_detector", "NanoDetPersonDetector", "SSDLitePersonDetector",
           "HOGPersonDetector",
           "DEFAULT_DETECTOR", "DETECTORS"]
