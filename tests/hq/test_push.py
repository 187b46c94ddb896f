"""`cx-hq push` checks before it publishes: the settings HQ may set, by the station's rules."""
from __future__ import annotations

from pathlib import Path

import pytest

from hq.push import PushError, parse_settings_text, publish_settings
from station.config import load_config

REPO = Path(__file__).resolve().parents[2]


def test_the_demo_push_file_passes_and_the_example_config_loads():
    settings = parse_settings_text((REPO / "config" / "demo-push.toml").read_text())
    assert settings["kiosk"]["review_url"].startswith("https://")
    example = load_config(REPO / "config" / "station.example.toml")
    assert "{store}" in example.kiosk.wording.vi.question


@pytest.mark.parametrize("text, key", [
    ("[database]\npath = 'x'", "database.path"),
    ("[kiosk]\nadmin_pin_hash = ''", "kiosk.admin_pin_hash"),
    ("[kiosk]\nlogo = 'x.png'", "kiosk.logo"),
    ("[alerts]\ncommand = ['sh']", "alerts.command"),
    ("[alerts]\nsound = true", "alerts.sound"),
    ("[alerts]\ndisk_free_min_mb = inf", "alerts.disk_free_min_mb"),
    ("[targets.ces]\nvalue = 9", "targets.ces.value"),
    ("[kiosk", "<file>"),
])
def test_a_bad_file_is_refused_with_the_key_named(text, key):
    with pytest.raises(PushError) as info:
        parse_settings_text(text)
    assert info.value.key == key and str(info.value).startswith(key)


def test_the_stations_named_must_be_known(tmp_path):
    from hq.config import load_hq_config
    from hq.db import HqDb
    hq_toml = tmp_path / "hq.toml"
    hq_toml.write_text(f'[database]\npath = "{tmp_path / "hq.db"}"\n')
    config = load_hq_config(hq_toml)
    HqDb.open(config.database.path).close()
    for target in ({"station": "acme/s1/k1"}, {"store": "acme/s1"}, {"chain": True}):
        with pytest.raises(PushError, match="known"):
            publish_settings(config, "[alerts]\nkiosk_quiet_hours = 3", who="a", **target)
    with pytest.raises(ValueError, match="exactly one"):
        publish_settings(config, "", station="a/b/c", chain=True, who="a")


def test_versions_pass_what_stations_reported(tmp_path):
    """A reset HQ database must not push versions its stations ignore as old."""
    import json as _json

    from hq.config import load_hq_config
    from hq.db import HqDb
    from hq.push import _record
    hq_toml = tmp_path / "hq.toml"
    hq_toml.write_text(f'[database]\npath = "{tmp_path / "hq.db"}"\n')
    db = HqDb.open(load_hq_config(hq_toml).database.path)
    try:
        db.db.execute("INSERT INTO stations (station, health) VALUES ('a/b/c', ?), "
                      "('a/b/d', 'not json'), ('a/b/e', ?)",
                      (_json.dumps({"settings": {"version": 7, "rejected": {"version": 9}}}),
                       _json.dumps({"settings": None})))
        assert _record(db.db, ["a/b/c"], "", "x", 0.0) == 8
        assert _record(db.db, ["a/b/c", "a/b/d"], "", "x", 0.0) == 9
    finally:
        db.close()
