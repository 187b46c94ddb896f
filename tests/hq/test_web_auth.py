"""The dashboard's gate, against a real uvicorn server: no page without a session, no POST
without its CSRF token, no settings push by an analyst, lockout after repeated failures."""
from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from hypothesis import HealthCheck, given, settings, strategies as st

import web_sample
from web_sample import NOW, PASSWORDS
from web_server import serving
from hq.config import load_hq_config
from hq.web.app import create_app
from station.config import ConfigError
from station.pin import verify_pin

PAGES = ("/", "/chain", "/store/acme/hcm-d1", "/push")


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


class Published:
    def __init__(self, version, stations):
        self.version, self.stations = version, stations


class Publisher:
    """Records what the app asks hq.push to publish; refuses settings naming a bad key."""

    def __init__(self):
        self.calls = []

    def __call__(self, config, text, *, station=None, store=None, chain=False, who=None):
        if "bogus" in text:
            raise ValueError("settings: unknown key 'bogus' (HQ may set: targets, kiosk...)")
        self.calls.append({"text": text, "station": station, "store": store, "chain": chain,
                           "who": who})
        return Published(len(self.calls), ["acme/hcm-d1/kiosk-1", "acme/hcm-d1/kiosk-2"])


@pytest.fixture(scope="module")
def hq(tmp_path_factory):
    return web_sample.web_hq(tmp_path_factory.mktemp("webhq"))


@pytest.fixture
def server(hq):
    """(base URL, clock, publisher) of a fresh app: its own sessions and lockout counts."""
    clock, publisher = Clock(), Publisher()
    with serving(create_app(load_hq_config(hq["config"]), publish=publisher,
                            clock=clock)) as base:
        yield base, clock, publisher


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(base, username, password=None, http=None):
    http = http or requests.Session()
    token = csrf_of(http.get(base + "/login").text)
    password = PASSWORDS[username][1] if password is None else password
    response = http.post(base + "/login", allow_redirects=False,
                         data={"csrf": token, "username": username, "password": password})
    return http, response


def test_every_page_without_a_session_goes_to_the_login_page(server):
    base, _, _ = server
    for page in PAGES:
        r = requests.get(base + page, allow_redirects=False)
        assert r.status_code == 303, page
        assert r.headers["location"].startswith("/login?next=")
    assert requests.get(base + "/api/live?page=stores").status_code == 401


def test_a_forged_session_cookie_is_no_session(server):
    base, _, _ = server
    http, r = login(base, "root")
    assert r.status_code == 303
    real = http.cookies["cxhq_session"]
    for forged in (real[:-2] + ("AA" if not real.endswith("AA") else "BB"), "admin", "",
                   "x" * 43):
        r = requests.get(base + "/", cookies={"cxhq_session": forged}, allow_redirects=False)
        assert r.status_code == 303 and "/login" in r.headers["location"], forged


def test_admin_logs_in_and_the_cookie_is_httponly_and_samesite_strict(server):
    base, _, _ = server
    http, r = login(base, "root")
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    page = http.get(base + "/")
    assert page.status_code == 200 and "root (admin)" in page.text and 'href="/push"' in page.text


def test_cookie_secure_sets_the_secure_flag(hq, tmp_path):
    text = hq["config"].read_text(encoding="utf-8").replace(
        "refresh_s = 2", "refresh_s = 2\ncookie_secure = true")
    path = tmp_path / "secure.toml"
    path.write_text(text, encoding="utf-8")
    with serving(create_app(load_hq_config(path), clock=Clock())) as base:
        page = requests.get(base + "/login")
        assert "Secure" in page.headers["set-cookie"]
        # a client sends a Secure cookie over HTTPS only: hand it over as the proxy would
        token = csrf_of(page.text)
        r = requests.post(base + "/login", allow_redirects=False, cookies={"cxhq_login": token},
                          data={"csrf": token, "username": "ana",
                                "password": PASSWORDS["ana"][1]})
        assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]


def test_login_without_or_with_a_wrong_csrf_token_is_refused(server):
    base, _, _ = server
    http = requests.Session()
    token = csrf_of(http.get(base + "/login").text)
    good = {"username": "root", "password": PASSWORDS["root"][1]}
    assert http.post(base + "/login", data=good, allow_redirects=False).status_code == 403
    assert http.post(base + "/login", data={**good, "csrf": token[::-1]},
                     allow_redirects=False).status_code == 403
    # the token of another browser (its own cookie) does not fit this one
    assert requests.post(base + "/login", data={**good, "csrf": token},
                         allow_redirects=False).status_code == 403
    assert "cxhq_session" not in http.cookies


def test_wrong_password_and_unknown_user_read_the_same(server):
    base, _, _ = server
    _, wrong = login(base, "root", "not-the-password")
    _, unknown = login(base, "nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong username or password" in wrong.text and "Wrong username or password" in \
        unknown.text


def test_an_analyst_may_not_push_settings(server):
    base, _, publisher = server
    http, _ = login(base, "ana")
    assert http.get(base + "/push").status_code == 403
    token = csrf_of(http.get(base + "/").text)        # the logout form carries it
    r = http.post(base + "/push", data={"csrf": token, "scope": "chain",
                                        "settings": "[targets]\nnps = 40\n"})
    assert r.status_code == 403
    assert 'href="/push"' not in http.get(base + "/").text
    assert publisher.calls == []


def test_push_needs_the_csrf_token_of_the_session(server):
    base, _, publisher = server
    http, _ = login(base, "root")
    form = {"scope": "store", "which": "acme/hcm-d1", "settings": "[targets]\nnps = 40\n"}
    assert http.post(base + "/push", data=form).status_code == 403
    assert http.post(base + "/push", data={**form, "csrf": "guess"}).status_code == 403
    other, _ = login(base, "root")                   # another session's token
    other_token = csrf_of(other.get(base + "/push").text)
    assert http.post(base + "/push", data={**form, "csrf": other_token}).status_code == 403
    assert publisher.calls == []
    r = http.post(base + "/push", data={**form, "csrf": csrf_of(http.get(base + "/push").text)})
    assert r.status_code == 200 and "Version 1 published to 2 stations" in r.text
    assert publisher.calls == [{"text": form["settings"], "station": None,
                                "store": "acme/hcm-d1", "chain": False, "who": "root"}]


def test_push_of_a_file_and_a_refusal_naming_the_key_keeps_the_text(server):
    base, _, publisher = server
    http, _ = login(base, "root")
    token = csrf_of(http.get(base + "/push").text)
    r = http.post(base + "/push", data={"csrf": token, "scope": "chain"},
                  files={"file": ("settings.toml", b"[targets]\nnps = 45\n", "text/plain")})
    assert r.status_code == 200 and publisher.calls[-1]["chain"] is True
    assert publisher.calls[-1]["text"] == "[targets]\nnps = 45\n"
    bad = "[targets]\nbogus = 1\n"
    r = http.post(base + "/push", data={"csrf": token, "scope": "station",
                                        "which": "acme/hcm-d1/kiosk-1", "settings": bad})
    assert r.status_code == 400 and "unknown key &#39;bogus&#39;" in r.text
    assert "bogus = 1" in r.text                       # nothing typed is lost
    r = http.post(base + "/push", data={"csrf": token, "scope": "store", "settings": bad})
    assert r.status_code == 400 and "Name the station or store" in r.text
    r = http.post(base + "/push", data={"csrf": token, "scope": "galaxy", "settings": bad})
    assert r.status_code == 400 and "scope must be station, store or chain" in r.text
    r = http.post(base + "/push", data={"csrf": token, "scope": "chain"},
                  files={"file": ("s.toml", b"\xff\xfe not text", "text/plain")})
    assert r.status_code == 400 and "not UTF-8" in r.text
    assert len(publisher.calls) == 1


def test_logout_needs_csrf_and_ends_the_session(server):
    base, _, _ = server
    http, _ = login(base, "ana")
    token = csrf_of(http.get(base + "/").text)
    assert http.post(base + "/logout", data={}, allow_redirects=False).status_code == 403
    assert http.get(base + "/", allow_redirects=False).status_code == 200
    assert http.post(base + "/logout", data={"csrf": token},
                     allow_redirects=False).status_code == 303
    old = {"cxhq_session": http.cookies.get("cxhq_session") or "gone"}
    assert requests.get(base + "/", cookies=old, allow_redirects=False).status_code == 303


def test_a_session_ends_after_its_lifetime(server, hq):
    base, clock, _ = server
    http, _ = login(base, "ana")
    assert http.get(base + "/", allow_redirects=False).status_code == 200
    clock.now += load_hq_config(hq["config"]).web.session_lifetime_s + 1
    assert http.get(base + "/", allow_redirects=False).status_code == 303


def test_lockout_per_user_then_released(server):
    base, clock, _ = server
    for _ in range(3):                                # lockout_failures = 3 in web_sample
        assert login(base, "root", "wrong-password")[1].status_code == 401
    http, r = login(base, "root")                     # the right password, but locked
    assert r.status_code == 429 and "try again in 10 min" in r.text
    assert "cxhq_session" not in http.cookies
    clock.now += 10 * 60 + 1
    assert login(base, "root")[1].status_code == 303


def test_failures_older_than_the_lockout_window_are_forgotten(server):
    base, clock, _ = server
    for _ in range(2):
        assert login(base, "root", "wrong-password")[1].status_code == 401
    clock.now += 10 * 60 + 1                          # the window of web_sample's lockout
    for _ in range(2):
        assert login(base, "root", "wrong-password")[1].status_code == 401
    assert login(base, "root")[1].status_code == 303


def test_parallel_guesses_cannot_outrun_the_lockout(server):
    base, _, _ = server
    forms = []
    for _ in range(8):                                # each its own login token and cookie
        http = requests.Session()
        forms.append((http, csrf_of(http.get(base + "/login").text)))
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda f: f[0].post(
            base + "/login", allow_redirects=False,
            data={"csrf": f[1], "username": "root", "password": "guess-password"}).status_code,
            forms))
    assert sorted(codes) == [401] * 3 + [429] * 5


def test_lockout_per_client_address_across_usernames(server):
    base, _, _ = server
    for name in ("a1", "a2", "a3"):                   # one address guessing several users
        assert login(base, name, "guess-password")[1].status_code == 401
    assert login(base, "ana")[1].status_code == 429


def test_security_headers_and_no_open_redirect(server):
    base, _, _ = server
    http, _ = login(base, "ana")
    page = http.get(base + "/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and " style=" not in page.text   # CSP-clean markup
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        http2 = requests.Session()
        token = csrf_of(http2.get(base + "/login").text)
        r = http2.post(base + "/login", allow_redirects=False,
                       data={"csrf": token, "username": "ana", "password": PASSWORDS["ana"][1],
                             "next": target})
        assert r.headers["location"] == "/", target


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(username=st.text(max_size=40), password=st.text(max_size=40),
       csrf=st.one_of(st.none(), st.text(max_size=60)), cookie=st.text(
           alphabet=st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=";,\\\""),
           max_size=60))
def test_arbitrary_login_forms_and_cookies_never_get_in_nor_crash(server, username, password,
                                                                   csrf, cookie):
    base, clock, _ = server
    clock.now += 3600                                  # no lockout carried between examples
    form = {"username": username, "password": password}
    if csrf is not None:
        form["csrf"] = csrf
    r = requests.post(base + "/login", data=form, cookies={"cxhq_login": cookie,
                                                           "cxhq_session": cookie},
                      allow_redirects=False)
    assert r.status_code in (401, 403, 429)
    assert "cxhq_session=" not in r.headers.get("set-cookie", "")
    r = requests.get(base + "/api/live", cookies={"cxhq_session": cookie})
    assert r.status_code == 401


def test_web_config_errors_name_the_key(hq, tmp_path):
    base = hq["config"].read_text(encoding="utf-8")
    for broken, key in (('role = "analyst"', "web.users[0].role"),
                        ('lockout_failures = 3', "web.lockout_failures")):
        wrong = base.replace(broken, broken.replace('"analyst"', '"boss"')
                             .replace("= 3", "= 0"), 1)
        path = tmp_path / "broken.toml"
        path.write_text(wrong, encoding="utf-8")
        with pytest.raises(ConfigError) as err:
            load_hq_config(path)
        assert err.value.path == key
    path.write_text(base + base[base.index("[[web.users]]"):].split("[[web.users]]")[0] +
                    "[[web.users]]" + base.split("[[web.users]]")[1], encoding="utf-8")
    with pytest.raises(ConfigError, match="listed twice") as err:
        load_hq_config(path)
    assert err.value.path == "web.users[2].username"


def test_passwd_prints_a_hash_the_login_accepts():
    out = subprocess.run([sys.executable, "-m", "hq", "passwd", "--stdin"],
                         input="correct horse battery\n", capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out.startswith("scrypt$") and verify_pin("correct horse battery", out)
    short = subprocess.run([sys.executable, "-m", "hq", "passwd", "--stdin"], input="short\n",
                           capture_output=True, text=True)
    assert short.returncode == 2 and "at least 10" in short.stderr
