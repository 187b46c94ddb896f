"""Helpers shared by the kiosk tests (a uniquely named module: every test folder has a
conftest, so `from conftest import ...` would pick whichever was imported first)."""
import dataclasses
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402

from station.config import load_config  # noqa: E402
from station.store import Store  # noqa: E402

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.toml"
DEBOUNCE_MS = 100


def make_config(tmp_path, **kiosk):
    config = load_config(DEMO)
    # the demo asks the first-visit question; the flow tests go without it unless they say
    kiosk = {"debounce_ms": DEBOUNCE_MS, "cooldown_s": 0.0, "first_visit": False, **kiosk}
    return dataclasses.replace(
        config,
        database=dataclasses.replace(config.database, path=tmp_path / "station.db",
                                     busy_timeout_ms=200),
        kiosk=dataclasses.replace(config.kiosk, **kiosk))



def tap(qtbot, widget, wait_ms=DEBOUNCE_MS + 30):
    """One finger tap on a real widget, then a pause longer than the debounce window."""
    qtbot.mouseClick(widget, Qt.LeftButton)
    qtbot.wait(wait_ms)



def open_admin(qtbot, window, timeout_ms: int = 5000):
    """The manager's PIN accepted: the admin screen shows at once and reads its figures on a
    worker thread; wait until they are drawn."""
    window.open_admin()
    admin = window.screens["admin"]
    qtbot.waitUntil(lambda: admin.figures is not None and not admin.reading.isVisible(),
                    timeout=timeout_ms)
    return admin


def read_store(config) -> Store:
    return Store.open(config)
