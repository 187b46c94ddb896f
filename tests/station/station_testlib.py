"""Helpers shared by the station core tests (imported by conftest.py and test modules).

    result = run_cli("config", "check", path)      # cx-station as a real process
"""
from __future__ import annotations

import re
import sqlite3
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
        (r'(?m)^config = "demo-hq\.toml"', f'config = "{tmp_path / "hq.toml"}"'),
        (r'(?m)^data_dir = "[^"]*"', f'data_dir = "{tmp_path / "mosquitto"}"'),
    ]
    for pattern, replacement in subs:
        text, n = re.subn(pattern, lambda _m, r=replacement: r, text)
        assert n == 1, f"demo.toml changed shape: {pattern} matched {n} times"
    # files the demo reads beside it (its logo) stay where they are
    text = re.sub(r'(?m)^logo = "([^"/]+)"', lambda m: f'logo = "{DEMO.parent / m.group(1)}"',
                  text)
    hq = (DEMO.parent / "demo-hq.toml").read_text(encoding="utf-8")
    for pattern, replacement in [(r'(?m)^path = "[^"]*hq\.db"', f'path = "{tmp_path / "hq.db"}"'),
                                 (r'(?m)^path = "[^"]*\.html"',
                                  f'path = "{tmp_path / "hq-report.html"}"')]:
        hq, n = re.subn(pattern, lambda _m, r=replacement: r, hq)
        assert n == 1, f"demo-hq.toml changed shape: {pattern} matched {n} times"
    (tmp_path / "hq.toml").write_text(hq, encoding="utf-8")
    return text


WRITER = Path(__file__).resolve().parent / "store_writer.py"


def start_writer(db, *args) -> subprocess.Popen:
    """tests/station/store_writer.py as a real process; returns once it has opened the DB."""
    proc = subprocess.Popen([sys.executable, str(WRITER), str(db), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise AssertionError(f"writer did not start: {line!r} {proc.stderr.read()}")
    return proc


def outbox_consistency(db: sqlite3.Connection) -> dict:
    """Check every outbox row has exactly one domain row and vice versa; returns counts.

    Domain rows point at their events through responses.outbox_seq, cases.opened_seq,
    cases.resolved_seq, visits.outbox_seq, traffic.outbox_seq, target_changes.outbox_seq and
    alert_events.outbox_seq (where the schema has them), and each event's type
    must match the kind of row pointing at it.
    """
    refs = db.execute(
        "SELECT outbox_seq, 'response' FROM responses "
        "UNION ALL SELECT opened_seq, 'case' FROM cases "
        "UNION ALL SELECT resolved_seq, 'case' FROM cases WHERE resolved_seq IS NOT NULL "
        "UNION ALL SELECT outbox_seq, 'visit' FROM visits "
        "UNION ALL SELECT outbox_seq, 'traffic' FROM traffic" + "".join(
            f" UNION ALL SELECT outbox_seq, '{kind}' FROM {table}"
            for table, kind in (("target_changes", "target"), ("alert_events", "alert"),
                                ("pos_hours", "pos"), ("complaints", "complaint"),
                                ("occupancy", "occupancy"))
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone())
    ).fetchall()
    outbox = dict(db.execute("SELECT seq, type FROM outbox").fetchall())
    ref_seqs = [seq for seq, _ in refs]
    assert len(ref_seqs) == len(set(ref_seqs)), "two domain rows share one outbox seq"
    assert len(refs) == len(outbox), f"{len(refs)} domain rows vs {len(outbox)} outbox rows"
    orphans = set(outbox) - set(ref_seqs)
    assert not orphans, f"outbox rows without a domain row: {sorted(orphans)[:10]}"
    dangling = set(ref_seqs) - set(outbox)
    assert not dangling, f"domain rows without an outbox row: {sorted(dangling)[:10]}"
    for seq, kind in refs:
        assert outbox[seq] == kind, f"seq {seq} is a {outbox[seq]} event but a {kind} row"
    # the envelope inside the payload carries the same seq
    bad = db.execute("SELECT count(*) FROM outbox WHERE json_extract(payload, '$.seq') != seq "
                     "OR json_extract(payload, '$.type') != type").fetchone()[0]
    assert bad == 0
    return {"outbox": len(outbox), "max_seq": max(outbox, default=0)}


def assert_seqs_contiguous(db: sqlite3.Connection) -> int:
    n, lo, hi = db.execute("SELECT count(*), min(seq), max(seq) FROM outbox").fetchone()
    if n:
        assert (lo, hi) == (1, n), f"seqs not gap-free: {n} rows from {lo} to {hi}"
    return n
