"""The dashboard's pages beyond the gate: live figures equal the page's, the settings a station
reports, portable SQL, and `cx-hq serve` itself as a process."""
from __future__ import annotations

import ast
import html
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import requests

import web_sample
import web_server
from web_sample import NOW, PASSWORDS
from web_server import free_port, serving
from hq.config import load_hq_config
from hq.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hq(tmp_path_factory):
    return web_sample.web_hq(tmp_path_factory.mktemp("webpages"))


def logged_in(base: str, user: str = "ana") -> requests.Session:
    return web_server.logged_in(base, user, PASSWORDS[user][1])


def keyed_cells(page: str) -> dict[str, str]:
    return {html.unescape(key): html.unescape(text.strip()) for key, text in re.findall(
        r'data-key="([^"]+)"[^>]*>([^<]*)<', page)}


@pytest.mark.parametrize("path,live", [("/", "page=stores"), ("/chain", "page=chain"),
                                       ("/store/acme/hcm-d1", "page=store&store=acme/hcm-d1")])
def test_live_figures_are_the_page_figures(hq, path, live):
    with serving(create_app(load_hq_config(hq["config"]), clock=lambda: NOW)) as base:
        http = logged_in(base)
        shown = keyed_cells(http.get(base + path).text)
        payload = http.get(base + "/api/live?" + live).json()
    assert len(shown) >= 10
    assert {key: cell[0] for key, cell in payload["cells"].items() if key in shown} == shown
    assert set(shown) <= set(payload["cells"])


def test_vietnamese_pages_use_vietnamese_numbers_and_words(hq):
    with serving(create_app(load_hq_config(hq["config"]), clock=lambda: NOW)) as base:
        http = logged_in(base)
        http.get(base + "/lang/vi?next=/")
        page = http.get(base + "/").text
    assert "Cửa hàng" in page and "Tỷ lệ tham gia" in page and 'lang="vi"' in page
    entries = keyed_cells(page)["acme/hcm-d1|entries"]
    assert re.fullmatch(r"\d\.\d{3}", entries), entries          # 1.787, not 1,787


def test_an_unknown_store_is_a_404_page(hq):
    with serving(create_app(load_hq_config(hq["config"]), clock=lambda: NOW)) as base:
        http = logged_in(base)
        r = http.get(base + "/store/acme/nowhere")
        assert r.status_code == 404 and "Not found" in r.text
        assert http.get(base + "/api/live?page=store&store=acme/nowhere").status_code == 404


def test_store_page_shows_what_each_station_reported_about_pushed_settings(hq, tmp_path):
    """From HQ's own records (settings_pushes) and each station's health: the version
    applied, one pushed and not applied yet, a refusal with its key and reason."""
    db = tmp_path / "hq.db"
    shutil.copy(hq["db"], db)
    with sqlite3.connect(db) as con:
        con.executemany("INSERT INTO settings_pushes (station, version, pushed_at, who, "
                        "settings, published_at) VALUES (?, ?, 0, 'root', '', 1)",
                        [("acme/hcm-d1/kiosk-1", 4), ("acme/hcm-d1/kiosk-2", 4),
                         ("acme/hcm-d1/kiosk-2", 5)])
        for station, settings in (
                ("acme/hcm-d1/kiosk-1", {"version": 4, "applied_at": "2026-11-20T10:00:00Z"}),
                ("acme/hcm-d1/kiosk-2", {"version": 3, "rejected": {
                    "version": 4, "key": "targets.nps.value",
                    "reason": "500 is out of range"}})):
            health = json.loads(con.execute("SELECT health FROM stations WHERE station = ?",
                                            (station,)).fetchone()[0])
            con.execute("UPDATE stations SET health = ? WHERE station = ?",
                        (json.dumps({**health, "settings": settings}), station))
    config = tmp_path / "hq.toml"
    config.write_text(hq["config"].read_text(encoding="utf-8").replace(str(hq["db"]), str(db)),
                      encoding="utf-8")
    with serving(create_app(load_hq_config(config), clock=lambda: NOW)) as base:
        page = logged_in(base).get(base + "/store/acme/hcm-d1").text
    stations = page[page.index('id="stations"'):]
    rows = [html.unescape(row) for row in stations.split("<tr>")[2:]]
    assert "applied v4<" in rows[0] and "refused" not in rows[0]
    assert ("applied v3; pushed v5, not applied yet; refused v4: targets.nps.value: 500 is "
            "out of range") in rows[1]


def test_dashboard_sql_is_portable():
    """Only what SQLite and PostgreSQL both run: views, no JSON functions on raw events, no
    date functions, no TEMP names, no sum over a comparison, no `IS NOT 'x'`."""
    tree = ast.parse((ROOT / "hq/web/data.py").read_text(encoding="utf-8"))
    source = " ".join(node.value for node in ast.walk(tree)           # its string literals
                      if isinstance(node, ast.Constant) and isinstance(node.value, str))
    assert "SELECT" in source and "GROUP BY" in source
    for pattern in (r"json_extract", r"\btemp\.", r"strftime|julianday|datetime\(|date\(",
                    r"sum\((?!CASE)[^()]*[=<>]", r"IS NOT '", r"\bFROM events WHERE type"):
        assert not re.search(pattern, source, re.IGNORECASE), pattern
    for module in ("app.py", "present.py", "auth.py"):
        assert "execute(" not in (ROOT / "hq/web" / module).read_text(encoding="utf-8"), module


def test_cx_hq_serve_runs_and_says_what_is_wrong(hq, tmp_path):
    port = free_port()
    config = tmp_path / "serve.toml"
    config.write_text(hq["config"].read_text(encoding="utf-8").replace(
        "[web]\n", f"[web]\nport = {port}\n"), encoding="utf-8")
    # systemd's side of Type=notify and WatchdogSec, played by a datagram socket
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(30)
    process = subprocess.Popen([sys.executable, "-m", "hq", "serve", "--config", str(config)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify"),
                                    "WATCHDOG_USEC": "4000000"})
    try:
        heard = [notify.recv(4096) for _ in range(2)]
        assert heard[0].startswith(b"READY=1") and heard[1] == b"WATCHDOG=1", heard
        deadline = time.monotonic() + 30
        while True:
            try:
                r = requests.get(f"http://127.0.0.1:{port}/", allow_redirects=False, timeout=2)
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "cx-hq serve did not answer"
                time.sleep(0.2)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        assert "server" not in r.headers
    finally:
        process.terminate()
        process.wait(10)
        notify.close()
    missing = tmp_path / "missing.toml"
    missing.write_text(config.read_text(encoding="utf-8").replace(str(hq["db"]),
                                                                  str(tmp_path / "no.db")),
                       encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "hq", "serve", "--config", str(missing)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "no HQ database at" in out.stderr
    nobody = tmp_path / "nobody.toml"
    nobody.write_text(config.read_text(encoding="utf-8").split("[[web.users]]")[0],
                      encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "hq", "serve", "--config", str(nobody)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "no [[web.users]]" in out.stderr


def test_the_demo_login_is_made_once_printed_once_and_lets_the_admin_in(hq, tmp_path):
    """The demo's dashboard ([web] demo_login_file, no [[web.users]]): a random password made
    at the first start, kept 0600, printed that once; nobody else gets in."""
    port = free_port()
    login_file = tmp_path / "var" / "web-login.toml"
    config = tmp_path / "demo.toml"
    config.write_text(hq["config"].read_text(encoding="utf-8").split("[[web.users]]")[0].replace(
        "[web]\n", f'[web]\nport = {port}\ndemo_login_file = "{login_file}"\n'),
        encoding="utf-8")
    outputs = []
    for _ in range(2):
        process = subprocess.Popen([sys.executable, "-m", "hq", "serve", "--config",
                                    str(config)], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    requests.get(f"http://127.0.0.1:{port}/login", timeout=2)
                    break
                except requests.ConnectionError:
                    assert process.poll() is None, process.stdout.read()
                    assert time.monotonic() < deadline, "cx-hq serve did not answer"
                    time.sleep(0.2)
            password = tomllib.loads(login_file.read_text(encoding="utf-8"))["password"]
            assert len(password) >= 12 and (login_file.stat().st_mode & 0o777) == 0o600
            http = web_server.logged_in(f"http://127.0.0.1:{port}", "demo", password)
            assert http.get(f"http://127.0.0.1:{port}/push").status_code == 200     # admin
            with pytest.raises(AssertionError):
                web_server.logged_in(f"http://127.0.0.1:{port}", "demo", "demo-password")
        finally:
            process.terminate()
            outputs.append(process.communicate(timeout=10)[0])
    assert f"user demo, password {password}" in outputs[0]
    assert password not in outputs[1]
