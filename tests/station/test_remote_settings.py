"""Settings pushed from HQ, on the station: the allowlist, the typed checks, the message, and
applying or refusing it against a real SQLite store."""
from __future__ import annotations

import json
import tomllib

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from station.config import ConfigError, load_config
from station.remote_settings import (ALERT_KIND, HQ_SETTABLE, check_settings, decode_push,
                                     effective_config, encode_push, receive_push)
from station.store import Store

GOOD = """
[targets.nps]
value = 45
period = "month"

[kiosk]
review_url = "https://example.com/review"

[kiosk.wording.vi]
question = "Bạn có giới thiệu {store} không?"
[kiosk.wording.en]
question = "Would you recommend {store}?"
thanks_promoter = "Thanks, fan!"

[[kiosk.reasons.detractor]]
id = "queue"
en = "Long queue"
vi = "Xếp hàng lâu"

[alerts]
camera_min_fps = 5.0
kiosk_quiet_hours = 3
"""


def refused(settings) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        check_settings(settings)
    return info.value


@pytest.mark.parametrize("toml, key, words", [
    ('[database]\npath = "/tmp/x.db"', "database.path", "HQ may not set"),
    ('[kiosk]\nadmin_pin_hash = ""', "kiosk.admin_pin_hash", "HQ may not set"),
    ('[alerts]\ncommand = ["rm", "-rf", "/"]', "alerts.command", "HQ may not set"),
    ('[sync]\nbroker_host = "evil"', "sync.broker_host", "HQ may not set"),
    ('[kiosk]\nreview_link = "x"', "kiosk.review_link", "unknown key"),
    ('[nonsense]\na = 1', "nonsense", "unknown key"),
    ('[kiosk]\nreview_url = 5', "kiosk.review_url", "must be a string"),
    ('[alerts]\ncamera_min_fps = 500', "alerts.camera_min_fps", "out of range"),
    ('[alerts]\ncamera_min_fps = "fast"', "alerts.camera_min_fps", "must be a number"),
    ('[targets.nps]\nvalue = 140', "targets.nps.value", "-100..100"),
    ('[targets.nps]\nperiod = "week"', "targets.nps.value", "is required"),
    ('[kiosk.wording.vi]\nquestion = "Hi {name}"', "kiosk.wording.vi.question", "placeholder"),
    ('[kiosk.wording.fr]\nquestion = "Bonjour"', "kiosk.wording.fr", "unknown key"),
    ('[[kiosk.reasons.detractor]]\nid = "Bad Id"\nen = "x"\nvi = "y"',
     "kiosk.reasons.detractor[0].id", "wrong form"),
])
def test_a_bad_key_is_refused_by_name(toml, key, words):
    error = refused(tomllib.loads(toml))
    assert error.path == key
    assert words in str(error)


def test_the_allowlist_names_real_keys_and_no_dangerous_ones():
    assert "alerts.camera_min_fps" in HQ_SETTABLE and "alerts.command" not in HQ_SETTABLE
    assert not any(k.startswith(("database", "sync", "broker", "hq", "vision", "station"))
                   for k in HQ_SETTABLE)
    assert "kiosk.admin_pin_hash" not in HQ_SETTABLE and "kiosk.logo" not in HQ_SETTABLE


def test_good_settings_lay_over_the_toml(demo_config, tmp_path):
    config = load_config(demo_config)
    store = Store.open(config)
    try:
        outcome = receive_push(store, config, encode_push(3, "alice", "hq",
                                                          tomllib.loads(GOOD)))
        assert outcome.state == "applied" and outcome.version == 3
        effective = effective_config(config, store)
        assert effective.kiosk.review_url == "https://example.com/review"
        assert effective.kiosk.wording.en.thanks_promoter == "Thanks, fan!"
        assert [r.id for r in effective.kiosk.reasons.detractor] == ["queue"]
        # a table pushed in part keeps the rest of the TOML's
        assert effective.kiosk.reasons.promoter == config.kiosk.reasons.promoter
        assert effective.alerts.camera_min_fps == 5.0
        assert effective.alerts.command == config.alerts.command
        assert effective.station == config.station
        target = store.target("nps")
        assert (target.value, target.period) == (45, "month")
        change = store.db.execute("SELECT source, who FROM target_changes ORDER BY id DESC "
                                  "LIMIT 1").fetchone()
        assert change == ("hq", "alice")
        assert store.health()["settings"]["version"] == 3
        # the same message again (retained redelivery) and an older one change nothing
        assert receive_push(store, config, encode_push(3, "alice", "hq", {})).state == "ignored"
        assert receive_push(store, config, encode_push(2, "bob", "hq", {})).state == "ignored"
        # the next push replaces this one as a whole: what it leaves out is the TOML's again
        assert receive_push(store, config, encode_push(4, "bob", "hq", tomllib.loads(
            '[kiosk]\nreview_url = "https://example.com/v4"'))).state == "applied"
        effective = effective_config(config, store)
        assert effective.kiosk.review_url == "https://example.com/v4"
        assert effective.kiosk.reasons == config.kiosk.reasons
        history = store.settings_history()
        assert [h["version"] for h in history] == [4, 3]
        assert json.loads(history[0]["old_settings"])["kiosk"]["review_url"] == \
            "https://example.com/review"
    finally:
        store.close()


@pytest.mark.parametrize("payload, key", [
    (b"not json", "<payload>"),
    (b"[1, 2]", "<payload>"),
    (json.dumps({"v": 1, "hq": "hq", "version": "7", "who": "x", "pushed_at": "t",
                 "settings": {}}).encode(), "version"),
    (json.dumps({"v": 1, "hq": "hq", "version": 7, "who": "", "pushed_at": "t",
                 "settings": {}}).encode(), "who"),
    (encode_push(7, "mallory", "hq", {"database": {"path": "/etc/passwd"}}), "database.path"),
    (encode_push(7, "mallory", "other-hq", {}), "hq"),
    (encode_push(7, "mallory", "hq", {"alerts": {"camera_min_fps": -1}}),
     "alerts.camera_min_fps"),
])
def test_a_hostile_message_is_refused_whole_with_the_key_named(demo_config, payload, key):
    config = load_config(demo_config)
    store = Store.open(config)
    try:
        before = store.target("nps")
        outcome = receive_push(store, config, payload)
        assert (outcome.state, outcome.key) == ("rejected", key)
        assert store.applied_settings() is None and store.target("nps") == before
        assert effective_config(config, store) == config
        assert store.health()["settings"]["rejected"]["key"] == key
        (alert,) = store.alerts(state="open")
        assert alert.kind == ALERT_KIND and alert.context["key"] == key
        # heard again at the next reconnect: not a second refusal
        assert receive_push(store, config, payload).state == "ignored"
        assert len(store.settings_history()) == 1
        # a good push resolves the alert
        assert receive_push(store, config, encode_push(8, "alice", "hq", {})).state == "applied"
        assert store.alerts(state="open") == [] and \
            store.health()["settings"]["rejected"] is None
    finally:
        store.close()


def test_a_push_that_the_stations_own_toml_contradicts_is_refused(demo_config):
    """HQ checks a section on its defaults; the station checks it on its own TOML."""
    config = load_config(demo_config)
    store = Store.open(config)
    try:
        outcome = receive_push(store, config, encode_push(1, "a", "hq", {
            "targets": {"nps": {"value": 200}}}))
        assert outcome.state == "rejected" and outcome.key == "targets.nps.value"
    finally:
        store.close()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                  max_size=4),
    max_leaves=20)
keys = st.sampled_from(["targets", "kiosk", "alerts", "database", "sync", "review_url",
                        "wording", "vi", "en", "question", "nps", "value", "period",
                        "camera_min_fps", "command", "reasons", "detractor", "id"])
settings_like = st.recursive(json_values, lambda inner: st.dictionaries(keys, inner,
                                                                         max_size=4),
                             max_leaves=30)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(version=st.one_of(st.integers(-5, 2 ** 60), st.text(max_size=5), st.none()),
       who=st.one_of(st.text(max_size=10), st.integers()),
       body=settings_like, garbage=st.binary(max_size=64), raw=st.booleans())
def test_fuzz_the_payload_parser_returns_a_push_or_names_a_key(version, who, body, garbage,
                                                               raw):
    """Whatever arrives: a Push whose settings pass the checks, or a ConfigError with a
    key, never another exception."""
    if raw:
        payload = garbage
    else:
        payload = json.dumps({"v": 1, "hq": "hq", "version": version, "who": who,
                              "pushed_at": "2026-01-01T00:00:00Z", "settings": body}).encode()
    try:
        push = decode_push(payload)
    except ConfigError as exc:
        assert exc.path
        return
    check_settings(push.settings)
    assert isinstance(push.version, int) and push.version >= 1


def test_cx_watch_takes_pushed_thresholds_without_a_restart(demo_config):
    from station.watch import WatchService
    config = load_config(demo_config)
    store = Store.open(config)
    service = WatchService(config, Store.open(config))
    try:
        service.watcher.check(1e9)
        assert not [a for a in store.alerts() if a.kind == "disk_low"]
        # no disk is that big: the pushed threshold must raise the alert
        assert receive_push(store, config, encode_push(1, "alice", "hq", {
            "alerts": {"disk_free_min_mb": 1e12}})).state == "applied"
        service.watcher.use(effective_config(config, store))
        service.watcher.check(1e9 + 100)
        (alert,) = [a for a in store.alerts() if a.kind == "disk_low"]
        assert alert.context["min_free_mb"] == 1e12
    finally:
        service.watcher.store.close()
        store.close()
