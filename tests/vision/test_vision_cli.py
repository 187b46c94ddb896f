"""`cx-vision` as a real process: analyze's JSON and MOT output, bad input, the idle service."""
import json
import signal
import socket
import time

import cv2
import numpy as np
import pytest

from vision_testlib import cx_vision, start_service, wait_for_health, write_config


def test_analyze_prints_counts_as_json_and_writes_mot(pets_video, person_detector, scene_path,
                                                      tmp_path):
    mot = tmp_path / "tracks.txt"
    result = cx_vision("analyze", pets_video, "--scene", scene_path, "--json",
                       "--max-frames", 60, "--mot-out", mot)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["frames"] == 60 and report["fps"] > 0 and report["tracks"] > 0
    assert set(report["lines"]) == {"walkway_vertical_x240", "lawn_edge_horizontal_y220"}
    for counts in report["lines"].values():
        assert set(counts) == {"in", "out"} and all(isinstance(v, int) for v in counts.values())
    zone = report["zones"]["centre_walkway_rect"]
    assert zone["dwell_s"] > 0 and zone["visits"] >= 1
    rows = [line.split(",") for line in mot.read_text().splitlines()]
    assert rows and all(len(r) == 10 and 1 <= int(r[0]) <= 60 and int(r[1]) > 0 for r in rows)


def test_analyze_input_size_reaches_the_detector_and_bad_sizes_are_refused(pets_video, person_detector,
                                                                            scene_path):
    result = cx_vision("analyze", pets_video, "--scene", scene_path, "--json", "--max-frames", 10,
                       "--input-size", "352x256")
    assert result.returncode == 0, result.stderr
    result = cx_vision("analyze", pets_video, "--scene", scene_path, "--max-frames", 10,
                       "--input-size", "350x256")
    assert result.returncode == 2 and "multiples of 32" in result.stderr
    result = cx_vision("analyze", pets_video, "--scene", scene_path, "--input-size", "big")
    assert result.returncode == 2 and "WIDTHxHEIGHT" in result.stderr


def test_analyze_rejects_a_missing_video_and_a_bad_scene(tmp_path, scene_path):
    result = cx_vision("analyze", tmp_path / "nope.avi", "--scene", scene_path)
    assert result.returncode == 2 and "does not exist" in result.stderr
    video = tmp_path / "v.avi"
    video.write_bytes(b"x")
    bad = tmp_path / "scene.json"
    bad.write_text('{"lines": [{"name": "a", "a": [0, 0], "b": [0, 0]}]}')
    result = cx_vision("analyze", video, "--scene", bad)
    assert result.returncode == 2 and "lines[0]" in result.stderr and "same point" in result.stderr


@pytest.mark.parametrize("camera", ["", "missing.avi"])
def test_run_without_a_camera_says_so_once_and_idles_until_stopped(tmp_path, camera):
    config = write_config(tmp_path, camera)
    proc = start_service(config, tmp_path)
    try:
        health = wait_for_health(tmp_path / "station.db")
        assert health["last_frame"] is None
        time.sleep(2.0)
        assert proc.poll() is None, proc.stdout.read()           # still up, not crash-looping
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0
    messages = [line for line in out.splitlines() if "no camera" in line]
    assert len(messages) == 1, out
    assert "[vision] camera" in messages[0] and "RTSP" in messages[0]


def short_video(path, frames=10):
    """A few empty frames: a video file that ends almost at once."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (320, 240))
    for _ in range(frames):
        writer.write(np.zeros((240, 320, 3), np.uint8))
    writer.release()
    return path


def told_systemd(sock) -> str:
    """The next sd_notify message that is not a watchdog ping."""
    while (message := sock.recv(4096).decode()) == "WATCHDOG=1":
        pass
    return message


@pytest.mark.parametrize("camera, settings, status", [
    ("", {"enabled": False}, "vision disabled"),
    ("", {}, "no camera configured"),
    ("short.avi", {"person_detector": "nosuch"}, "no person detector"),
    ("short.avi", {"faces": False}, "video ended"),
])
def test_with_nothing_to_count_it_tells_systemd_why_idles_and_stops_cleanly(
        tmp_path, person_detector, camera, settings, status):
    if camera:
        camera = short_video(tmp_path / camera)
    config = write_config(tmp_path, camera, **settings)
    address = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(address))
        sock.settimeout(90)
        proc = start_service(config, tmp_path, notify_socket=address)
        try:
            if status == "video ended":
                assert told_systemd(sock) == f"READY=1\nSTATUS=camera {camera}"
            assert told_systemd(sock) == f"READY=1\nSTATUS={status}"
            time.sleep(1.0)
            assert proc.poll() is None, proc.stdout.read()     # idling, not crash-looping
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=20)
            assert told_systemd(sock) == "STOPPING=1"
        finally:
            proc.kill()
    assert proc.returncode == 0, out
    if status == "no person detector":
        health = wait_for_health(tmp_path / "station.db")
        assert health["status"].startswith("no person detector: unknown person detector 'nosuch'")
