"""Helpers shared by the vision tests that run `cx-vision` as a real process.

    config = write_config(tmp_path, video, fps_cap=10)     # a station TOML with one line and zone
    proc = start_service(config, tmp_path)
    health = wait_for_health(tmp_path / "station.db", lambda h: h.get("fps", 0) > 0)
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cx_vision(*args, **kw):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "vision", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, **kw)


def start_service(config, tmp_path, notify_socket=None, camera=None):
    """`cx-vision run` as a process (on `camera`, default the config's "main"); its sd_notify
    messages go to `notify_socket` if given."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    env.pop("NOTIFY_SOCKET", None)
    if notify_socket is not None:
        env["NOTIFY_SOCKET"] = str(notify_socket)
    pick = ["--camera", camera] if camera else []
    return subprocess.Popen([sys.executable, "-m", "vision", "run", "--config", str(config),
                             *pick], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def wait_for_health(db_path, ok=lambda health: True, timeout_s=90.0, camera="main"):
    """A camera's latest health snapshot once `ok` accepts it (start-up is slow under load)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if db_path.exists():
            try:
                row = sqlite3.connect(db_path).execute(
                    "SELECT data FROM health WHERE component = ?",
                    (f"vision:{camera}",)).fetchone()
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
