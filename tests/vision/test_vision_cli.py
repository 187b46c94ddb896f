"""`cx-vision` as a real process: analyze's JSON and MOT output, bad input, the idle service."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cx_vision(*args, **kw):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "vision", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, **kw)


def start_service(config, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    env.pop("NOTIFY_SOCKET", None)
    return subprocess.Popen([sys.executable, "-m", "vision", "run", "--config", str(config)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def wait_for_health(db_path, ok=lambda health: True, timeout_s=90.0):
    """The service's latest health snapshot once `ok` accepts it (start-up is slow under load)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if db_path.exists():
            try:
                row = sqlite3.connect(db_path).execute(
                    "SELECT data FROM health WHERE component='vision'").fetchone()
            except sqlite3.OperationalError:
                row = None
            if row and ok(json.loads(row[0])):
                return json.loads(row[0])
        time.sleep(0.2)
    raise AssertionError("the service wrote no matching health row in time")


def write_config(tmp_path, camera, **vision):
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in vision.items())
    path = tmp_path / "station.toml"
    path.write_text(f"""
[station]
org = "t"
store = "s"
id = "k"
[database]
path = "station.db"
[vision]
camera = {json.dumps(str(camera))}
models_dir = {json.dumps(str(ROOT / "models"))}
{extra}
[[vision.lines]]
name = "walkway"
a = [240, 100]
b = [240, 300]
[[vision.zones]]
name = "kiosk"
polygon = [[160, 130], [320, 130], [320, 210], [160, 210]]
""")
    return path


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
