"""Shared fixtures for the station core tests: real SQLite files and real config files in tmp.

    def test_x(store):              # a migrated station DB with a kiosk zone named 'kiosk'
    def test_y(demo_config):        # path of a copy of config/demo.toml writing into tmp_path
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The helpers beside this file import as `station_testlib` under any --import-mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from station.store import Store  # noqa: E402
from station_testlib import STATION, demo_text  # noqa: E402


@pytest.fixture
def demo_config(tmp_path) -> Path:
    path = tmp_path / "station.toml"
    path.write_text(demo_text(tmp_path), encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path):
    s = Store.open_path(tmp_path / "station.db", station=STATION, kiosk_zone="kiosk",
                        link_window_s=15.0)
    yield s
    s.close()
