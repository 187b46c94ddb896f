"""Faces: CenterFace detection, 5-point alignment, age + gender, per-track aggregation.

    >>> from vision.faces import FaceAnalyzer
    >>> analyzer = FaceAnalyzer(models_dir, threads=2, max_faces_per_frame=2)   # doctest: +SKIP
    >>> analyzer.update(frame_bgr, tracked)                                      # doctest: +SKIP
    >>> analyzer.attributes(track_id)                                            # doctest: +SKIP

Frames, crops and chips stay in memory; only an age, p(male) and a weight per view are kept per track.
"""
from vision.faces.analyzer import FaceAnalyzer, FaceEngine, FaceEstimate, TrackAttributes, analyze_image
from vision.faces.attributes import BRACKETS, bracket_of

__all__ = ["FaceAnalyzer", "FaceEngine", "FaceEstimate", "TrackAttributes", "analyze_image",
           "BRACKETS", "bracket_of"]
