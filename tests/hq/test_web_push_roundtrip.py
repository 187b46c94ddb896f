"""Settings pushed from the dashboard, end to end: an admin's form (with its CSRF token) on a
real `cx-hq serve` app -> hq.push -> real mosquitto -> cx-sync (a real process) applies them to
the station database -> its health -> the real cx-hq receiver -> the store page says
"applied v1". A bad file is refused on the page with its key, and nothing is published; a
broker that is down is said so on the page, and the store page does not count that push."""
from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest

import web_sample
from web_server import csrf_of, logged_in, serving
from hq.config import load_hq_config
from hq.web.app import create_app
from station.config import load_config
from station.store import Store
from sync_testlib import hq_config_of, mqtt_client, wait_until, write_config

STATION, STORE = "acme/s1/k1", "acme/s1"
SETTINGS = """
[kiosk]
review_url = "https://example.com/review-from-the-dashboard"

[targets.nps]
value = 37
"""


def hq_knows_station(hq_db) -> bool:
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


def retained_config(broker) -> list[dict]:
    """The retained push on the station's config topic, as the broker holds it now."""
    got, heard = [], threading.Event()

    def on_message(client, userdata, message):
        got.append(json.loads(message.payload))
        heard.set()

    client = mqtt_client(broker, "peek-config", on_message=on_message,
                         subscribe=[f"cx/v1/{STATION}/config"])
    try:
        heard.wait(3)
    finally:
        client.disconnect()
        client.loop_stop()
    return got


@pytest.fixture
def station(tmp_path, broker, services):
    cfg = write_config(tmp_path / "station.toml", broker, sync={"health_interval_s": 30})
    services("hq", cfg)
    services("sync", cfg)
    wait_until(lambda: hq_knows_station(tmp_path / "hq.db"), 30, message="HQ to hear the station")
    hq_toml = hq_config_of(cfg)
    hq_toml.write_text(hq_toml.read_text(encoding="utf-8") + web_sample.WEB_TOML
                       + web_sample.users_toml(), encoding="utf-8")
    return load_config(cfg), load_hq_config(hq_toml)


def push_form(http, base, settings: str):
    token = csrf_of(http.get(base + "/push").text)
    return http.post(base + "/push", data={"csrf": token, "scope": "station", "which": STATION},
                     files={"file": ("settings.toml", settings.encode("utf-8"), "text/plain")})


def test_an_admin_pushes_from_the_dashboard_and_the_store_page_shows_it_applied(
        station, broker, tmp_path):
    station_config, hq_config = station
    store = Store.open(station_config)
    try:
        with serving(create_app(hq_config)) as base:
            http = logged_in(base, "root", web_sample.PASSWORDS["root"][1])
            pushed_at = time.monotonic()
            r = push_form(http, base, SETTINGS)
            assert r.status_code == 200 and 'id="pushed"' in r.text, r.text
            assert "Version 1 published to 1 stations" in r.text
            wait_until(lambda: store.applied_settings(), 5, message="the station to apply it")
            assert time.monotonic() - pushed_at < 5
            assert store.applied_settings().version == 1 and store.target("nps").value == 37

            def store_page_says(text):
                page = http.get(base + f"/store/{STORE}").text
                return text in page[page.index('id="stations"'):]
            wait_until(lambda: store_page_says("applied v1<"), 15,
                       message="the store page to show version 1 applied")

            r = push_form(http, base, "[database]\npath = '/tmp/evil.db'\n")
            assert r.status_code == 400 and 'id="refused"' in r.text
            assert "database.path" in r.text and 'id="pushed"' not in r.text
            # nothing published or recorded: the broker still holds version 1
            assert [m["version"] for m in retained_config(broker)] == [1]
            with sqlite3.connect(tmp_path / "hq.db") as con:
                assert con.execute("SELECT max(version), count(*) FROM settings_pushes"
                                   ).fetchone() == (1, 1)
            assert store.applied_settings().version == 1
            assert store_page_says("applied v1<") and not store_page_says("refused")

            broker.stop()
            r = push_form(http, base, SETTINGS.replace("37", "38"))
            assert r.status_code == 400 and "cannot connect to the broker" in r.text
            with sqlite3.connect(tmp_path / "hq.db") as con:
                assert con.execute("SELECT version, published_at FROM settings_pushes WHERE "
                                   "version > 1").fetchall() == [(2, None)]
            assert store_page_says("applied v1<") and not store_page_says("v2")
    finally:
        store.close()
