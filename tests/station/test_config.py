"""station/config.py and `cx-station config check`: typed, frozen, strict config files."""
from __future__ import annotations

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from station.config import Config, ConfigError, load_config
from station_testlib import DEMO, EXAMPLE, run_cli

MINIMAL = """
[station]
org = "acme"
store = "hcm-01"
id = "kiosk-1"
timezone = "Asia/Ho_Chi_Minh"

[database]
path = "data/station.db"
"""

VISION = """
[vision]
camera = ""
kiosk_zone = "kiosk"

[[vision.lines]]
name = "door"
a = [10, 10]
b = [10, 200]

[[vision.zones]]
name = "kiosk"
polygon = [[0, 0], [50, 0], [50, 50]]
"""

# (test id, file text, key path that stderr must name, another word it must contain)
MALFORMED = [
    ("unknown_top_level_key", 'colour = "red"\n' + MINIMAL, "colour", "unknown key"),
    ("unknown_nested_key", MINIMAL + "\n[kiosk]\nfancy = true\n", "kiosk.fancy", "unknown key"),
    ("unknown_key_in_list_item", MINIMAL + VISION.replace('name = "door"', 'name = "door"\nc = 1'),
     "vision.lines[0].c", "unknown key"),
    ("wrong_type_bool", MINIMAL + '\n[kiosk]\ncsat = "yes"\n', "kiosk.csat", "'yes'"),
    ("wrong_type_list", MINIMAL + '\n[kiosk]\nlanguages = "vi"\n', "kiosk.languages", "list"),
    ("bool_is_not_an_integer", MINIMAL + "\n[vision]\nthreads = true\n", "vision.threads",
     "integer"),
    ("wrong_type_section", "kiosk = 3\n" + MINIMAL, "kiosk", "table"),
    ("out_of_range_number", MINIMAL + "\n[sync]\nbroker_port = 70000\n", "sync.broker_port",
     "70000"),
    ("out_of_range_float", MINIMAL + "\n[kiosk]\nidle_timeout_s = 0.5\n", "kiosk.idle_timeout_s",
     "0.5"),
    ("nan_number", MINIMAL + "\n[kiosk]\nidle_timeout_s = nan\n", "kiosk.idle_timeout_s", "nan"),
    ("infinite_number", MINIMAL + "\n[vision]\nfps_cap = inf\n", "vision.fps_cap", "inf"),
    ("string_inside_a_point", MINIMAL + VISION.replace("a = [10, 10]", 'a = [10, "x"]'),
     "vision.lines[0].a[1]", "'x'"),
    ("bad_choice", MINIMAL + '\n[logging]\nlevel = "LOUD"\n', "logging.level", "'LOUD'"),
    ("bad_choice_in_list", MINIMAL + '\n[kiosk]\nlanguages = ["vi", "fr"]\n',
     "kiosk.languages[1]", "'fr'"),
    ("bad_mqtt_version", MINIMAL + '\n[sync]\nmqtt_version = "4"\n', "sync.mqtt_version", "'4'"),
    ("bad_id_pattern", MINIMAL.replace('org = "acme"', 'org = "ACME Corp"'), "station.org",
     "'ACME Corp'"),
    ("bad_reason_id_pattern", MINIMAL + '\n[[kiosk.reasons.detractor]]\nid = "Long Wait!"\n'
     'en = "Long wait"\nvi = "Chờ lâu"\n', "kiosk.reasons.detractor[0].id", "'Long Wait!'"),
    ("bad_pin_hash", MINIMAL + '\n[kiosk]\nadmin_pin_hash = "1234"\n', "kiosk.admin_pin_hash",
     "'1234'"),
    ("bad_topic_prefix", MINIMAL + '\n[sync]\ntopic_prefix = "cx/#"\n', "sync.topic_prefix",
     "cx/#"),
    ("missing_required_key", MINIMAL.replace('id = "kiosk-1"\n', ""), "station.id", "required"),
    ("missing_required_section", MINIMAL.split("[database]")[0], "database", "required"),
    ("missing_reason_label", MINIMAL + '\n[[kiosk.reasons.promoter]]\nid = "staff"\nen = "Staff"\n',
     "kiosk.reasons.promoter[0].vi", "required"),
    ("bad_timezone", MINIMAL.replace("Asia/Ho_Chi_Minh", "Mars/Olympus_Mons"), "station.timezone",
     "Mars/Olympus_Mons"),
    ("duplicate_line_names", MINIMAL + VISION + '\n[[vision.lines]]\nname = "door"\n'
     'a = [0, 0]\nb = [5, 5]\n', "vision.lines[1].name", "duplicate"),
    ("duplicate_zone_names", MINIMAL + VISION + '\n[[vision.zones]]\nname = "kiosk"\n'
     'polygon = [[0, 0], [1, 0], [1, 1]]\n', "vision.zones[1].name", "duplicate"),
    ("kiosk_zone_names_a_missing_zone", MINIMAL + VISION.replace('kiosk_zone = "kiosk"',
                                                                 'kiosk_zone = "till"'),
     "vision.kiosk_zone", "'till'"),
    ("default_language_not_in_languages",
     MINIMAL + '\n[kiosk]\nlanguages = ["en"]\ndefault_language = "vi"\n',
     "kiosk.default_language", "'vi'"),
    ("no_languages", MINIMAL + '\n[kiosk]\nlanguages = []\n', "kiosk.languages", "at least one"),
    ("line_with_a_equal_b", MINIMAL + VISION.replace("b = [10, 200]", "b = [10, 10]"),
     "vision.lines[0].b", "differ"),
    ("line_point_with_three_coordinates", MINIMAL + VISION.replace("a = [10, 10]", "a = [1, 2, 3]"),
     "vision.lines[0].a", "[x, y]"),
    ("polygon_with_two_points", MINIMAL + VISION.replace("[[0, 0], [50, 0], [50, 50]]",
                                                         "[[0, 0], [50, 0]]"),
     "vision.zones[0].polygon", "at least 3"),
    ("empty_database_path", MINIMAL.replace('path = "data/station.db"', 'path = ""'),
     "database.path", "path"),
    ("invalid_toml", MINIMAL + "\n[kiosk\ncsat = true\n", "<file>", "not valid TOML"),
    ("detector_input_with_one_number", MINIMAL + VISION.replace("[vision]", "[vision]\ndetector_input = [480]"),
     "vision.detector_input", "[width, height]"),
    ("detector_input_too_small", MINIMAL + VISION.replace("[vision]", "[vision]\ndetector_input = [32, 32]"),
     "vision.detector_input", "64..4096"),
]


def _write(tmp_path: Path, text) -> Path:
    path = tmp_path / "station.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name,text,key,word", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_config_is_rejected_naming_the_key(tmp_path, name, text, key, word):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.path == key
    assert word in str(info.value)


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """`cx-station config check` run on every malformed file, a few processes at a time."""
    folder = tmp_path_factory.mktemp("malformed")
    paths = {}
    for name, text, _, _ in MALFORMED:
        (folder / name).mkdir()
        paths[name] = _write(folder / name, text)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(lambda name: run_cli("config", "check", paths[name]), paths)
        return dict(zip(paths, results))


@pytest.mark.parametrize("name,text,key,word", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_config_check_exits_2_and_names_the_key(checked, name, text, key, word):
    result = checked[name]
    assert result.returncode == 2, result.stdout + result.stderr
    assert key in result.stderr and word in result.stderr
    assert "Traceback" not in result.stderr
    assert "OK" not in result.stdout


def test_non_utf8_file_is_rejected(tmp_path):
    path = _write(tmp_path, MINIMAL.encode() + b'\nname = "Qu\xe1n"\n')
    result = run_cli("config", "check", path)
    assert result.returncode == 2
    assert "<file>" in result.stderr and "UTF-8" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_is_rejected(tmp_path):
    result = run_cli("config", "check", tmp_path / "nope.toml")
    assert result.returncode == 2
    assert "nope.toml" in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_directory_instead_of_a_file_is_rejected(tmp_path):
    result = run_cli("config", "check", tmp_path)
    assert result.returncode == 2
    assert "<file>" in result.stderr and "cannot be read" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("path", [DEMO, EXAMPLE], ids=["demo", "example"])
def test_shipped_configs_pass_config_check(path):
    result = run_cli("config", "check", path, cwd="/")
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


def test_demo_config_loads_into_a_frozen_typed_object():
    config = load_config(DEMO)
    assert isinstance(config, Config)
    assert config.station.path == "demo/store-1/kiosk-1"
    assert config.vision.kiosk_zone in {z.name for z in config.vision.zones}
    assert all(isinstance(line.a[0], float) for line in config.vision.lines)
    assert config.source == DEMO.resolve()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.station.id = "other"  # type: ignore[misc]


def test_example_config_loads_and_documents_every_section():
    config = load_config(EXAMPLE)
    text = EXAMPLE.read_text(encoding="utf-8")
    for section in ("station", "database", "kiosk", "vision", "sync", "retention", "privacy"):
        assert f"[{section}]" in text
    assert config.privacy.min_n >= 1


def test_minimal_config_gets_documented_defaults(tmp_path):
    config = load_config(_write(tmp_path, MINIMAL))
    assert config.privacy.min_n == 30 and config.privacy.k_floor == 5
    assert config.kiosk.languages == ["vi", "en"]
    assert [(c.id, c.kind) for c in config.vision.cameras] == [("main", "none")]
    assert config.vision.lines == [] and config.kiosk.reasons.detractor == []


def test_relative_paths_resolve_against_the_config_files_directory(tmp_path, monkeypatch):
    folder = tmp_path / "etc" / "cx"
    folder.mkdir(parents=True)
    text = MINIMAL + '\n[vision]\ncamera = "clips/door.avi"\nmodels_dir = "../models"\n' \
                     '\n[hq]\nconfig = "/abs/hq.toml"\n'
    path = folder / "station.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.chdir("/")
    config = load_config(os.path.relpath(path, "/"))
    assert config.database.path == folder / "data" / "station.db"
    assert config.vision.models_dir == tmp_path / "etc" / "models"
    assert Path(config.vision.camera("main").source) == folder / "clips" / "door.avi"
    assert config.vision.camera("main").kind == "file"
    assert config.hq.config == Path("/abs/hq.toml")


@pytest.mark.parametrize("camera,kind", [("0", "device"), ("rtsp://user@cam/stream", "url"),
                                         ("http://cam/mjpg", "url"), ("", "none")])
def test_camera_sources_other_than_files_are_kept_as_written(tmp_path, camera, kind):
    config = load_config(_write(tmp_path, MINIMAL + f'\n[vision]\ncamera = "{camera}"\n'))
    assert config.vision.camera("main").source == camera
    assert config.vision.camera("main").kind == kind


def test_the_kiosk_brand_is_checked_when_the_config_loads(tmp_path):
    from station.config import ConfigError, parse_config
    base = {"station": {"org": "a", "store": "s", "id": "k"}, "database": {"path": "x.db"}}
    with pytest.raises(ConfigError) as err:
        parse_config({**base, "kiosk": {"logo": "logo.png"}}, tmp_path)
    assert err.value.path == "kiosk.logo" and "not a file" in err.value.message
    with pytest.raises(ConfigError) as err:
        parse_config({**base, "kiosk": {"brand_color": "blue"}}, tmp_path)
    assert err.value.path == "kiosk.brand_color"
    (tmp_path / "logo.png").write_bytes(b"\x89PNG")
    config = parse_config({**base, "kiosk": {"logo": "logo.png", "brand_color": "#aa0000"}},
                          tmp_path)
    assert config.kiosk.logo == tmp_path / "logo.png" and config.kiosk.brand_color == "#aa0000"


def test_gender_min_confidence_is_calibrated_by_default_or_at_least_one_half(tmp_path):
    from station.config import parse_config
    base = {"station": {"org": "a", "store": "s", "id": "k"}, "database": {"path": "x.db"}}
    assert parse_config(base, tmp_path).vision.gender_min_confidence == 0     # = calibrated
    assert parse_config({**base, "vision": {"gender_min_confidence": 0.9}},
                        tmp_path).vision.gender_min_confidence == 0.9
    with pytest.raises(ConfigError) as err:
        parse_config({**base, "vision": {"gender_min_confidence": 0.3}}, tmp_path)
    assert err.value.path == "vision.gender_min_confidence" and "0.5..1" in err.value.message
