"""cx-watch's rules: each fires once for its condition, not for noise, and clears with
hysteresis (station/watch). Real SQLite files, real disk figures, a real cx-watch process."""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from station.config import load_config
from station.store import Crossing, Response, Store
from station.targets import Target
from station.watch import Watcher
from station.watch.rules import (CAMERA_FPS_LOW, CAMERA_NO_FRAME, DB_WRITE_ERRORS, DISK_LOW,
                                 KIOSK_QUIET, SYNC_STALLED)

T0 = 1_800_000_000.0
ALERTS = {"camera_no_frame_s": 60, "camera_min_fps": 4, "sync_ack_age_min": 30,
          "disk_free_min_mb": 0.001, "kiosk_quiet_hours": 2, "kiosk_quiet_min_entries": 20,
          "clear_after_s": 600, "kpi_every_s": 300}
CONFIG = """
[station]
org = "acme"
store = "hcm-01"
id = "kiosk-1"
[database]
path = "station.db"
[vision]
camera = "clip.mp4"
fps_cap = 15
[[vision.lines]]
name = "door"
a = [0, 0]
b = [10, 10]
[privacy]
min_n = 30
[alerts]
"""


def write_config(tmp_path, **alerts):
    path = tmp_path / "station.toml"
    settings = {**ALERTS, **alerts}
    path.write_text(CONFIG + "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()),
                    encoding="utf-8")
    return path


def make(tmp_path, **alerts):
    config = load_config(write_config(tmp_path, **alerts))
    store = Store.open(config)
    return config, store, Watcher(config, store, started_at=T0)


def frame(store, at, fps=12.0):
    """What vision writes with every flush: its health row."""
    store.put_health("vision", {"status": "ok", "fps": fps, "last_frame": at}, ts=at)


def alerts(store, kind):
    return [a for a in store.alerts() if a.kind == kind]


def test_a_camera_without_frames_raises_one_critical_alert_and_clears_after_the_hold(tmp_path):
    config, store, watcher = make(tmp_path)
    frame(store, T0)
    watcher.check(T0 + 30)
    assert alerts(store, CAMERA_NO_FRAME) == []            # 30 s without a frame: not yet
    for t in range(61, 200, 5):
        watcher.check(T0 + t)
    (alert,) = alerts(store, CAMERA_NO_FRAME)
    assert (alert.state, alert.severity, alert.count) == ("open", "critical", 1)
    assert alert.context["seconds_without_frame"] == 61.0
    frame(store, T0 + 200)
    watcher.check(T0 + 200)
    frame(store, T0 + 700)
    watcher.check(T0 + 700)
    assert alerts(store, CAMERA_NO_FRAME)[0].state == "open"     # clear for 500 s only
    frame(store, T0 + 800)
    watcher.check(T0 + 800)
    assert alerts(store, CAMERA_NO_FRAME)[0].state == "resolved"


def test_a_flapping_camera_makes_one_alert_whose_count_grows(tmp_path):
    config, store, watcher = make(tmp_path)
    t = T0
    for outage in range(20):           # 20 outages of 90 s, each followed by 60 s of frames
        frame(store, t)
        for dt in range(0, 90, 10):
            watcher.check(t + dt + 70)
        t += 160
        for dt in range(0, 60, 10):
            frame(store, t + dt)
            watcher.check(t + dt)
        t += 60
    (alert,) = alerts(store, CAMERA_NO_FRAME)
    assert alert.state == "open" and alert.count == 20
    sent = [e for e in store.pending_outbox(limit=10_000) if e.type == "alert"]
    assert 1 <= len(sent) <= 1 + (t - T0) // 900 + 1     # HQ hears of it at most every 15 min


def test_a_slow_camera_alerts_only_after_staying_slow_for_a_minute(tmp_path):
    config, store, watcher = make(tmp_path)
    for t in range(0, 50, 5):
        frame(store, T0 + t, fps=2.0)
        watcher.check(T0 + t)
    frame(store, T0 + 50, fps=12.0)                # a dip of under a minute: noise
    watcher.check(T0 + 50)
    assert alerts(store, CAMERA_FPS_LOW) == []
    for t in range(55, 130, 5):
        frame(store, T0 + t, fps=2.5)
        watcher.check(T0 + t)
    (alert,) = alerts(store, CAMERA_FPS_LOW)
    assert alert.context == {"camera": "main", "fps": 2.5, "min_fps": 4.0}
    assert alerts(store, CAMERA_NO_FRAME) == []


def test_a_camera_capped_near_the_floor_is_not_slow(tmp_path):
    config, store, watcher = make(tmp_path, camera_min_fps=4)
    (camera,) = config.vision.cameras
    config = dataclasses.replace(config, vision=dataclasses.replace(
        config.vision, cameras=[dataclasses.replace(camera, fps_cap=4)]))
    watcher = Watcher(config, store, started_at=T0)
    for t in range(0, 200, 5):
        frame(store, T0 + t, fps=3.6)              # capped at 4, wavering just under it
        watcher.check(T0 + t)
    assert alerts(store, CAMERA_FPS_LOW) == []


def test_sync_stalled_fires_when_events_wait_and_hq_is_silent(tmp_path):
    config, store, watcher = make(tmp_path, camera_no_frame_s=0, camera_min_fps=0)
    now = time.time()
    store.append_response(Response(nps=9, ts=now))
    (seq,) = [e.seq for e in store.pending_outbox()]
    store.mark_acked(seq, at=now - 7200)
    watcher.check(now)
    assert alerts(store, SYNC_STALLED) == []        # nothing waits: a silent HQ is fine
    store.append_response(Response(nps=9, ts=now))
    store.db.execute("UPDATE outbox SET created_at = ? WHERE acked_at IS NULL", (now - 1200,))
    watcher.check(now + 30)
    assert alerts(store, SYNC_STALLED) == []        # waiting 20 min < 30
    store.db.execute("UPDATE outbox SET created_at = ? WHERE acked_at IS NULL", (now - 1900,))
    watcher.check(now + 60)
    (alert,) = alerts(store, SYNC_STALLED)
    assert alert.subject == "hq" and alert.context["backlog"] == 1


def test_disk_low_compares_the_real_free_space_with_the_floor(tmp_path):
    config, store, watcher = make(tmp_path, disk_free_min_mb=0.001)
    watcher.check(T0)
    assert alerts(store, DISK_LOW) == []
    free_mb = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize / 1e6
    config, store, watcher = make(tmp_path, disk_free_min_mb=free_mb * 100 + 1e6)
    watcher.check(T0)
    (alert,) = alerts(store, DISK_LOW)
    assert alert.severity == "critical" and 0 < alert.context["free_mb"] < free_mb * 2


def test_a_service_that_failed_to_write_raises_one_alert(tmp_path):
    config, store, watcher = make(tmp_path)
    store.put_health("kiosk", {"write_errors": 2, "last_write_error": "disk I/O error"})
    watcher.check(T0)
    assert alerts(store, DB_WRITE_ERRORS) == []      # counted before cx-watch started: history
    for t, errors in ((5, 2), (10, 3), (15, 5), (20, 5)):
        store.put_health("kiosk", {"write_errors": errors, "last_write_error": "disk I/O error"})
        watcher.check(T0 + t)
    (alert,) = alerts(store, DB_WRITE_ERRORS)
    assert (alert.subject, alert.count) == ("kiosk", 1)           # one episode: 10 s to 15 s
    assert alert.context["last_error"] == "disk I/O error"
    store.put_health("kiosk", {"write_errors": 1, "last_write_error": "database is locked"})
    watcher.check(T0 + 30)                         # a restarted kiosk failed again
    assert alerts(store, DB_WRITE_ERRORS)[0].count == 2


def test_the_watchers_own_failed_write_is_reported_once_the_database_takes_it(tmp_path):
    config, store, watcher = make(tmp_path)
    watcher.check(T0)
    store.db.execute("CREATE TRIGGER refuse BEFORE UPDATE ON health "
                     "BEGIN SELECT RAISE(ABORT, 'disk full (test)'); END")
    watcher.check(T0 + 5)                           # its health write fails
    store.db.execute("DROP TRIGGER refuse")
    watcher.check(T0 + 10)
    (alert,) = alerts(store, DB_WRITE_ERRORS)
    assert alert.subject == "watch" and "disk full (test)" in alert.context["last_error"]


def test_a_kiosk_without_answers_while_shoppers_come_in_is_an_alert(tmp_path):
    config, store, watcher = make(tmp_path)
    now = T0 + 3 * 3600
    store.append_crossings([Crossing(now - 3600 + i * 60, "door", "in") for i in range(10)])
    watcher.check(now)
    assert alerts(store, KIOSK_QUIET) == []           # 10 entries: too few to tell
    store.append_crossings([Crossing(now - 1800 + i * 30, "door", "in") for i in range(30)])
    watcher.check(now + 60)
    (alert,) = alerts(store, KIOSK_QUIET)
    assert alert.context["entries"] == 40 and alert.context["answers"] == 0
    store.append_response(Response(nps=10, ts=now + 100))
    watcher.check(now + 200)
    watcher.check(now + 900)
    assert alerts(store, KIOSK_QUIET)[0].state == "resolved"


def test_answers_among_entries_raise_nothing(tmp_path):
    config, store, watcher = make(tmp_path)
    now = T0 + 3 * 3600
    store.append_crossings([Crossing(now - 3600 + i * 60, "door", "in") for i in range(60)])
    store.append_response(Response(nps=3, ts=now - 4000))           # before the window
    store.append_response(Response(nps=8, ts=now - 600))
    watcher.check(now)
    assert alerts(store, KIOSK_QUIET) == []


def test_kpis_are_checked_on_their_own_schedule(tmp_path):
    config, store, watcher = make(tmp_path)
    store.set_target(Target("nps", 60, "higher", "week"), "admin")
    now = time.time()
    for i in range(60):
        store.append_response(Response(nps=2 if i % 2 else 7, ts=now - 3600 + i))
    store.resolve_alert("detractor", store.station)
    timings = watcher.check(now)
    assert "kpi_below_target" in timings
    assert [a.subject for a in alerts(store, "kpi_below_target")] == ["nps"]
    assert "kpi_below_target" not in watcher.check(now + 60)       # next due in 300 s
    assert "kpi_below_target" in watcher.check(now + 301)


def test_rules_switched_off_are_not_evaluated(tmp_path):
    config, store, watcher = make(tmp_path, disk_free_min_mb=0, camera_min_fps=0,
                                  sync_ack_age_min=0, db_write_errors=False,
                                  kiosk_quiet_hours=0, kpi=False)
    assert {r.kind for r in watcher.rules} == {CAMERA_NO_FRAME}
    assert set(watcher.check(T0)) == {CAMERA_NO_FRAME, "hook"}


def test_cx_watch_runs_as_a_service_and_stops_on_sigterm(tmp_path):
    path = write_config(tmp_path, interval_s=0.5, camera_no_frame_s=1)
    Store.open(load_config(path)).close()
    proc = subprocess.Popen([sys.executable, "-m", "station.watch", "run", "--config",
                             str(path)], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        store = Store.open(load_config(path))
        while time.monotonic() < deadline and not alerts(store, CAMERA_NO_FRAME):
            time.sleep(0.2)
        (alert,) = alerts(store, CAMERA_NO_FRAME)
        assert alert.state == "open"
        watch = store.health()["watch"]
        assert CAMERA_NO_FRAME in watch["rules_ms"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, proc.stderr.read()


@pytest.mark.parametrize("bad, key", [({"interval_s": 0}, "alerts.interval_s"),
                                      ({"command": "notify.sh"}, "alerts.command"),
                                      ({"command_on": ["sent"]}, "alerts.command_on[0]")])
def test_a_bad_alerts_setting_names_its_key(tmp_path, bad, key):
    from station.config import ConfigError
    with pytest.raises(ConfigError) as err:
        load_config(write_config(tmp_path, **bad))
    assert err.value.path == key


def test_health_json_is_what_the_admin_screen_reads(tmp_path):
    config, store, watcher = make(tmp_path)
    watcher.check(T0)
    row = store.db.execute("SELECT data FROM health WHERE component = 'watch'").fetchone()
    data = json.loads(row[0])
    assert data["checked_at"] == T0 and data["hook"] == {"runs": 0, "failures": 0, "timeouts": 0}


def test_every_camera_is_watched_on_its_own_health_row(tmp_path):
    text = CONFIG.replace('[vision]\ncamera = "clip.mp4"\nfps_cap = 15\n', """[vision]
[[vision.cameras]]
id = "door"
source = "door.mp4"
[[vision.cameras.lines]]
name = "door"
a = [0, 0]
b = [10, 10]
[[vision.cameras]]
id = "kiosk-cam"
source = "kiosk.mp4"
fps_cap = 4
[[vision.cameras]]
id = "spare"                       # no source: idle on purpose, not watched
""").replace('[[vision.lines]]\nname = "door"\na = [0, 0]\nb = [10, 10]\n', "")
    path = tmp_path / "station.toml"
    path.write_text(text + "".join(f"{k} = {json.dumps(v)}\n" for k, v in ALERTS.items()),
                    encoding="utf-8")
    config = load_config(path)
    store = Store.open(config)
    watcher = Watcher(config, store, started_at=T0)
    for t in range(0, 200, 5):
        store.put_health("vision:door", {"fps": 12.0, "last_frame": T0 + t}, ts=T0 + t)
        if t < 60:                             # the kiosk camera stops after a minute
            store.put_health("vision:kiosk-cam", {"fps": 3.5, "last_frame": T0 + t}, ts=T0 + t)
        watcher.check(T0 + t)
    (silent,) = alerts(store, CAMERA_NO_FRAME)
    assert silent.subject == "camera kiosk-cam" and silent.context["camera"] == "kiosk-cam"
    # 3.5 fps under a cap of 4 is not slow (3 is its floor); the door camera is fine
    assert alerts(store, CAMERA_FPS_LOW) == []
