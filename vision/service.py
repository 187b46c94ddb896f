"""``cx-vision run``: count people on one store camera into the station DB until stopped.

    sys.exit(run("config/demo.toml", camera="door"))   # 0 once SIGTERM or Ctrl-C stopped it

One process per camera (``[[vision.cameras]]``; the old single-camera ``[vision]`` form is the
camera "main"): start-up builds the person detector, the face analyzer, the camera and the
pipeline from the shared ``[vision]`` keys and that camera's own; events go to the station DB
through an ``EventRecorder``, stamped with the camera's id, and the camera's health row
("vision:<id>") is written once a second. When there is nothing to count (vision disabled, no camera,
a video file that does not exist, no person detector, a video that ended) the service says
why once, keeps the reason in health and idles calmly until stopped, instead of crash-looping
under systemd.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import cv2

from station import notify
from station.service import start_service, stop_on_signals
from station.store import Store, StoreError
from vision.camera import VideoSource
from vision.events import EventRecorder, health_component
from vision.loading import load_detector, load_faces, video_fps
from vision.pipeline import Pipeline
from vision.preview import DebugPreview
from vision.scene import scene_from_items
from vision.tracker import Tracker

log = logging.getLogger("cx-vision")

NO_CAMERA = ("no camera or video is configured for cx-vision's camera {camera!r} ({why}); "
             "people counting is idle on it. Set its source in {config} ([vision] camera, or "
             "source in its [[vision.cameras]] table) to a device index (e.g. \"0\"), an "
             "RTSP/HTTP URL (e.g. \"rtsp://user:pass@10.0.0.5/stream1\") or a video file path, "
             "then restart.")
LOAD_ERRORS = (FileNotFoundError, ValueError, ImportError)


class NothingToCount(Exception):
    """Why the service idles: `status` for systemd and, when known, `health` for the station DB."""

    def __init__(self, status: str, health: dict | None = None):
        super().__init__(status)
        self.status = status
        self.health = health


def run(config_path, camera: str = "main") -> int:
    """The whole service for one camera: 0 once stopped, 1 when the station DB cannot be
    opened, 2 on a bad config or a camera id the config does not have."""
    stop = stop_on_signals()               # first, so an early SIGTERM is a clean stop too
    config = start_service("cx-vision", config_path)
    if config is None:
        return 2
    if not config.vision.enabled:
        log.info("vision is disabled in %s ([vision] enabled = false); idling", config.source)
        return _idle(stop, NothingToCount("vision disabled"))
    try:
        config.vision.camera(camera)
    except KeyError as exc:
        log.error("%s (in %s)", exc.args[0], config.source)
        return 2
    try:
        store = Store.open(config, synchronous="NORMAL")
    except StoreError as exc:
        log.error("%s", exc)
        return 1
    try:
        PeopleCounter.start(config, store, camera).run(stop)
    except NothingToCount as why:
        return _idle(stop, why, store, camera)
    finally:
        store.close()
    return 0


def _idle(stop: threading.Event, why: NothingToCount, store: Store | None = None,
          camera: str = "main") -> int:
    """Tell systemd (and health, when there is a reason to keep) why, then wait to be stopped."""
    if why.health is not None:
        store.put_health(health_component(camera), why.health)
    notify.ready(why.status)
    while not stop.is_set():
        notify.watchdog()
        # Not stop.wait(): SIGTERM's handler sets `stop` and deadlocks on the Event's own lock
        # when it runs while wait() holds it (1 stop in ~30).
        time.sleep(1.0)
    notify.stopping()
    return 0


class PeopleCounter:
    """The camera, the pipeline and its recorder, run as the service's loop.

        counter = PeopleCounter.start(config, store, "door")  # NothingToCount: no camera...
        counter.run(stop)                               # until stopped; closes the pipeline
    """

    def __init__(self, source: VideoSource, pipeline: Pipeline, recorder: EventRecorder,
                 preview: DebugPreview | None = None):
        self.source = source
        self.pipeline = pipeline
        self.recorder = recorder
        self.preview = preview
        self._last_health = 0.0

    @classmethod
    def start(cls, config, store: Store, camera_id: str = "main") -> PeopleCounter:
        vision = config.vision
        camera = vision.camera(camera_id)
        kind = camera.kind
        if kind == "none" or (kind == "file" and not Path(camera.source).is_file()):
            why = "camera is empty" if kind == "none" else f"video file {camera.source} not found"
            log.warning(NO_CAMERA.format(why=why, config=config.source, camera=camera.id))
            raise NothingToCount("no camera configured", {
                "status": "no camera configured", "camera": camera.source, "fps": 0.0,
                "last_frame": None})
        cv2.setNumThreads(vision.threads)
        detector = _person_detector(vision)
        faces = _face_analyzer(vision) if vision.faces else None
        lines, zones = scene_from_items(camera.lines, camera.zones, where=str(config.source))
        source = VideoSource(camera.source, loop=camera.loop, realtime=True,
                             fps_cap=camera.fps_cap, reconnect_max_s=camera.reconnect_max_s)
        rate = camera.fps_cap if kind != "file" else min(camera.fps_cap,
                                                         video_fps(camera.source))
        recorder = EventRecorder(store, camera=camera.id)
        tracker = Tracker.for_detector(detector, rate / vision.detect_every)
        pipeline = Pipeline(detector, tracker, lines, zones,
                            faces=faces, sink=recorder, detect_every=vision.detect_every)
        return cls(source, pipeline, recorder, DebugPreview() if camera.debug_preview else None)

    def run(self, stop: threading.Event) -> None:
        """Count until `stop` is set; NothingToCount once a video that does not loop has ended."""
        notify.ready(f"camera {self.source._safe_uri()}")
        log.info("counting on %s (%s)", self.source._safe_uri(), self.source.kind)
        try:
            while not stop.is_set() and not self.source.ended:
                self._step()
        finally:
            if not self.source.ended:      # an ended video idles on: it says so when stopped
                notify.stopping()
            self.pipeline.close(time.time())
            self.source.close()
        if self.source.ended:
            log.info("the video %s ended ([vision] loop = false); idling", self.source.uri)
            raise NothingToCount("video ended")

    def _step(self) -> None:
        frame = self.source.read(timeout_s=1.0)
        notify.watchdog()
        now = time.time()
        if frame is not None:
            people = self.pipeline.process(frame)
            if self.preview is not None:
                self.preview.show(frame.image, people)
        if now - self._last_health >= 1.0:
            self._last_health = now
            self.recorder.health(self.health())
        if frame is None:                  # the pipeline flushes per frame; a camera down does not
            self.recorder.maybe_flush(now)

    def health(self) -> dict:
        source, pipeline = self.source, self.pipeline
        return {"status": "ok" if source.is_open else "reconnecting",
                "camera": source._safe_uri(), "fps": round(source.fps, 2),
                "last_frame": source.last_frame_ts, "reopens": source.reopens,
                "skipped_frames": source.skipped, "open_visits": pipeline.open_visits,
                "stage_ms": {k: round(v, 2) for k, v in pipeline.stage_ms().items()},
                "pending_events": self.recorder.pending,
                # failed writes, for cx-watch's database-write-errors rule
                "write_errors": self.recorder.failures,
                "last_write_error": self.recorder.last_error}


def _person_detector(vision):
    try:
        return load_detector(vision.person_detector, vision.models_dir, vision.threads,
                             vision.detector_input)
    except LOAD_ERRORS as exc:
        log.error("cannot load the person detector %r: %s (check [vision] person_detector and "
                  "detector_input; run `cx-station models fetch` if weights are missing)",
                  vision.person_detector, exc)
        raise NothingToCount("no person detector", {
            "status": f"no person detector: {exc}", "fps": 0.0, "last_frame": None}) from exc


def _face_analyzer(vision):
    """The age/gender estimator, or None (counting goes on without demographics)."""
    try:
        return load_faces(vision.models_dir, vision.threads, vision.gender_min_confidence)
    except LOAD_ERRORS as exc:
        log.warning("age/gender estimation is off: %s (run `cx-station models fetch`)", exc)
        return None
