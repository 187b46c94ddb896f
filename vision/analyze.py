"""``cx-vision analyze``: the counting pipeline on a video file as fast as it goes, in memory.

    report = analyze_video("clip.avi", "vision/scenes/pets2009.json", max_frames=200)
    print(report["lines"], report["zones"], report["fps"])

The same detector, tracker, lines, zones and faces as the service, with the events collected
in memory instead of written to a station DB. The report is a plain dict (the command prints
it as JSON or text); a video, scene or model that cannot be used raises CannotAnalyze. ``mot_out`` also writes every track in MOTChallenge format, to score the
tracker against a ground truth.
"""
from __future__ import annotations

import time
from pathlib import Path

import cv2

from station.config import VisionSection
from vision.camera import VideoSource
from vision.loading import DEFAULT_MODELS, load_detector, load_faces, video_fps
from vision.pipeline import Pipeline
from vision.scene import SceneError, load_scene
from vision.sink import EventCollector
from vision.tracker import Tracker

DIRECTION_NOTE = ("'in' = moving to the side of a->b where cross(b - a, p - a) < 0 (image "
                  "coordinates): left to right across a line drawn top to bottom, upwards across "
                  "a line drawn left to right")


class CannotAnalyze(Exception):
    """The video, the scene or a model cannot be used; the message says which and why."""


def analyze_video(video, scene, *, detector: str = "default", input_size=None,
                  models_dir: Path = DEFAULT_MODELS, threads: int = 2,
                  detect_every: int = VisionSection.detect_every, faces: bool = False,
                  max_frames: int | None = None, mot_out=None) -> dict:
    """Counts, dwell and timings of one video (see the module docstring)."""
    video = Path(video)
    if not video.is_file():
        raise CannotAnalyze(f"video {video} does not exist")
    try:
        lines, zones = load_scene(scene)
    except SceneError as exc:
        raise CannotAnalyze(str(exc)) from exc
    cv2.setNumThreads(threads)
    try:
        person_detector = load_detector(detector, models_dir, threads, input_size)
        face_analyzer = load_faces(models_dir, threads) if faces else None
    except (FileNotFoundError, ValueError, ImportError) as exc:
        raise CannotAnalyze(str(exc)) from exc
    fps = video_fps(str(video))
    source = VideoSource(str(video), realtime=False)
    tracker = Tracker.for_detector(person_detector, fps / detect_every)
    events = EventCollector()
    pipeline = Pipeline(person_detector, tracker, lines, zones,
                        faces=face_analyzer, sink=events, detect_every=detect_every)
    mot = open(mot_out, "w", encoding="utf-8") if mot_out else None
    started = time.perf_counter()
    last_ts = 0.0
    try:
        while max_frames is None or pipeline.frames < max_frames:
            frame = source.read(timeout_s=5.0)
            if frame is None:
                break
            people = pipeline.process(frame)
            last_ts = frame.ts
            if mot is not None:
                _write_mot(mot, frame.index, people)
        pipeline.close(last_ts)
    finally:
        source.close()
        if mot is not None:
            mot.close()
    elapsed = time.perf_counter() - started
    return {
        "video": str(video), "detector": getattr(person_detector, "name", detector),
        "frames": pipeline.frames, "fps": round(pipeline.frames / max(elapsed, 1e-9), 2),
        "tracks": pipeline.tracks_seen,
        "lines": {l.name: {"in": l.in_count, "out": l.out_count} for l in lines},
        "zones": {z.name: {"dwell_s": round(z.total_dwell_s, 2), "visits": z.total_visits}
                  for z in zones},
        "visits_with_demographics": sum(v.age_bracket is not None or v.gender is not None
                                        for v in events.visits),
        "stage_ms": {k: round(v, 3) for k, v in pipeline.stage_ms().items()},
        "direction": DIRECTION_NOTE,
    }


def _write_mot(mot, index: int, people) -> None:
    for (x1, y1, x2, y2), tid, conf in zip(people.xyxy.tolist(), people.tracker_id.tolist(),
                                           people.confidence.tolist()):
        mot.write(f"{index + 1},{tid},{x1:.2f},{y1:.2f},{x2 - x1:.2f},"
                  f"{y2 - y1:.2f},{conf:.3f},-1,-1,-1\n")
