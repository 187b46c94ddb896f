"""Two cameras, two real `cx-vision run --camera ID` processes, one station DB: the PETS S2.L1
clip as the entrance camera and PETS S3-MF1 as the kiosk camera. Entries come only from the
entrance camera's entrance line, every event says which camera saw it, health is per camera,
and the kiosk zone is the kiosk camera's."""
import json
import signal
import sqlite3
import time

import pytest

from station.config import load_config
from station.store import Store
from vision_testlib import ROOT, start_service, wait_for_health

S3MF1 = ROOT.parent / "shared" / "data" / "pets2009-s3mf1" / "s3mf1.avi"


def two_camera_config(tmp_path, entrance_video, kiosk_video):
    path = tmp_path / "station.toml"
    path.write_text(f"""
[station]
org = "t"
store = "s"
id = "k"
[database]
path = "station.db"
[vision]
models_dir = {json.dumps(str(ROOT / "models"))}
faces = false

[[vision.cameras]]
id = "door-cam"
source = {json.dumps(str(entrance_video))}
fps_cap = 10
[[vision.cameras.lines]]
name = "walkway"                 # S2.L1's walkway: the store's entrance
a = [240, 100]
b = [240, 300]
[[vision.cameras.lines]]
name = "lawn_edge"               # an inner line on the same camera: counted, not footfall
a = [160, 220]
b = [420, 220]
entrance = false

[[vision.cameras]]
id = "kiosk-cam"
source = {json.dumps(str(kiosk_video))}
fps_cap = 7
kiosk_zone = "kiosk"
[[vision.cameras.lines]]
name = "path_x560"               # the kiosk camera sees the same shoppers again: not entries
a = [560, 150]
b = [560, 520]
entrance = false
[[vision.cameras.zones]]
name = "kiosk"
polygon = [[400, 180], [700, 180], [700, 440], [400, 440]]
""")
    return path


def rows(db_path, sql, args=()):
    with sqlite3.connect(db_path) as db:
        return db.execute(sql, args).fetchall()


def test_two_cameras_count_entries_only_on_the_entrance_line_with_health_per_camera(
        tmp_path, pets_video, person_detector):
    if not S3MF1.exists():
        pytest.skip(f"PETS 2009 S3-MF1 clip not present at {S3MF1}")
    config_path = two_camera_config(tmp_path, pets_video, S3MF1)
    db_path = tmp_path / "station.db"
    # the schema first, so the two processes do not both migrate a new file
    Store.open(load_config(config_path)).close()
    door = start_service(config_path, tmp_path, camera="door-cam")
    kiosk = start_service(config_path, tmp_path, camera="kiosk-cam")
    try:
        for camera in ("door-cam", "kiosk-cam"):
            health = wait_for_health(db_path, lambda h: h.get("fps", 0) > 0, timeout_s=180,
                                     camera=camera)
            assert health["status"] == "ok" and str(health["camera"]).endswith(
                "vtest.avi" if camera == "door-cam" else "s3mf1.avi")
        # S3-MF1 lasts 15 s: its seven walkers cross x560; S2.L1 has crossings from 2.5 s on
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            seen = dict(rows(db_path, "SELECT camera, count(*) FROM crossings GROUP BY camera"))
            if seen.get("kiosk-cam", 0) >= 3 and seen.get("door-cam", 0) >= 4 and \
                    rows(db_path, "SELECT count(*) FROM crossings WHERE line = 'walkway' "
                                  "AND direction = 'in'")[0][0] >= 1:
                break
            assert door.poll() is None and kiosk.poll() is None
            time.sleep(0.5)
        else:
            pytest.fail(f"too few crossings in time: {seen}")
    finally:
        for proc in (door, kiosk):
            proc.send_signal(signal.SIGTERM)
        outs = [proc.communicate(timeout=30)[0] for proc in (door, kiosk)]
    assert door.returncode == 0 and kiosk.returncode == 0, outs

    # every crossing and visit says which camera saw it, and its lines are that camera's own
    by_camera = {}
    for camera, line in rows(db_path, "SELECT DISTINCT camera, line FROM crossings"):
        by_camera.setdefault(camera, set()).add(line)
    assert by_camera["door-cam"] <= {"walkway", "lawn_edge"}
    assert by_camera["kiosk-cam"] == {"path_x560"}
    cameras_of_visits = {c for (c,) in rows(db_path, "SELECT DISTINCT camera FROM visits")}
    assert cameras_of_visits <= {"door-cam", "kiosk-cam"} and "kiosk-cam" in cameras_of_visits

    # entries: the entrance line's 'in' only; the kiosk camera's crossings are not visitors
    config = load_config(config_path)
    store = Store.open(config)
    try:
        walkway_in = rows(db_path, "SELECT count(*) FROM crossings WHERE line = 'walkway' AND "
                                   "direction = 'in'")[0][0]
        assert walkway_in >= 1
        assert store.entries(0, time.time() + 60) == {
            "entries": walkway_in,
            "exits": rows(db_path, "SELECT count(*) FROM crossings WHERE line = 'walkway' "
                                   "AND direction = 'out'")[0][0]}
        # one health row per camera, none under the old single name
        health = store.camera_health()
        assert set(health) == {"door-cam", "kiosk-cam"}
        assert {c for c in store.health() if c.startswith("vision")} == \
            {"vision:door-cam", "vision:kiosk-cam"}
        # the kiosk zone is watched by the kiosk camera: presence comes from its visits
        kiosk_visits = {v for (v,) in rows(db_path, "SELECT visit_id FROM presence "
                                                    "WHERE zone = 'kiosk'")}
        assert kiosk_visits and kiosk_visits <= {v for (v,) in rows(
            db_path, "SELECT id FROM visits WHERE camera = 'kiosk-cam'")}
        assert store.kiosk_camera == "kiosk-cam"
        # HQ is told which camera each minute of traffic came from, and whether it is footfall
        store.roll_up_traffic(time.time() + 120)
        traffic = [json.loads(e.payload)["data"] for e in store.pending_outbox(limit=10_000)
                   if e.type == "traffic"]
        assert {(t["line"], t["camera"], t["entrance"]) for t in traffic} <= {
            ("walkway", "door-cam", True), ("lawn_edge", "door-cam", False),
            ("path_x560", "kiosk-cam", False)}
        assert sum(t["in"] for t in traffic if t["entrance"]) == walkway_in
    finally:
        store.close()


def test_an_unknown_camera_id_is_refused_naming_the_cameras(tmp_path):
    config_path = two_camera_config(tmp_path, tmp_path / "a.avi", tmp_path / "b.avi")
    proc = start_service(config_path, tmp_path, camera="back-door")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "no camera 'back-door'" in out and "'door-cam', 'kiosk-cam'" in out
