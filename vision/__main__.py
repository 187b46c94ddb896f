"""``cx-vision``: the people-counting service and its offline tools.

    cx-vision run --config config/demo.toml
    cx-vision analyze video.avi --scene vision/scenes/pets2009.json --json
    cx-vision faces photo.jpg --json

``run`` reads the camera named in ``[vision] camera`` and writes visits, crossings, presence,
per-minute traffic and health into the station DB. With no camera configured (or a video file
that does not exist) it says so once and idles until stopped, instead of crash-looping.
``analyze`` runs the same pipeline on a video file as fast as it can and prints the counts.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from pathlib import Path

import cv2

from station.config import VisionSection
from station.service import start_service, stop_on_signals
from vision.camera import VideoSource
from vision.pipeline import Pipeline
from vision.scene import SceneError, load_scene, scene_from_items
from vision.tracker import Tracker

log = logging.getLogger("cx-vision")

DEFAULT_MODELS = Path(__file__).resolve().parents[1] / "models"
DIRECTION_NOTE = ("'in' = moving to the side of a->b where cross(b - a, p - a) < 0 (image "
                  "coordinates): left to right across a line drawn top to bottom, upwards across "
                  "a line drawn left to right")
NO_CAMERA = ("no camera or video is configured for cx-vision ({why}); people counting is idle. "
             "Set [vision] camera in {config} to a device index (e.g. \"0\"), an RTSP/HTTP URL "
             "(e.g. \"rtsp://user:pass@10.0.0.5/stream1\") or a video file path, then restart.")


# -- building blocks ------------------------------------------------------------------------
def load_detector(name: str, models_dir: Path, threads: int, input_size=None):
    from vision.detectors import DEFAULT_DETECTOR, load_person_detector
    if name in ("", "default"):
        name = DEFAULT_DETECTOR
    opts = {"input_size": tuple(input_size)} if input_size else {}
    return load_person_detector(name, Path(models_dir), threads, **opts)


def load_faces(models_dir: Path, threads: int,
               gender_min_confidence: float = VisionSection.gender_min_confidence):
    from vision.faces import FaceAnalyzer
    return FaceAnalyzer(Path(models_dir), threads, gender_min_confidence=gender_min_confidence)


def video_fps(path: str) -> float:
    cap = cv2.VideoCapture(path)
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) if cap.isOpened() else 0.0
    cap.release()
    return fps if 1.0 <= fps <= 240.0 else 25.0


# -- analyze --------------------------------------------------------------------------------
def cmd_analyze(args) -> int:
    video = Path(args.video)
    if not video.is_file():
        print(f"cx-vision analyze: video {video} does not exist", file=sys.stderr)
        return 2
    try:
        lines, zones = load_scene(args.scene)
    except SceneError as exc:
        print(f"cx-vision analyze: {exc}", file=sys.stderr)
        return 2
    cv2.setNumThreads(args.threads)
    try:
        detector = load_detector(args.detector, args.models_dir, args.threads, args.input_size)
        faces = load_faces(args.models_dir, args.threads) if args.faces else None
    except (FileNotFoundError, ValueError, ImportError) as exc:
        print(f"cx-vision analyze: {exc}", file=sys.stderr)
        return 2
    fps = video_fps(str(video))
    source = VideoSource(str(video), realtime=False)
    tracker = Tracker.for_detector(detector, fps / args.detect_every)
    pipeline = Pipeline(detector, tracker, lines, zones,
                        faces=faces, detect_every=args.detect_every)
    mot = open(args.mot_out, "w", encoding="utf-8") if args.mot_out else None
    started = time.perf_counter()
    last_ts = 0.0
    try:
        while args.max_frames is None or pipeline.frames < args.max_frames:
            frame = source.read(timeout_s=5.0)
            if frame is None:
                break
            people = pipeline.process(frame)
            last_ts = frame.ts
            if mot is not None:
                for (x1, y1, x2, y2), tid, conf in zip(people.xyxy.tolist(),
                                                       people.tracker_id.tolist(),
                                                       people.confidence.tolist()):
                    mot.write(f"{frame.index + 1},{tid},{x1:.2f},{y1:.2f},{x2 - x1:.2f},"
                              f"{y2 - y1:.2f},{conf:.3f},-1,-1,-1\n")
        pipeline.close(last_ts)
    finally:
        source.close()
        if mot is not None:
            mot.close()
    elapsed = time.perf_counter() - started
    result = {
        "video": str(video), "detector": getattr(detector, "name", args.detector),
        "frames": pipeline.frames, "fps": round(pipeline.frames / max(elapsed, 1e-9), 2),
        "tracks": pipeline.tracks_seen,
        "lines": {l.name: {"in": l.in_count, "out": l.out_count} for l in lines},
        "zones": {z.name: {"dwell_s": round(z.total_dwell_s, 2), "visits": z.total_visits}
                  for z in zones},
        "visits_with_demographics": sum(v.age_bracket is not None or v.gender is not None
                                        for v in pipeline.sink.visits),
        "stage_ms": {k: round(v, 3) for k, v in pipeline.stage_ms().items()},
        "direction": DIRECTION_NOTE,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['frames']} frames at {result['fps']} fps, {result['tracks']} tracks "
              f"({result['detector']})")
        for name, c in result["lines"].items():
            print(f"line {name}: in {c['in']}, out {c['out']}")
        for name, z in result["zones"].items():
            print(f"zone {name}: dwell {z['dwell_s']} s, visits {z['visits']}")
        print(f"direction: {DIRECTION_NOTE}")
    return 0


# -- run (the service) ----------------------------------------------------------------------
def _idle(stop: threading.Event, notify) -> int:
    """Nothing to do: stay up calmly (no crash loop) until systemd stops us."""
    while not stop.is_set():
        notify.watchdog()
        stop.wait(1.0)
    notify.stopping()
    return 0


def cmd_run(args) -> int:
    stop = stop_on_signals()               # first, so an early SIGTERM is a clean stop too
    from station import notify
    from station.store import Store, StoreError
    from vision.events import EventRecorder

    config = start_service("cx-vision", args.config)
    if config is None:
        return 2
    vision = config.vision
    if not vision.enabled:
        log.info("vision is disabled in %s ([vision] enabled = false); idling", config.source)
        notify.ready("vision disabled")
        return _idle(stop, notify)
    try:
        store = Store.open(config, synchronous="NORMAL")
    except StoreError as exc:
        log.error("%s", exc)
        return 1
    kind = vision.camera_kind
    missing = kind == "file" and not Path(vision.camera).is_file()
    if kind == "none" or missing:
        why = "camera is empty" if kind == "none" else f"video file {vision.camera} not found"
        log.warning(NO_CAMERA.format(why=why, config=config.source))
        store.put_health("vision", {"status": "no camera configured", "camera": vision.camera,
                                    "fps": 0.0, "last_frame": None})
        notify.ready("no camera configured")
        try:
            return _idle(stop, notify)
        finally:
            store.close()
    cv2.setNumThreads(vision.threads)
    try:
        detector = load_detector(vision.person_detector, vision.models_dir, vision.threads,
                                 vision.detector_input)
    except (FileNotFoundError, ValueError, ImportError) as exc:
        log.error("cannot load the person detector %r: %s (check [vision] person_detector and "
                  "detector_input; run `cx-station models fetch` if weights are missing)",
                  vision.person_detector, exc)
        store.put_health("vision", {"status": f"no person detector: {exc}", "fps": 0.0,
                                    "last_frame": None})
        notify.ready("no person detector")
        try:
            return _idle(stop, notify)
        finally:
            store.close()
    faces = None
    if vision.faces:
        try:
            faces = load_faces(vision.models_dir, vision.threads, vision.gender_min_confidence)
        except (FileNotFoundError, ValueError, ImportError) as exc:
            log.warning("age/gender estimation is off: %s (run `cx-station models fetch`)", exc)
    lines, zones = scene_from_items(vision.lines, vision.zones, where=str(config.source))
    source = VideoSource(vision.camera, loop=vision.loop, realtime=True, fps_cap=vision.fps_cap,
                         reconnect_max_s=vision.reconnect_max_s)
    rate = vision.fps_cap if kind != "file" else min(vision.fps_cap, video_fps(vision.camera))
    recorder = EventRecorder(store)
    tracker = Tracker.for_detector(detector, rate / vision.detect_every)
    pipeline = Pipeline(detector, tracker, lines, zones,
                        faces=faces, sink=recorder, detect_every=vision.detect_every)
    preview = _Preview() if vision.debug_preview else None
    notify.ready(f"camera {source._safe_uri()}")
    log.info("counting on %s (%s)", source._safe_uri(), kind)
    last_health = 0.0
    try:
        while not stop.is_set() and not source.ended:
            frame = source.read(timeout_s=1.0)
            notify.watchdog()
            now = time.time()
            if frame is not None:
                people = pipeline.process(frame)
                if preview is not None:
                    preview.show(frame.image, people)
            if now - last_health >= 1.0:
                last_health = now
                recorder.health({
                    "status": "ok" if source.is_open else "reconnecting",
                    "camera": source._safe_uri(), "fps": round(source.fps, 2),
                    "last_frame": source.last_frame_ts, "reopens": source.reopens,
                    "skipped_frames": source.skipped, "open_visits": pipeline.open_visits,
                    "stage_ms": {k: round(v, 2) for k, v in pipeline.stage_ms().items()},
                    "pending_events": recorder.pending})
            if frame is None:
                recorder.maybe_flush(now)
        if source.ended:
            log.info("the video %s ended ([vision] loop = false); idling", vision.camera)
            pipeline.close(time.time())
            return _idle(stop, notify)
    finally:
        notify.stopping()
        if not source.ended:
            pipeline.close(time.time())
        source.close()
        store.close()
    return 0


class _Preview:
    """Debug window (off by default): person boxes, with the head area blurred."""

    def __init__(self):
        self.ok = True

    def show(self, image, people) -> None:
        if not self.ok:
            return
        view = image.copy()
        for x1, y1, x2, y2 in people.xyxy.astype(int).tolist():
            head = view[max(y1, 0):max(y1 + (y2 - y1) // 4, 0), max(x1, 0):max(x2, 0)]
            if head.size:
                head[:] = cv2.GaussianBlur(head, (0, 0), 8)
            cv2.rectangle(view, (x1, y1), (x2, y2), (0, 200, 0), 1)
        try:
            cv2.imshow("cx-vision (debug preview)", view)
            cv2.waitKey(1)
        except cv2.error as exc:
            log.warning("debug preview cannot open a window here (%s); turning it off",
                        str(exc).splitlines()[0][:120])
            self.ok = False


def parse_size(text: str) -> tuple[int, int]:
    """'416x320' -> (416, 320); an argparse `type` (also for the benches' --input-size)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 416x320, got {text!r}") from None
    return w, h


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


# -- entry point ----------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cx-vision", description="People counting, dwell time and demographics from the "
                                      "store camera (frames never leave memory).")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the people-counting service")
    run.add_argument("--config", required=True, help="station TOML file")
    run.set_defaults(func=cmd_run)

    an = sub.add_parser("analyze", help="count people in a video file as fast as possible")
    an.add_argument("video")
    an.add_argument("--scene", required=True, help="JSON with lines and zones (pixels)")
    an.add_argument("--json", action="store_true", help="print one JSON object")
    an.add_argument("--mot-out", help="write tracks in MOTChallenge format to this file")
    an.add_argument("--max-frames", type=_positive_int, default=None)
    an.add_argument("--detector", default="default")
    an.add_argument("--input-size", type=parse_size, default=None, metavar="WxH",
                    help="what the person detector sees, e.g. 416x320 (default: its own)")
    an.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS)
    an.add_argument("--threads", type=_positive_int, default=2)
    an.add_argument("--detect-every", type=_positive_int, default=VisionSection.detect_every,
                    help="run the person detector every k-th frame; the tracker predicts between")
    an.add_argument("--faces", action="store_true", help="also estimate age/gender per track")
    an.set_defaults(func=cmd_analyze)

    try:
        from vision.faces.cli import add_parser
    except ImportError:
        pass
    else:
        add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command != "run":
        logging.basicConfig(level=logging.WARNING, format="cx-vision %(levelname)s %(message)s")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
