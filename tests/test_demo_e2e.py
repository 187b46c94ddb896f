"""End to end: the whole demo station, a survey tapped on the real kiosk widgets, and HQ.

`cx-station run` starts mosquitto, cx-hq, cx-sync and cx-vision (on the sample clip) as real
processes from a copy of config/demo.toml; the kiosk runs in this process so the test can tap
it. The response, its link to the visitor standing in the kiosk zone and the camera's traffic
counts must arrive in the HQ database through mosquitto.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import requests

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402

from station.config import load_config  # noqa: E402
from station.store import Store  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT.parent / "shared" / "data" / "pets2009-s2l1" / "vtest.avi"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CLIP.exists(), reason=f"sample clip not found at {CLIP}"),
    pytest.mark.skipif(not (ROOT / "models" / "manifest.toml").exists(), reason="no models"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_config(tmp_path: Path) -> Path:
    """config/demo.toml with every writable path in tmp, a free port, the kiosk left to us."""
    text = (ROOT / "config" / "demo.toml").read_text()
    port = free_port()
    text = re.sub(r'(?m)^path = "[^"]*"', f'path = "{tmp_path / "station.db"}"', text)
    text = re.sub(r'(?m)^data_dir = "[^"]*"', f'data_dir = "{tmp_path / "mosquitto"}"', text)
    text = re.sub(r'(?m)^camera = "[^"]*"', f'camera = "{CLIP}"', text)
    text = re.sub(r'(?m)^models_dir = "[^"]*"', f'models_dir = "{ROOT / "models"}"', text)
    text = re.sub(r'(?m)^(broker_)?port = \d+', lambda m: f"{m.group(1) or ''}port = {port}", text)
    text = text.replace("[kiosk]\n", "[kiosk]\nenabled = false\ndebounce_ms = 100\n", 1)
    text = text.replace('config = "demo-hq.toml"', f'config = "{tmp_path / "hq.toml"}"')
    text = re.sub(r'(?m)^logo = "([^"/]+)"',
                  lambda m: f'logo = "{ROOT / "config" / m.group(1)}"', text)
    path = tmp_path / "station.toml"
    path.write_text(text)
    hq = (ROOT / "config" / "demo-hq.toml").read_text()
    hq = re.sub(r'(?m)^path = "[^"]*hq.db"', f'path = "{tmp_path / "hq.db"}"', hq)
    hq = re.sub(r'(?m)^path = "[^"]*.html"', f'path = "{tmp_path / "hq.html"}"', hq)
    hq = re.sub(r'(?m)^broker_port = \d+', f"broker_port = {port}", hq)
    hq = re.sub(r'(?m)^port = \d+', f"port = {free_port()}", hq)
    hq = re.sub(r'(?m)^demo_login_file = "[^"]*"',
                f'demo_login_file = "{tmp_path / "web-login.toml"}"', hq)
    (tmp_path / "hq.toml").write_text(hq)
    return path


def wait_for(what: str, check, timeout_s: float, proc=None, interval_s: float = 0.5):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"cx-station run exited ({proc.returncode}) while waiting for {what}")
        time.sleep(interval_s)
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")


def hq_rows(path: Path, sql: str, args=()):
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return db.execute(sql, args).fetchall()
    except sqlite3.OperationalError:
        return []          # tables not created yet
    finally:
        db.close()


def tap(qtbot, widget):
    qtbot.mouseClick(widget, Qt.LeftButton)
    qtbot.wait(150)


def test_demo_station_delivers_a_tapped_survey_and_traffic_to_hq(qtbot, tmp_path):
    config_path = demo_config(tmp_path)
    config = load_config(config_path)
    log = open(tmp_path / "run.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "station.cli", "run", "--config",
                             str(config_path), "--for", "600"], stdout=log,
                            stderr=subprocess.STDOUT, cwd=tmp_path)
    store = None
    try:
        store = wait_for("the station database", lambda: _try_open(config), 30, proc)
        wait_for("camera frames from cx-vision",
                 lambda: (store.camera_health().get("main", {}).get("last_frame") or 0) > time.time() - 5,
                 120, proc)
        wait_for("someone standing in the kiosk zone", lambda: store.db.execute(
            "SELECT count(*) FROM presence WHERE zone = 'kiosk' AND until > ?",
            (time.time() - 3,)).fetchone()[0], 90, proc)

        from kiosk.service import build
        window, writer = build(config)
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        qtbot.waitExposed(window)
        s = window.screens
        tap(qtbot, s["attract"])
        tap(qtbot, s["score"].scale.buttons[9])
        tap(qtbot, s["followup"].chips.chips["staff"])
        tap(qtbot, s["followup"].next)
        tap(qtbot, s["csat"].scale.buttons[5])
        tap(qtbot, s["ces"].scale.buttons[6])
        tap(qtbot, s["first_visit"].no)              # the demo asks it (returning share)
        assert window.current == "thanks"
        writer.close()

        (response,) = store.db.execute(
            "SELECT id, nps, presence, visit_id FROM responses").fetchall()
        response_id, nps, presence, visit_id = response
        assert (nps, presence) == (9, "linked") and visit_id

        hq = tmp_path / "hq.db"
        delivered = wait_for("the response in the HQ database", lambda: hq_rows(
            hq, "SELECT station, data FROM events WHERE type = 'response'"), 90, proc)
        (station, data), = delivered
        data = json.loads(data)
        assert station == config.station.path
        assert (data["response_id"], data["nps"], data["presence"], data["visit_id"],
                data["csat"], data["ces"], data["reasons"]) == \
            (response_id, 9, "linked", visit_id, 5, 6, ["staff"])

        # Goals and alerts reach HQ too: the config's targets, and a detractor's alert.
        hq_targets = wait_for("the configured targets in the HQ database", lambda: {
            json.loads(d)["kpi"] for (d,) in hq_rows(
                hq, "SELECT data FROM events WHERE type = 'target'")} or None, 60, proc)
        assert hq_targets == {t.kpi for t in config.targets.targets()}
        window.thanks_timer.timeout.emit()
        window.cooldown_until = 0.0               # the next shopper, without the wait
        tap(qtbot, s["attract"])
        tap(qtbot, s["score"].scale.buttons[2])
        tap(qtbot, s["followup"].next)
        tap(qtbot, s["csat"].skip)
        tap(qtbot, s["ces"].skip)
        tap(qtbot, s["first_visit"].skip)
        writer.close()
        (alert,) = wait_for("the detractor's alert in the HQ database", lambda: [
            json.loads(d) for (d,) in hq_rows(hq, "SELECT data FROM events WHERE type = 'alert'")
        ], 60, proc)
        assert (alert["kind"], alert["state"], alert["context"]["score"]) == \
            ("detractor", "open", 2)
        assert "checked_at" in wait_for("cx-watch's health row",
                                        lambda: store.health().get("watch"), 30, proc)

        # The README's push: HQ's settings reach the running station and its kiosk.
        pushed = subprocess.run(
            [sys.executable, "-m", "hq", "push", "--config", str(tmp_path / "hq.toml"), "--all",
             "--file", str(ROOT / "config" / "demo-push.toml"), "--who", "demo"],
            capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert pushed.returncode == 0, pushed.stderr
        started = time.monotonic()
        wait_for("the station to apply HQ's settings", store.applied_settings, 5, proc, 0.05)
        assert time.monotonic() - started < 5
        qtbot.waitUntil(lambda: "parking" in {
            r.id for r in s["followup"].reasons.detractor}, timeout=5000)
        assert s["thanks"].review_url == "https://example.com/review/demo-from-hq"

        # Traffic travels as per-minute roll-ups: wait for a closed minute with crossings.
        traffic = wait_for("camera traffic counts in the HQ database", lambda: [
            json.loads(d) for (d,) in hq_rows(hq, "SELECT data FROM events WHERE type = 'traffic'")
            if json.loads(d)["in"] + json.loads(d)["out"] > 0], 150, proc)
        local = store.db.execute("SELECT sum(entries + exits) FROM traffic").fetchone()[0]
        assert sum(t["in"] + t["out"] for t in traffic) <= local
        assert {t["line"] for t in traffic} <= {line.name for line in config.vision.lines}
        seqs = [s for (s,) in hq_rows(hq, "SELECT seq FROM events ORDER BY seq")]
        assert seqs == list(range(1, len(seqs) + 1)), "HQ holds a contiguous run of seqs"

        # the demo's dashboard: its login made at the first start, and the station on it
        login = tmp_path / "web-login.toml"
        wait_for("the dashboard's demo login", login.exists, 60, proc)
        password = tomllib.loads(login.read_text())["password"]
        hq_toml = tomllib.loads((tmp_path / "hq.toml").read_text())
        base = f"http://127.0.0.1:{hq_toml['web']['port']}"
        http = requests.Session()
        token = wait_for("the dashboard", lambda: _csrf(http, base + "/login"), 60, proc)
        r = http.post(base + "/login", data={"csrf": token, "username": "demo",
                                             "password": password})
        assert r.status_code == 200 and config.station.store in r.text, r.text[:500]
    finally:
        if store is not None:
            store.close()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    output = (tmp_path / "run.log").read_text()
    assert proc.returncode == 0, output[-3000:]
    assert "CX report" in output and "NPS" in output
    assert "HQ report:" in output and (tmp_path / "hq.html").exists(), output[-2000:]
    assert output.count(f"user demo, password {password}") == 1        # printed once
    privacy_audit(tmp_path, config_path)


IMAGE_MAGIC = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG", b"GIF8": "GIF",
               b"RIFF": "RIFF/AVI", b"\x93NUMPY": "numpy array", b"\x1aE\xdf\xa3": "WebM",
               b"II*\x00": "TIFF", b"MM\x00*": "TIFF"}


def privacy_audit(folder: Path, config_path: Path) -> None:
    """After a full run: no file the station wrote is an image, no DB value holds one, no
    value is big enough to be a frame or an embedding, and the admin PIN is not in clear."""
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        head = path.read_bytes()[:16]
        assert not any(head.startswith(m) for m in IMAGE_MAGIC), f"{path} is image data"
        if head.startswith(b"SQLite format 3"):
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
                columns = [c[1] for c in db.execute(f"PRAGMA table_info({table})")]
                for row in db.execute(f"SELECT * FROM {table}"):
                    for column, value in zip(columns, row):
                        if isinstance(value, (bytes, str)):
                            data = value.encode() if isinstance(value, str) else value
                            assert not any(data.startswith(m) for m in IMAGE_MAGIC), \
                                f"{path}:{table}.{column} holds image data"
                            assert len(data) < 64 * 1024, f"{path}:{table}.{column} is huge"
            db.close()
    text = config_path.read_text()
    pin_hash = load_config(config_path).kiosk.admin_pin_hash
    assert pin_hash.startswith("scrypt$") and 'admin_pin = "' not in text


def _csrf(http, url):
    try:
        return re.search(r'name="csrf" value="([^"]+)"', http.get(url, timeout=5).text).group(1)
    except (requests.ConnectionError, AttributeError):
        return None


def _try_open(config):
    try:
        return Store.open(config) if Path(config.database.path).exists() else None
    except Exception:
        return None
