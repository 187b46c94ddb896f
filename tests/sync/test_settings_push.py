"""Settings pushed from HQ, end to end: `cx-hq push` (a real process) -> real mosquitto ->
cx-sync (a real process) applies them to the station database -> the kiosk (real widgets,
offscreen) shows the new wording, reasons and version; a bad file is refused by HQ's CLI, a
hostile message published straight to the broker is refused by the station, and HQ's
`cx-hq stats` shows the refusal."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from station.config import load_config  # noqa: E402
from station.store import Store  # noqa: E402
from sync_testlib import REPO, hq_config_of, wait_until, write_config  # noqa: E402

STATION = "acme/s1/k1"
SETTINGS = """
[kiosk]
review_url = "https://example.com/review-v1"
[kiosk.review_urls]
en = "https://example.com/review-v1-en"

[kiosk.wording.en]
question = "Pushed: would you recommend {store}?"
[kiosk.wording.vi]
question = "Đã đẩy: bạn có giới thiệu {store} không?"

[[kiosk.reasons.detractor]]
id = "queue"
en = "Long queue at checkout"
vi = "Xếp hàng thanh toán lâu"

[targets.nps]
value = 42

[alerts]
kiosk_quiet_hours = 4
"""


def cx_hq(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hq", *map(str, args)], capture_output=True,
                          text=True, timeout=60, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def hq_knows(hq_db) -> bool:
    import sqlite3
    if not hq_db.exists():
        return False
    con = sqlite3.connect(f"file:{hq_db}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute("SELECT 1 FROM stations WHERE station = ? AND health IS NOT NULL",
                           (STATION,)).fetchone() is not None
    except sqlite3.Error:
        return False
    finally:
        con.close()


def settings_of(hq_config) -> dict:
    result = cx_hq("stats", "--config", hq_config, "--json")
    assert result.returncode == 0, result.stderr
    (station,) = [s for s in json.loads(result.stdout)["stations"] if s["station"] == STATION]
    return station["settings"]


@pytest.fixture
def station(tmp_path, broker, services):
    cfg = write_config(tmp_path / "station.toml", broker, sync={"health_interval_s": 30})
    with open(cfg, "a", encoding="utf-8") as f:
        f.write('\n[kiosk]\nreview_url = "https://example.com/local"\n'
                '[[kiosk.reasons.detractor]]\nid = "staff"\nen = "Staff"\nvi = "Nhân viên"\n')
    services("hq", cfg)
    services("sync", cfg)
    wait_until(lambda: hq_knows(tmp_path / "hq.db"), 30, message="HQ to hear the station")
    return load_config(cfg)


def test_a_push_reaches_the_kiosk_and_a_refusal_reaches_hq(station, tmp_path, broker, qtbot):
    from kiosk.service import build
    hq_config = hq_config_of(station.source)
    window, writer = build(station)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    store = Store.open(station)
    try:
        assert window.screens["thanks"].review_url == "https://example.com/local"
        settings_file = tmp_path / "settings.toml"
        settings_file.write_text(SETTINGS, encoding="utf-8")
        pushed_at = time.monotonic()
        result = cx_hq("push", "--config", hq_config, "--station", STATION, "--file",
                       settings_file, "--who", "alice")
        assert result.returncode == 0, result.stderr
        assert "version 1" in result.stdout and STATION in result.stdout
        wait_until(lambda: store.applied_settings(), 5, message="cx-sync to apply the push")
        assert time.monotonic() - pushed_at < 5 + 2      # the CLI's own start-up included
        assert store.target("nps").value == 42

        # the kiosk picks it up without a restart
        qtbot.waitUntil(lambda: window.screens["thanks"].review_url ==
                        "https://example.com/review-v1", timeout=5000)
        assert [r.id for r in window.screens["followup"].reasons.detractor] == ["queue"]
        window.set_language("en")
        assert window.screens["score"].question.text().startswith("Pushed: would you")
        assert window.screens["thanks"].review_url == "https://example.com/review-v1-en"
        window.set_language("vi")
        assert window.screens["score"].question.text().startswith("Đã đẩy")
        admin = window.screens["admin"]
        window.open_admin()
        qtbot.waitUntil(lambda: admin.figures is not None and not admin.reading.isVisible(),
                        timeout=5000)
        assert "Cài đặt từ trụ sở: phiên bản 1" in admin.health.text()
        window.close_admin()

        # HQ sees what the station applied
        wait_until(lambda: settings_of(hq_config)["applied"] == 1, 10,
                   message="HQ to see version 1 applied")

        # a bad file never leaves HQ: the key is named and no version is used up
        for bad, key in (('[database]\npath = "/tmp/evil.db"', "database.path"),
                         ('[kiosk]\nreview_url = 7', "kiosk.review_url"),
                         ('[alerts]\ncamera_min_fps = 1000', "alerts.camera_min_fps"),
                         ('[kiosk]\nwelcome = "hi"', "kiosk.welcome")):
            settings_file.write_text(bad, encoding="utf-8")
            result = cx_hq("push", "--config", hq_config, "--all", "--file", settings_file)
            assert result.returncode == 2 and key in result.stderr, result.stderr
        assert settings_of(hq_config)["pushed"] == 1

        # a hostile message straight to the broker (no ACL on this test broker): refused by
        # the station with the key named, nothing of it applied, HQ sees the refusal
        hostile = json.dumps({"v": 1, "hq": "hq", "version": 2, "who": "mallory",
                              "pushed_at": "2026-01-01T00:00:00Z",
                              "settings": {"kiosk": {"review_url": "https://evil.example"},
                                           "database": {"path": "/tmp/evil.db"}}})
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id="mallory")
        client.connect(broker.host, broker.port)
        client.loop_start()
        client.publish(f"cx/v1/{STATION}/config", hostile, qos=1, retain=True).wait_for_publish(5)
        client.disconnect()
        client.loop_stop()
        refused = wait_until(lambda: settings_of(hq_config)["rejected"], 10,
                             message="HQ to see the refusal")
        assert refused["key"] == "database.path" and refused["version"] == 2
        assert settings_of(hq_config)["applied"] == 1
        assert store.applied_settings().version == 1
        assert [a.kind for a in store.alerts(state="open")].count("settings_rejected") == 1
        stats = cx_hq("stats", "--config", hq_config)
        assert "refused v2: database.path" in stats.stdout, stats.stdout
        # HQ's receivers hear the retained pushes too, and leave them alone
        stats = json.loads(cx_hq("stats", "--config", hq_config, "--json").stdout)
        assert stats["dead_letters"]["total"] == 0
        window.open_admin()
        qtbot.waitUntil(lambda: "bị từ chối (database.path" in admin.health.text(),
                        timeout=5000)
        window.close_admin()
        qtbot.wait(2500)                 # the kiosk's next look: still HQ's version 1
        assert window.screens["thanks"].review_url == "https://example.com/review-v1"
    finally:
        store.close()
        writer.close()
        window.close()
