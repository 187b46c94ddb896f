"""cx-hq stats over an HQ database written by the receiver's own code (hq.db)."""
from __future__ import annotations

import argparse
import json

import pytest

import hq_sample
from hq import stats


def run_cli(*argv) -> int:
    parser = argparse.ArgumentParser(prog="cx-hq")
    stats.add_parser(parser.add_subparsers())
    args = parser.parse_args(["stats", *argv])
    return args.func(args)


@pytest.fixture(scope="module")
def hq(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hq-stats")
    db = hq_sample.new_hq_db(tmp / "hq.db")
    whole, _ = hq_sample.station_store(tmp, "acme", "whole", "kiosk-1")
    # 29 events, all sent: 20 responses, 5 cases, 3 complaints (every other detractor's),
    # 1 detractor alert (counting the other 4)
    hq_sample.known_mix(whole, 10, 5, 5)
    hq_sample.copy_outbox(whole, db)
    hq_sample.copy_outbox(whole, db)                           # everything again: duplicates
    holey, _ = hq_sample.station_store(tmp, "acme", "holey", "kiosk-2")
    hq_sample.known_mix(holey, 30, 0, 0)                       # seqs 1..30
    hq_sample.copy_outbox(holey, db, skip_seqs={5, 6, 7, 20}, status="offline", dead=3,
                          health={"backlog": 26, "oldest_unacked_age_s": 120.5})
    db.close()
    return {"config": hq_sample.hq_config(tmp, tmp / "hq.db"), "tmp": tmp}


def station(report, name):
    return next(s for s in report["stations"] if s["station"] == name)


def test_json_shows_received_marks_gaps_duplicates_and_dead_letters(hq, capsys):
    assert run_cli("--config", str(hq["config"]), "--json") == 0
    report = json.loads(capsys.readouterr().out)
    whole = station(report, "acme/whole/kiosk-1")
    assert (whole["received"], whole["max_seq"], whole["acked_seq"]) == (29, 29, 29)
    assert whole["duplicates"] == 29 and whole["gaps"] == [] and whole["missing"] == 0
    assert whole["status"] == "online"
    holey = station(report, "acme/holey/kiosk-2")
    assert holey["received"] == 26
    assert holey["max_seq"] == 30
    assert holey["acked_seq"] == 4                             # gap-free up to 4
    assert holey["gaps"] == [[5, 7], [20, 20]]
    assert holey["missing"] == 4
    assert holey["dead_letters"] == 3
    assert holey["status"] == "offline"
    assert (holey["backlog"], holey["oldest_unacked_age_s"]) == (26, 120.5)
    assert whole["backlog"] is None                           # no health message yet
    assert holey["last_seen"] == "2026-11-18T11:06:40Z"
    assert report["online"] == 1 and report["offline"] == 1
    assert report["dead_letters"]["total"] == 3
    assert report["dead_letters"]["by_reason"] == {"not UTF-8 JSON: test": 3}


def test_text_lists_each_station_with_its_gaps(hq, capsys):
    assert run_cli("--config", str(hq["config"])) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.startswith("acme/holey/kiosk-2"))
    assert "offline" in line and "5-7, 20" in line and " 26 " in line
    assert "2 stations: 1 online, 1 offline; dead letters: 3" in out


def test_empty_hq_database_says_so(tmp_path, capsys):
    hq_sample.new_hq_db(tmp_path / "hq.db").close()
    assert run_cli("--config", str(hq_sample.hq_config(tmp_path, tmp_path / "hq.db"))) == 0
    assert "no station has delivered anything yet" in capsys.readouterr().out


def test_missing_or_foreign_database_is_a_clear_error(tmp_path, capsys):
    config = hq_sample.hq_config(tmp_path, tmp_path / "absent.db")
    assert run_cli("--config", str(config)) == 2
    assert "no HQ database at" in capsys.readouterr().err
    import sqlite3
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)").connection.close()
    config = hq_sample.hq_config(tmp_path, tmp_path / "other.db")
    assert run_cli("--config", str(config)) == 2
    assert "is not an HQ database" in capsys.readouterr().err
