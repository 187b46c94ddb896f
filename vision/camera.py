"""Frame sources: a video file, a camera device index, or an RTSP/HTTP URL, behind one interface.

    camera = open_camera("rtsp://10.0.0.5/stream1", fps_cap=10, reconnect_max_s=30)
    while running:
        frame = camera.read(timeout_s=1.0)     # a Frame, or None when nothing is ready now
        if frame is not None:
            process(frame.image, frame.ts)
    print(camera.fps, camera.last_frame_ts, camera.reopens)

``read`` never blocks longer than about ``timeout_s``, so the service loop can pet the systemd
watchdog while a camera is down. When a live source (device, URL) stops giving frames or cannot
be opened, it is released and reopened with exponential backoff, capped at ``reconnect_max_s``.
A file either loops (demo) or ends (``ended``).

Pacing: with ``realtime=True`` (a file used as a live camera) frames are released at the file's
own rate, and when processing falls behind, the frames already due are skipped with ``grab()``
(no decoding) so the pipeline never lags real time. With ``realtime=False`` (``analyze``) every
frame is returned as fast as possible and ``ts`` is the video time. ``fps_cap`` drops frames
that come faster than the cap, for both live sources and paced files.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from station.config import camera_kind

log = logging.getLogger(__name__)


@dataclass
class Frame:
    image: np.ndarray          # BGR, lives only in memory
    ts: float                  # UTC epoch seconds (live) or seconds into the video (analyze)
    index: int                 # frames returned so far, from 0


class FrameSource(Protocol):
    fps: float
    last_frame_ts: float | None
    ended: bool

    def read(self, timeout_s: float = 1.0) -> Frame | None: ...
    def close(self) -> None: ...


class VideoSource:
    """cv2.VideoCapture with reconnect, pacing and a frame-rate cap (see module docstring)."""

    def __init__(self, uri: str, *, loop: bool = False, realtime: bool = True,
                 fps_cap: float | None = None, reconnect_min_s: float = 0.5,
                 reconnect_max_s: float = 30.0, clock=time.time):
        self.uri = uri
        self.kind = camera_kind(uri)
        if self.kind == "none":
            raise ValueError("no camera configured: set [vision] camera to a device index "
                             "('0'), an rtsp:// or http:// URL, or a video file path")
        self.loop = loop
        self.realtime = realtime
        self.fps_cap = fps_cap
        self.reconnect_min_s = min(reconnect_min_s, reconnect_max_s)
        self.reconnect_max_s = reconnect_max_s
        self._clock = clock
        self.live = self.kind in ("device", "url")
        self.ended = False
        self.reopens = 0            # successful opens after the first
        self.open_failures = 0
        self.skipped = 0            # frames dropped to keep up or to respect fps_cap
        self.fps = 0.0              # measured rate of frames returned
        self.last_frame_ts: float | None = None
        self.source_fps = 0.0
        self._cap: cv2.VideoCapture | None = None
        self._opened_once = False
        self._delay = self.reconnect_min_s
        self._next_try = 0.0
        self._index = 0
        self._pos = 0               # frames consumed from the current open file
        self._t0 = 0.0              # wall time of file frame 0 (paced files)
        self._video_offset = 0.0    # video time of earlier loops (analyze ts)
        self._last_return = -1e18

    # -- public ---------------------------------------------------------------------------
    def read(self, timeout_s: float = 1.0) -> Frame | None:
        deadline = time.monotonic() + timeout_s
        while not self.ended:
            if self._cap is None and not self._try_open(deadline):
                return None
            frame = self._next_frame(deadline)
            if frame is not None:
                return frame
            if time.monotonic() >= deadline:
                return None
        return None

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    @property
    def is_open(self) -> bool:
        return self._cap is not None

    # -- opening --------------------------------------------------------------------------
    def _try_open(self, deadline: float) -> bool:
        now = time.monotonic()
        if now < self._next_try:
            time.sleep(max(0.0, min(self._next_try, deadline) - now))
            if time.monotonic() < self._next_try:
                return False
        source = int(self.uri) if self.kind == "device" else self.uri
        cap = cv2.VideoCapture(source)
        if self.kind == "device":
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)    # we want the newest frame, not a backlog
        if not cap.isOpened():
            cap.release()
            self.open_failures += 1
            self._backoff(f"cannot open camera {self._safe_uri()}")
            return False
        self._cap = cap
        if self._opened_once:
            self.reopens += 1
            log.info("camera %s reopened", self._safe_uri())
        self._opened_once = True
        self.source_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if not 1.0 <= self.source_fps <= 240.0:
            self.source_fps = 25.0
        self._pos = 0
        self._t0 = self._clock()
        return True

    def _backoff(self, why: str) -> None:
        log.warning("%s; retrying in %.1f s", why, self._delay)
        self._next_try = time.monotonic() + self._delay
        self._delay = min(self._delay * 2, self.reconnect_max_s)

    def _lost(self, why: str) -> None:
        self.close()
        if self.kind == "file" and self.loop:
            self._video_offset += self._pos / (self.source_fps or 25.0)
            self._next_try = 0.0                    # a looping file restarts at once
            return
        if self.kind == "file":
            self.ended = True
            log.info("video %s ended", self.uri)
            return
        self._backoff(why)

    # -- reading --------------------------------------------------------------------------
    def _next_frame(self, deadline: float) -> Frame | None:
        paced_file = self.kind == "file" and self.realtime
        while True:
            if paced_file and not self._pace(self._cap, deadline):
                return None
            ok, image = self._cap.read()
            if not ok or image is None:
                self._lost(f"camera {self._safe_uri()} stopped giving frames")
                return None
            self._pos += 1
            self._delay = self.reconnect_min_s         # healthy again: reset the backoff
            now = self._clock()
            if paced_file or not self._too_soon(now):
                break
            self.skipped += 1                          # a live camera faster than the cap
            if time.monotonic() >= deadline:
                return None
        ts = now if self.realtime else self._video_offset + (self._pos - 1) / self.source_fps
        return self._emit(image, ts, now)

    def _too_soon(self, now: float) -> bool:
        return bool(self.fps_cap and self.realtime and
                    now - self._last_return < 0.95 / self.fps_cap)

    def _pace(self, cap, deadline: float) -> bool:
        """Wait until the next file frame is due; skip (grab, no decode) frames we can't use."""
        fps = self.source_fps
        target = self._pos                              # index of the frame to return next
        if self.fps_cap and self.fps_cap < fps and self._last_return > -1e17:
            earliest = self._last_return + 1.0 / self.fps_cap - self._t0
            target = max(target, round(earliest * fps))
        due = (self._clock() - self._t0) * fps
        if due < target:
            wait = (target - due) / fps
            left = deadline - time.monotonic()
            time.sleep(max(min(wait, left), 0.0))
            if wait > left:
                return False
        target = max(target, int((self._clock() - self._t0) * fps))   # overdue: skip to now
        while self._pos < target:
            if not cap.grab():
                self._lost("end of video")
                return False
            self._pos += 1
            self.skipped += 1
        return True

    def _emit(self, image: np.ndarray, ts: float, now: float) -> Frame:
        if self._last_return > -1e17:
            dt = max(now - self._last_return, 1e-6)
            self.fps = 1.0 / dt if self.fps == 0 else 0.9 * self.fps + 0.1 / dt
        self._last_return = now
        self.last_frame_ts = now if self.realtime else ts
        frame = Frame(image, ts, self._index)
        self._index += 1
        return frame

    def _safe_uri(self) -> str:
        """The URI without credentials, for logs and health."""
        if self.kind == "url" and "@" in self.uri:
            scheme, rest = self.uri.split("://", 1)
            return f"{scheme}://***@{rest.split('@', 1)[1]}"
        return self.uri


def open_camera(uri: str, *, loop: bool = False, realtime: bool = True,
                fps_cap: float | None = None, reconnect_max_s: float = 30.0) -> VideoSource:
    return VideoSource(uri, loop=loop, realtime=realtime, fps_cap=fps_cap,
                       reconnect_max_s=reconnect_max_s)
