"""bench/tap_latency.py runs end to end on a small DB and ends with one JSON line."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_prints_one_json_object_last(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "tap_latency.py"), "--db",
         str(tmp_path / "bench.db"), "--responses", "300", "--surveys", "3", "--refreshes", "1",
         "--json"], capture_output=True, text=True, timeout=300,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["responses_in_db"] == 303 and result["surveys"] == 3
    assert result["press_to_commit_ms"]["p50"] > 0
    assert set(result["admin_refresh_ms"]) >= {"cold_30d_ms", "today", "7d", "30d"}
