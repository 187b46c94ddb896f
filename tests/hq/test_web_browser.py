"""The dashboard in a real browser: headless Chromium (selenium) against a real uvicorn server
on an HQ database filled by real station stores. It logs in, opens every page, checks the
figures shown against the database (computed here with its own SQL), watches a figure update
live, pushes settings as an admin, fails on any console error or failed request, and saves
screenshots at 1920x1080 and 390x844.

    CX_HQ_SCREENSHOTS=hq/screenshots pytest tests/hq/test_web_browser.py   # the README's
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

import hq_sample
import web_sample
from web_sample import NOW, PASSWORDS
from web_server import serving
from hq.config import load_hq_config
from hq.db import HqDb
from hq.web.app import create_app

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.options import Options       # noqa: E402
from selenium.webdriver.chrome.service import Service        # noqa: E402
from selenium.webdriver.common.by import By                  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait   # noqa: E402

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
DESKTOP, PHONE = (1920, 1080), (390, 844)
PERIOD_S = 28 * 86400
MIN_N = 10

pytestmark = pytest.mark.skipif(not (shutil.which(CHROMIUM) and shutil.which(DRIVER)),
                                reason="needs Debian chromium and chromium-driver")


# -- the database's own answer, with SQL of this test's own ------------------------------------
def expected(db_path: Path, store: str) -> dict:
    db = sqlite3.connect(db_path)
    like = (store + "/%", NOW - PERIOD_S, NOW)
    scores = [s for (s,) in db.execute(
        "SELECT json_extract(data, '$.nps') FROM events WHERE type = 'response' AND station "
        "LIKE ? AND ts_epoch >= ? AND ts_epoch < ?", like)]
    entries = db.execute(
        "SELECT coalesce(sum(json_extract(data, '$.in')), 0) FROM events WHERE type = 'traffic' "
        "AND station LIKE ? AND ts_epoch >= ? AND ts_epoch < ? AND "
        "coalesce(json_extract(data, '$.entrance'), 1)", like).fetchone()[0]
    statuses = {}
    for case_id, status in db.execute(
            "SELECT json_extract(data, '$.case_id'), json_extract(data, '$.status') FROM events "
            "WHERE type = 'case' AND station LIKE ?", like[:1]):
        statuses.setdefault(case_id, set()).add(status)
    db.close()
    n = len(scores)
    nps = 100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / n if n else None
    return {"responses": n, "nps": nps, "entries": entries,
            "participation": 100 * n / entries if entries else None,
            "open_cases": sum("resolved" not in s for s in statuses.values())}


def daily_responses(db_path: Path, store: str, tz) -> dict[str, int]:
    db = sqlite3.connect(db_path)
    out: dict[str, int] = {}
    for (ts,) in db.execute("SELECT ts_epoch FROM events WHERE type = 'response' AND station "
                            "LIKE ? AND ts_epoch < ?", (store + "/%", NOW)):
        day = datetime.fromtimestamp(ts, tz).date().isoformat()
        out[day] = out.get(day, 0) + 1
    db.close()
    return out


def signed(value: float) -> str:
    return f"{value:+.1f}" if round(value, 1) else "0.0"


# -- the browser ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("webbrowser")
    paths = web_sample.web_hq(tmp, min_n=MIN_N)
    published = []

    class Result:
        def __init__(self, stations):
            self.version, self.stations = 3, stations

    def publish(config, text, *, station=None, store=None, chain=False, who=None):
        published.append({"text": text, "store": store, "station": station, "chain": chain,
                          "who": who})
        return Result([f"{store}/kiosk-1", f"{store}/kiosk-2"])

    config = load_hq_config(paths["config"])
    with serving(create_app(config, publish=publish, clock=lambda: NOW)) as base:
        yield {"base": base, "tmp": tmp, "db": paths["db"], "config": config,
               "published": published}


@pytest.fixture(scope="module")
def browser():
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--hide-scrollbars", f"--window-size={DESKTOP[0]},{DESKTOP[1]}", "--lang=en"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def shots_dir(tmp: Path) -> Path:
    out = Path(os.environ.get("CX_HQ_SCREENSHOTS") or tmp / "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out


def viewport(driver, size, mobile: bool) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": mobile})


def no_errors(driver, page: str) -> None:
    """Any console error (a failed request, a CSP violation, a script error) fails the test."""
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert not errors, f"{page}: {errors}"


def open_page(driver, base, path) -> None:
    driver.get(base + path)
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script("return document.readyState") == "complete")
    assert "Not found" not in driver.title
    no_errors(driver, path)


def cell(driver, key: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f'[data-key="{key}"]').text


def test_dashboard_in_a_real_browser(site, browser):
    base, db_path, tz = site["base"], site["db"], site["config"].tz
    shots = shots_dir(site["tmp"])
    viewport(browser, DESKTOP, mobile=False)

    # no session: every page sends the browser to the login form
    open_page(browser, base, "/store/acme/hcm-d1")
    assert "/login" in browser.current_url
    browser.find_element(By.NAME, "username").send_keys("ana")
    browser.find_element(By.NAME, "password").send_keys(PASSWORDS["ana"][1])
    browser.find_element(By.CSS_SELECTOR, "form.login button").click()
    WebDriverWait(browser, 20).until(lambda d: "/store/acme/hcm-d1" in d.current_url)
    no_errors(browser, "login")

    # the stores page: every store's figures as the database has them
    open_page(browser, base, "/")
    rows = browser.find_elements(By.CSS_SELECTOR, "#stores tbody tr")
    assert [r.get_attribute("data-store") for r in rows] == \
        ["acme/dn-hc", "acme/hcm-d1", "acme/hn-hk", "acme/tiny"]
    for store in ("acme/dn-hc", "acme/hcm-d1", "acme/hn-hk", "acme/tiny"):
        want = expected(db_path, store)
        assert cell(browser, f"{store}|responses") == f"{want['responses']:,}", store
        assert cell(browser, f"{store}|entries") == f"{want['entries']:,}", store
        assert cell(browser, f"{store}|open_cases") == f"{want['open_cases']:,}", store
        shown = cell(browser, f"{store}|nps")
        if want["responses"] >= MIN_N:
            assert shown == signed(want["nps"]), store
        else:
            assert shown == "hidden", store
        part = cell(browser, f"{store}|participation")
        assert part == (f"{want['participation']:.1f} %" if want["participation"] is not None
                        else "—"), store
    assert cell(browser, "acme/tiny|status") == "offline"
    assert cell(browser, "acme/hcm-d1|status") == "2/2 online"
    assert cell(browser, "acme/hcm-d1|target").endswith("below target")
    assert cell(browser, "acme/tiny|conversion") == "—"            # no POS figures there
    assert cell(browser, "acme/hcm-d1|conversion").endswith(" %")
    browser.save_screenshot(str(shots / "stores-desktop.png"))

    # sorting and filtering happen in the page
    nps_head = browser.find_elements(By.CSS_SELECTOR, "#stores thead th")[3]
    nps_head.click()
    nps_head.click()                                          # descending
    order = [r.get_attribute("data-store") for r in
             browser.find_elements(By.CSS_SELECTOR, "#stores tbody tr")]
    values = {s: expected(db_path, s)["nps"] for s in order}
    assert order == sorted(values, key=lambda s: -values[s])
    browser.find_element(By.ID, "filter").send_keys("hn")
    visible = [r.get_attribute("data-store") for r in
               browser.find_elements(By.CSS_SELECTOR, "#stores tbody tr") if r.is_displayed()]
    assert visible == ["acme/hn-hk"]
    browser.find_element(By.ID, "filter").clear()
    browser.find_element(By.ID, "filter").send_keys(" ")      # fires input: all rows back
    Select(browser.find_element(By.ID, "show")).select_by_value("offline")
    visible = [r.get_attribute("data-store") for r in
               browser.find_elements(By.CSS_SELECTOR, "#stores tbody tr") if r.is_displayed()]
    assert visible == ["acme/tiny"]
    Select(browser.find_element(By.ID, "show")).select_by_value("")

    # live: answers arriving at HQ show up without a reload
    tiny, _ = hq_sample.station_store(site["tmp"], "acme", "tiny", "kiosk-1")
    hq_sample.known_mix(tiny, 20, 5, 5, start=hq_sample.KNOWN_START + 86400)
    hq = HqDb.open(db_path)
    hq_sample.copy_outbox(tiny, hq, received_at=NOW)
    hq.close()
    tiny.close()
    want = expected(db_path, "acme/tiny")
    WebDriverWait(browser, 20).until(
        lambda d: cell(d, "acme/tiny|responses") == f"{want['responses']:,}")
    assert cell(browser, "acme/tiny|nps") == signed(want["nps"])
    assert browser.find_element(By.ID, "livestate").text == "live"
    no_errors(browser, "/ after live updates")

    # the store page: per-day responses as the database has them, its stations and alerts
    open_page(browser, base, "/store/acme/hcm-d1")
    days = daily_responses(db_path, "acme/hcm-d1", tz)
    today = datetime.fromtimestamp(NOW, tz).date()
    for i in range(14):
        day = (today - timedelta(days=i)).isoformat()
        assert cell(browser, f"day|{day}|responses") == f"{days.get(day, 0):,}", day
    stations = browser.find_elements(By.CSS_SELECTOR, "#stations tbody tr")
    assert [r.find_element(By.CSS_SELECTOR, "td").text for r in stations] == \
        ["acme/hcm-d1/kiosk-1", "acme/hcm-d1/kiosk-2"]
    assert stations[0].find_elements(By.CSS_SELECTOR, "td")[5].text == "10.2"   # camera fps
    alerts = browser.find_element(By.ID, "alerts").text
    assert "camera_offline" in alerts and "critical" in alerts
    assert "nps" in browser.find_element(By.ID, "targets").text.lower()
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.chart")) == 3
    browser.save_screenshot(str(shots / "store-desktop.png"))
    viewport(browser, PHONE, mobile=True)
    browser.refresh()
    time.sleep(0.5)
    no_errors(browser, "store on a phone")
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= PHONE[0], f"the store page is {width} px wide on a {PHONE[0]} px phone"
    browser.save_screenshot(str(shots / "store-phone.png"))

    # the chain page: league by NPS and the stores below target with confidence
    open_page(browser, base, "/chain")
    league = [r.get_attribute("data-store") for r in
              browser.find_elements(By.CSS_SELECTOR, "#league tbody tr")]
    ranked = {s: expected(db_path, s) for s in league}
    assert league == sorted(ranked, key=lambda s: (ranked[s]["responses"] < MIN_N,
                                                   -(ranked[s]["nps"] or 0)))
    below = browser.find_element(By.ID, "below").text
    assert "acme/hcm-d1" in below and "acme/hn-hk" not in below
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= PHONE[0], f"the chain page is {width} px wide on a phone"
    browser.save_screenshot(str(shots / "chain-phone.png"))
    open_page(browser, base, "/")
    browser.save_screenshot(str(shots / "stores-phone.png"))
    viewport(browser, DESKTOP, mobile=False)
    open_page(browser, base, "/chain")
    browser.save_screenshot(str(shots / "chain-desktop.png"))

    # Vietnamese: one click, every label
    browser.find_element(By.CSS_SELECTOR, "a.lang").click()
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "Chuỗi")
    assert "Bảng xếp hạng KPI" in browser.page_source
    viewport(browser, PHONE, mobile=True)
    open_page(browser, base, "/store/acme/hcm-d1")
    assert "đang mở" in browser.find_element(By.ID, "alerts").text      # the alerts' state
    entries = expected(db_path, "acme/hcm-d1")["entries"]
    assert cell(browser, "acme/hcm-d1|entries") == f"{entries:,}".replace(",", ".")
    browser.save_screenshot(str(shots / "store-phone-vi.png"))
    viewport(browser, DESKTOP, mobile=False)
    browser.find_element(By.CSS_SELECTOR, "a.lang").click()
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.TAG_NAME, "h1").text ==
                                     "acme/hcm-d1" and "Open cases" in d.page_source)
    no_errors(browser, "language switch")

    # an analyst has no push page; an admin pushes from the form
    assert not browser.find_elements(By.CSS_SELECTOR, 'a[href="/push"]')
    browser.find_element(By.CSS_SELECTOR, "form.inline button").click()      # log out
    WebDriverWait(browser, 20).until(lambda d: "/login" in d.current_url)
    open_page(browser, base, "/push")
    browser.find_element(By.NAME, "username").send_keys("root")
    browser.find_element(By.NAME, "password").send_keys(PASSWORDS["root"][1])
    browser.find_element(By.CSS_SELECTOR, "form.login button").click()
    WebDriverWait(browser, 20).until(lambda d: d.current_url.endswith("/push"))
    browser.find_element(By.NAME, "which").send_keys("acme/hcm-d1")
    browser.find_element(By.NAME, "settings").send_keys("[targets.nps]\nvalue = 45\n")
    browser.find_element(By.CSS_SELECTOR, "form.push button").click()
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.ID, "pushed"))
    assert "Version 3 published to 2 stations" in browser.find_element(By.ID, "pushed").text
    assert site["published"] == [{"text": "[targets.nps]\nvalue = 45\n", "store": "acme/hcm-d1",
                                  "station": None, "chain": False, "who": "root"}]
    browser.save_screenshot(str(shots / "push-desktop.png"))
    no_errors(browser, "push")
