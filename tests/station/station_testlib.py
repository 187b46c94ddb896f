"""Helpers shared by the station core tests (imported by conftest.py and test modules).

    result = run_cli("config", "check", path)      # cx-station as a real process
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "config" / "demo.toml"
EXAMPLE = REPO / "config" / "station.example.toml"
STATION = "acme/hcm-01/kiosk-1"


def run_cli(*args, timeout=120, cwd=None) -> subprocess.CompletedProcess:
    """`cx-station ARGS` as a real process, from any working directory."""
    return subprocess.run([sys.executable, "-m", "station.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd or REPO)


def demo_text(tmp_path: Path) -> str:
    """config/demo.toml with every file it writes moved into tmp_path and no camera."""
    text = DEMO.read_text(encoding="utf-8")
    subs = [
        (r'(?m)^path = "[^"]*station\.db"', f'path = "{tmp_path / "station.db"}"'),
        (r'(?m)^camera = "[^"]*"', 'camera = ""'),
        (r'(?m)^database = "[^"]*hq\.db"', f'database = "{tmp_path / "hq.db"}"'),
        (r'(?m)^report_path = "[^"]*"', f'report_path = "{tmp_path / "hq-report.html"}"'),
        (r'(?m)^data_dir = "[^"]*"', f'data_dir = "{tmp_path / "mosquitto"}"'),
    ]
    for pattern, replacement in subs:
        text, n = re.subn(pattern, lambda _m, r=replacement: r, text)
        assert n == 1, f"demo.toml changed shape: {pattern} matched {n} times"
    return text
