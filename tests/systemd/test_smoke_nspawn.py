"""The units under a real systemd: systemd/smoke-nspawn.sh, opt-in.

It needs root, systemd-nspawn and network for pip, and takes about 3 minutes, so it runs only
with CX_SMOKE_NSPAWN=1 (the units' syntax and hardening are checked by test_units.py always).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "systemd" / "smoke-nspawn.sh"


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("CX_SMOKE_NSPAWN") != "1",
                    reason="opt-in: set CX_SMOKE_NSPAWN=1 (needs root, systemd-nspawn, network)")
@pytest.mark.skipif(shutil.which("systemd-nspawn") is None,
                    reason="systemd-nspawn is not installed (Debian package: systemd-container)")
def test_installed_station_boots_and_stays_up_past_the_watchdog():
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "cx-station.target after boot: active" in result.stdout
    for unit in ("cx-vision@main", "cx-kiosk", "cx-sync", "cx-watch", "cx-hq"):
        assert f"{unit}: active, 0 restarts" in result.stdout
    assert "cx-watch alert hook ran: yes" in result.stdout
