"""No frame, crop or embedding leaves memory: run the service and analyze on the real clip,
then scan every file they created (and every value in the station DB) for image data."""
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from vision_testlib import wait_for_health, write_config

ROOT = Path(__file__).resolve().parents[2]

MAGIC = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG", b"GIF8": "GIF",
         b"RIFF": "RIFF/AVI", b"\x93NUMPY": "numpy array", b"\x1aE\xdf\xa3": "Matroska/WebM",
         b"ftyp": "MP4", b"II*\x00": "TIFF", b"MM\x00*": "TIFF"}
MAX_DB_VALUE = 4096       # a visit or health row is a few hundred bytes of JSON


def image_markers(data: bytes) -> list[str]:
    return sorted({name for magic, name in MAGIC.items() if magic in data})


def test_service_and_analyze_write_no_image_data(pets_video, person_detector, scene_path,
                                                 tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(work), "HOME": str(work)}
    env.pop("NOTIFY_SOCKET", None)
    proc = subprocess.Popen([sys.executable, "-m", "vision", "run", "--config",
                             str(write_config(work, pets_video, fps_cap=10, kiosk_zone="kiosk"))], cwd=work, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_health(work / "station.db", lambda h: h.get("fps", 0) > 0 and
                        h.get("open_visits", 0) > 0)
        time.sleep(2)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        log, _ = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, log
    analyze = subprocess.run([sys.executable, "-m", "vision", "analyze", str(pets_video),
                              "--scene", str(scene_path), "--max-frames", "80", "--json",
                              "--mot-out", str(work / "tracks.txt")],
                             cwd=work, env=env, capture_output=True, timeout=300)
    assert analyze.returncode == 0, analyze.stderr

    # The processes ran with cwd, HOME and TMPDIR in `work`, so whatever they wrote is here.
    created = [p for p in work.rglob("*") if p.is_file()]
    assert any(p.name == "station.db" for p in created)
    for path in created:
        if path.name.startswith("station.db"):
            # Raw SQLite pages may hold any 3 bytes by chance: the DB is checked value by value
            # below; here only its size (frames would be hundreds of KB each).
            assert path.stat().st_size < 2_000_000, f"{path} is suspiciously large"
            continue
        assert image_markers(path.read_bytes()) == [], f"{path} holds image data"
    assert image_markers(log.encode() + analyze.stdout + analyze.stderr) == []

    db = sqlite3.connect(work / "station.db")
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    rows = 0
    for table in tables:
        for row in db.execute(f'SELECT * FROM "{table}"'):
            rows += 1
            for value in row:
                if isinstance(value, (bytes, str)):
                    raw = value if isinstance(value, bytes) else value.encode()
                    assert not isinstance(value, bytes), f"binary blob in {table}"
                    assert len(raw) <= MAX_DB_VALUE, f"{len(raw)}-byte value in {table}"
                    assert image_markers(raw) == []
    assert db.execute("SELECT count(*) FROM visits").fetchone()[0] > 0   # it really ran
    assert rows > 0


def test_the_scanner_recognises_encoded_frames():
    import cv2
    import numpy as np
    frame = np.zeros((32, 32, 3), np.uint8)
    for ext, name in ((".jpg", "JPEG"), (".png", "PNG")):
        ok, data = cv2.imencode(ext, frame)
        assert ok and name in image_markers(b"log line " + data.tobytes())
