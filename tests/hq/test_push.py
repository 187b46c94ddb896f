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


def hq_config_at(tmp_path, hq_location):
    """An HQ config whose [database] is `hq_location` (an SQLite path or a PostgreSQL URL)."""
    from hq.config import load_hq_config
    hq_toml = tmp_path / "hq.toml"
    key = "path" if isinstance(hq_location, Path) else "url"
    hq_toml.write_text(f'[database]\n{key} = "{hq_location}"\n')
    return load_hq_config(hq_toml)


def test_the_stations_named_must_be_known(tmp_path, hq_location):
    from hq.db import HqDb
    config = hq_config_at(tmp_path, hq_location)
    HqDb.for_config(config.database).close()
    for target in ({"station": "acme/s1/k1"}, {"store": "acme/s1"}, {"chain": True}):
        with pytest.raises(PushError, match="known"):
            publish_settings(config, "[alerts]\nkiosk_quiet_hours = 3", who="a", **target)
    with pytest.raises(ValueError, match="exactly one"):
        publish_settings(config, "", station="a/b/c", chain=True, who="a")


def test_versions_pass_what_stations_reported(tmp_path, hq_location):
    """A reset HQ database must not push versions its stations ignore as old."""
    import json as _json

    from hq.db import HqDb
    from hq.push import _record
    from hq.stats import pushed_versions
    db = HqDb.for_config(hq_config_at(tmp_path, hq_location).database)
    try:
        assert _record(db, ["a/b/x"], "", "x", 0.0) == 1          # no station reported yet
        db.db.execute("INSERT INTO stations (station, health) VALUES ('a/b/c', ?), "
                      "('a/b/d', 'not json'), ('a/b/e', ?)",
                      (_json.dumps({"settings": {"version": 7, "rejected": {"version": 9}}}),
                       _json.dumps({"settings": None})))
        assert _record(db, ["a/b/c"], "", "x", 0.0) == 8
        assert _record(db, ["a/b/c", "a/b/d"], "", "x", 0.0) == 9
        assert pushed_versions(db.db) == {}                  # none published yet
        db.db.execute("UPDATE settings_pushes SET published_at = 1 WHERE version <> 8")
        assert pushed_versions(db.db) == {"a/b/x": 1, "a/b/c": 9, "a/b/d": 9}
    finally:
        db.close()


def test_concurrent_pushes_never_share_a_version(tmp_path, hq_location):
    """Pushes from several dashboards or shells at once each get their own version (on
    PostgreSQL two transactions would otherwise both read the same max(version))."""
    from concurrent.futures import ThreadPoolExecutor

    from hq.db import HqDb
    from hq.push import _record
    config = hq_config_at(tmp_path, hq_location)
    HqDb.for_config(config.database).close()

    def push(i):
        db = HqDb.for_config(config.database)
        try:
            return [_record(db, [f"a/b/k{i}"], "", "x", 0.0) for _ in range(5)]
        finally:
            db.close()

    with ThreadPoolExecutor(6) as pool:
        versions = [v for vs in pool.map(push, range(6)) for v in vs]
    assert sorted(versions) == list(range(1, 31))
