"""Frame sources with real cv2 on real (generated) MJPG files: ends, loops, reconnects, pacing."""
import time

import cv2
import numpy as np
import pytest

from station.config import camera_kind
from vision.camera import VideoSource


def write_video(path, frames=10, fps=20.0, size=(64, 48)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), (i * 23) % 256, np.uint8))
    writer.release()
    return path


def drain(source, limit=1000, timeout_s=0.5):
    frames = []
    while len(frames) < limit:
        frame = source.read(timeout_s=timeout_s)
        if frame is None:
            break
        frames.append(frame)
    return frames


def test_camera_kind_follows_the_config_rule():
    assert camera_kind("") == "none"
    assert camera_kind("0") == "device"
    assert camera_kind("rtsp://user:pw@10.0.0.5/s1") == "url"
    assert camera_kind("/videos/a.avi") == "file"


def test_no_camera_is_a_clear_error():
    with pytest.raises(ValueError, match="device index"):
        VideoSource("")


def test_a_file_that_ends_gives_every_frame_once_then_ends(tmp_path):
    source = VideoSource(str(write_video(tmp_path / "a.avi", frames=12)), realtime=False)
    frames = drain(source)
    assert [f.index for f in frames] == list(range(12))
    assert frames[5].ts == pytest.approx(5 / 20.0)
    assert source.ended and source.read(timeout_s=0.1) is None


def test_a_looping_file_restarts_at_once_with_time_still_rising(tmp_path):
    source = VideoSource(str(write_video(tmp_path / "a.avi", frames=10)), loop=True,
                         realtime=False)
    frames = drain(source, limit=25)
    assert len(frames) == 25 and source.reopens == 2 and not source.ended
    ts = [f.ts for f in frames]
    assert all(b > a for a, b in zip(ts, ts[1:]))
    # Pixel value tells which file frame it was: the 11th returned is the first again.
    assert frames[10].image[0, 0, 0] == frames[0].image[0, 0, 0]


def test_a_live_source_that_stops_is_reopened_after_a_backoff(tmp_path):
    video = write_video(tmp_path / "cam.avi", frames=8)
    source = VideoSource(f"file://{video}", realtime=False, reconnect_min_s=0.2,
                         reconnect_max_s=1.0)
    assert source.live
    first = drain(source, limit=8)
    assert len(first) == 8
    started = time.monotonic()
    assert source.read(timeout_s=0.05) is None            # stream stopped: waiting to retry
    assert not source.is_open
    frame = source.read(timeout_s=2.0)
    assert frame is not None and source.reopens == 1
    assert time.monotonic() - started >= 0.15             # it did wait out the backoff


def test_a_source_that_fails_to_open_backs_off_exponentially_up_to_the_cap(tmp_path):
    missing = tmp_path / "later.avi"
    source = VideoSource(f"file://{missing}", reconnect_min_s=0.05, reconnect_max_s=0.2,
                         realtime=False)
    attempts = []
    deadline = time.monotonic() + 1.2
    while time.monotonic() < deadline:
        before = source.open_failures
        assert source.read(timeout_s=0.05) is None
        if source.open_failures > before:
            attempts.append(time.monotonic())
    gaps = np.diff(attempts)
    assert len(attempts) >= 4
    assert gaps[0] < 0.12 and gaps[-1] == pytest.approx(0.2, abs=0.08)   # doubled, then capped
    write_video(missing, frames=3)                                       # the camera comes back
    frames = drain(source, limit=3, timeout_s=1.0)
    assert len(frames) == 3


def test_a_paced_file_skips_frames_when_processing_is_slow(tmp_path):
    source = VideoSource(str(write_video(tmp_path / "a.avi", frames=60, fps=30.0)),
                         realtime=True)
    frames = []
    started = time.time()
    for _ in range(6):
        frames.append(source.read(timeout_s=1.0))
        time.sleep(0.1)                                  # "processing" at 10 fps on a 30 fps file
    assert source.skipped >= 8                           # ~2 of every 3 file frames dropped
    assert frames[-1].ts - started < 0.8                 # released on time, no backlog


def test_the_fps_cap_drops_frames_of_a_faster_file(tmp_path):
    source = VideoSource(str(write_video(tmp_path / "a.avi", frames=40, fps=40.0)),
                         realtime=True, fps_cap=10)
    started = time.time()
    frames = [source.read(timeout_s=1.0) for _ in range(5)]
    gaps = np.diff([f.ts for f in frames])
    assert gaps.min() > 0.07                             # ~0.1 s apart, not 0.025
    assert time.time() - started < 0.8
    assert source.skipped >= 10
