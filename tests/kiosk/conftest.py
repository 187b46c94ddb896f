"""Real kiosk widgets offscreen, on a real SQLite file in a temp folder."""
import dataclasses
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

from station.config import load_config  # noqa: E402
from station.store import Store  # noqa: E402

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.toml"
DEBOUNCE_MS = 100


def make_config(tmp_path, **kiosk):
    config = load_config(DEMO)
    kiosk = {"debounce_ms": DEBOUNCE_MS, "cooldown_s": 0.0, **kiosk}
    return dataclasses.replace(
        config,
        database=dataclasses.replace(config.database, path=tmp_path / "station.db",
                                     busy_timeout_ms=200),
        kiosk=dataclasses.replace(config.kiosk, **kiosk))


@pytest.fixture
def config(tmp_path):
    return make_config(tmp_path)


@pytest.fixture
def make_kiosk(qtbot):
    """make_kiosk(config) -> (window, writer), shown at 1280x800 and closed after the test."""
    from kiosk.__main__ import build

    made = []

    def make(config):
        window, writer = build(config)
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        qtbot.waitExposed(window)
        made.append((window, writer))
        return window, writer

    yield make
    for window, writer in made:
        writer.close()


@pytest.fixture
def kiosk(make_kiosk, config):
    return make_kiosk(config)


def tap(qtbot, widget, wait_ms=DEBOUNCE_MS + 30):
    """One finger tap on a real widget, then a pause longer than the debounce window."""
    qtbot.mouseClick(widget, Qt.LeftButton)
    qtbot.wait(wait_ms)


def read_store(config) -> Store:
    return Store.open(config)
