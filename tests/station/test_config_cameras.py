"""[[vision.cameras]]: several cameras in one station config, the old single-camera [vision]
form as the camera "main", and errors that name the key in the form the file has."""
from __future__ import annotations

import pytest

from station.config import ConfigError, load_config
from station_testlib import DEMO, EXAMPLE

HEAD = """
[station]
org = "acme"
store = "hcm-01"
id = "kiosk-1"
[database]
path = "station.db"
"""

TWO = HEAD + """
[vision]
detect_every = 3

[[vision.cameras]]
id = "door"
source = "rtsp://cam1/stream"
[[vision.cameras.lines]]
name = "door"
a = [0, 200]
b = [640, 200]
[[vision.cameras.lines]]
name = "aisle"
a = [0, 100]
b = [640, 100]
entrance = false

[[vision.cameras]]
id = "kiosk-cam"
source = "clips/kiosk.avi"
fps_cap = 7
kiosk_zone = "kiosk"
[[vision.cameras.lines]]
name = "kiosk_path"
a = [10, 10]
b = [10, 300]
entrance = false
[[vision.cameras.zones]]
name = "kiosk"
polygon = [[0, 0], [50, 0], [50, 50]]
"""


def load(tmp_path, text):
    path = tmp_path / "station.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_two_cameras_each_with_their_own_source_lines_zones_and_fps_cap(tmp_path):
    vision = load(tmp_path, TWO).vision
    door, kiosk = vision.cameras
    assert (door.id, door.kind, door.fps_cap) == ("door", "url", 15.0)
    assert (kiosk.id, kiosk.kind, kiosk.fps_cap) == ("kiosk-cam", "file", 7.0)
    assert kiosk.source == str(tmp_path / "clips" / "kiosk.avi")   # relative to the file
    assert vision.detect_every == 3                                # shared by every camera
    # the station's view over all cameras: footfall is the entrance lines of any camera
    assert [line.name for line in vision.lines] == ["door", "aisle", "kiosk_path"]
    assert vision.entrance_lines == ["door"]
    assert vision.kiosk_zone == "kiosk" and vision.camera("kiosk-cam") is kiosk
    with pytest.raises(KeyError, match="no camera 'back'.*'door', 'kiosk-cam'"):
        vision.camera("back")


def test_the_single_camera_form_still_loads_as_the_camera_main():
    for path in (DEMO, EXAMPLE):
        vision = load_config(path).vision
        assert [c.id for c in vision.cameras] == ["main"]
        assert vision.lines == vision.cameras[0].lines
    demo = load_config(DEMO).vision
    assert demo.cameras[0].source.endswith("vtest.avi") and demo.cameras[0].loop
    assert demo.entrance_lines == ["walkway"] and demo.kiosk_zone == "kiosk"


def test_no_vision_table_is_one_camera_without_a_source(tmp_path):
    (camera,) = load(tmp_path, HEAD).vision.cameras
    assert (camera.id, camera.kind) == ("main", "none")


CAMERA_ERRORS = [
    ("bad_point_in_a_camera_line", TWO.replace("a = [0, 100]", "a = [0]"),
     "vision.cameras[0].lines[1].a", "[x, y]"),
    ("unknown_key_in_a_camera", TWO.replace("fps_cap = 7", "fps_cap = 7\nfps = 7"),
     "vision.cameras[1].fps", "unknown key"),
    ("fps_cap_out_of_range", TWO.replace("fps_cap = 7", "fps_cap = 0"),
     "vision.cameras[1].fps_cap", "out of range"),
    ("duplicate_camera_id", TWO.replace('id = "kiosk-cam"', 'id = "door"'),
     "vision.cameras[1].id", "duplicate"),
    ("bad_camera_id", TWO.replace('id = "kiosk-cam"', 'id = "Kiosk Cam"'),
     "vision.cameras[1].id", "wrong form"),
    ("line_name_on_two_cameras", TWO.replace('name = "kiosk_path"', 'name = "door"'),
     "vision.cameras[1].lines[0].name", "camera 'door'"),
    ("kiosk_zone_not_on_its_camera", TWO.replace('kiosk_zone = "kiosk"', 'kiosk_zone = "till"'),
     "vision.cameras[1].kiosk_zone", "'till'"),
    ("two_kiosk_cameras", TWO.replace('source = "rtsp://cam1/stream"',
                                      'source = "rtsp://cam1/stream"\nkiosk_zone = "front"\n'
                                      '[[vision.cameras.zones]]\nname = "front"\n'
                                      'polygon = [[0, 0], [9, 0], [9, 9]]'),
     "vision.cameras[1].kiosk_zone", "one camera has a kiosk zone"),
    ("single_form_keys_beside_cameras", TWO.replace("detect_every = 3",
                                                    "detect_every = 3\ncamera = \"0\""),
     "vision.camera", "[[vision.cameras]]"),
    ("lines_beside_cameras", TWO.replace("[[vision.cameras]]\nid = \"door\"",
                                         "[[vision.lines]]\nname = \"x\"\na = [0, 0]\n"
                                         "b = [1, 1]\n\n[[vision.cameras]]\nid = \"door\""),
     "vision.lines", "move it"),
    ("single_form_bad_camera", HEAD + "[vision]\ncamera = 3\n", "vision.camera", "string"),
    ("single_form_bad_loop", HEAD + '[vision]\nloop = "yes"\n', "vision.loop", "true or false"),
    ("single_form_unknown_key_lists_its_own_keys", HEAD + "[vision]\nfpscap = 3\n",
     "vision.fpscap", "fps_cap, gender_min_confidence"),
]


@pytest.mark.parametrize("name,text,key,word", CAMERA_ERRORS, ids=[e[0] for e in CAMERA_ERRORS])
def test_camera_config_errors_name_the_key(tmp_path, name, text, key, word):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    assert info.value.path == key
    assert word in str(info.value)


def test_the_store_counts_visitors_on_the_entrance_cameras_only(tmp_path):
    from station.store import Store, Visit
    config = load(tmp_path, TWO)
    store = Store.open(config)
    t = 1_800_000_000.0
    # the same shopper seen by both cameras, and one visit from before cameras were recorded
    store.append_visits([Visit(t, t + 60, age_bracket="25-34", gender="female", camera="door"),
                         Visit(t + 30, t + 90, age_bracket="25-34", gender="female",
                               camera="kiosk-cam"),
                         Visit(t, t + 10, age_bracket="35-44", gender="male")])
    assert (store.kiosk_camera, store.footfall_cameras) == ("kiosk-cam", frozenset({"door"}))
    assert store.visitor_mix(t, t + 100) == {("25-34", "female"): 1, ("35-44", "male"): 1}
    assert store.entrance_lines == frozenset({"door"})
    store.close()
