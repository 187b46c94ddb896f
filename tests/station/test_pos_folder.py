"""The watched POS folder ([pos] watch_dir, station/pos.PosFolder, run by cx-watch's loop):
a good file imported and moved, a malformed one rejected with its line named and nothing
imported, the same file twice never doubled."""
from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

from station.config import load_config
from station.pos import PosFolder
from station.store import Store
from station.watch import Watcher

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
H9 = datetime(2026, 12, 5, 9, tzinfo=HCM).timestamp()
GOOD = "hour,transactions,revenue\n2026-12-05 09:00,14,3250000\n2026-12-05 10:00,21,\n"
BAD = "hour,transactions\n2026-12-05 09:00,14\n2026-12-05 10:00,many\n"


def drop(folder, name, text, age_s=60.0):
    """A file as a nightly export leaves it: written `age_s` ago."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    os.utime(path, (H9 - age_s, H9 - age_s))
    return path


def test_a_good_file_is_imported_and_moved(store, tmp_path):
    folder = tmp_path / "pos"
    folder.mkdir()
    drop(folder, "2026-12-05.csv", GOOD)
    (result,) = PosFolder(folder, HCM).scan(store, now=H9)
    assert result["status"] == "imported" and result["new"] == 2
    assert store.pos_hours(0, 2e9) == [(H9, 14, 3250000.0), (H9 + 3600, 21, None)]
    assert not (folder / "2026-12-05.csv").exists()
    assert (folder / "imported" / "2026-12-05.csv").read_text(encoding="utf-8") == GOOD
    assert store.health()["pos"]["last_status"] == "imported"
    assert PosFolder(folder, HCM).scan(store, now=H9 + 10) == []     # nothing left to do


def test_a_malformed_file_is_rejected_with_its_line_and_nothing_is_imported(store, tmp_path):
    folder = tmp_path / "pos"
    folder.mkdir()
    drop(folder, "bad.csv", BAD)
    (result,) = PosFolder(folder, HCM).scan(store, now=H9)
    assert (result["status"], result["line"], result["column"]) == ("rejected", 3,
                                                                    "transactions")
    assert store.pos_hours(0, 2e9) == []              # the good first row is not kept either
    assert (folder / "rejected" / "bad.csv").exists()
    error = (folder / "rejected" / "bad.csv.error.txt").read_text(encoding="utf-8")
    assert error.startswith("bad.csv:3: column 'transactions'")
    health = store.health()["pos"]
    assert health["rejected"] == 1 and health["last_error"].startswith("bad.csv:3")


def test_the_same_file_twice_replaces_its_hours_never_doubles_them(store, tmp_path):
    folder = tmp_path / "pos"
    folder.mkdir()
    drop(folder, "day.csv", GOOD)
    PosFolder(folder, HCM).scan(store, now=H9)
    drop(folder, "day.csv", GOOD)                      # the till exported it again
    (again,) = PosFolder(folder, HCM).scan(store, now=H9 + 60)
    assert (again["new"], again["replaced"], again["unchanged"]) == (0, 0, 2)
    assert store.pos_hours(0, 2e9) == [(H9, 14, 3250000.0), (H9 + 3600, 21, None)]
    stamp = datetime.fromtimestamp(H9 + 60).strftime("%Y%m%dT%H%M%S")
    assert sorted(p.name for p in (folder / "imported").iterdir()) == [f"day.{stamp}.csv",
                                                                        "day.csv"]
    assert store.health()["pos"]["imported"] == 2


def test_a_file_still_being_written_waits(store, tmp_path):
    folder = tmp_path / "pos"
    folder.mkdir()
    drop(folder, "day.csv", GOOD, age_s=1)
    assert PosFolder(folder, HCM).scan(store, now=H9) == []
    assert (folder / "day.csv").exists()


def test_cx_watch_imports_the_watched_folder_on_its_loop(demo_config, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    text = demo_config.read_text(encoding="utf-8")
    demo_config.write_text(text + f'\n[pos]\nwatch_dir = "{folder}"\n', encoding="utf-8")
    config = load_config(demo_config)
    assert config.pos.watch_dir == folder
    drop(folder, "day.csv", GOOD)
    store = Store.open(config)
    timings = Watcher(config, store).check(H9)
    assert "pos_import" in timings
    assert store.pos_hours(0, 2e9)[0] == (H9, 14, 3250000.0)
    assert (folder / "imported" / "day.csv").exists()
    store.close()
