"""cx-hq export: flat CSV / JSON Lines rows that round-trip to what the stations sent."""
from __future__ import annotations

import argparse
import csv
import io
import json
import sqlite3
import tracemalloc

import pytest

import hq_sample
from station.store import Response
from hq import export
from hq.views import open_readonly

COMMENTS = ['Nhân viên "rất" chậm, phải chờ 20 phút;\nlần sau sẽ không quay lại',
            "=HYPERLINK(\"http://evil.example\",\"click\")", "-5 stars, + no bags", "@cmd",
            "plain, with a comma"]


def run_cli(*argv) -> int:
    parser = argparse.ArgumentParser(prog="cx-hq")
    export.add_parser(parser.add_subparsers())
    args = parser.parse_args(["export", *argv])
    return args.func(args)


@pytest.fixture(scope="module")
def hq(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hq-export")
    db = hq_sample.new_hq_db(tmp / "hq.db")
    hq_sample.three_stores(tmp, responses=120, visits=300, hq=db)
    extra, _ = hq_sample.station_store(tmp, "acme", "texts", "kiosk-1")
    for i, comment in enumerate(COMMENTS):
        extra.append_response(Response(nps=2 * i, comment=comment, reasons=["wait", "staff"],
                                       language="vi", ts=hq_sample.KNOWN_START + i))
    hq_sample.copy_outbox(extra, db)
    db.close()
    return {"config": hq_sample.hq_config(tmp, tmp / "hq.db"), "db": tmp / "hq.db"}


def stored(db_path, type_):
    """(station, seq) -> data dict, straight from the HQ table."""
    with sqlite3.connect(db_path) as db:
        return {(s, q): json.loads(d) for s, q, d in db.execute(
            "SELECT station, seq, data FROM events WHERE type = ?", (type_,))}


def test_csv_round_trips_every_response(hq, tmp_path):
    out = tmp_path / "responses.csv"
    assert run_cli("--config", str(hq["config"]), "--type", "response", "--format", "csv",
                   "--out", str(out)) == 0
    assert not (tmp_path / "responses.csv.part").exists()
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    truth = stored(hq["db"], "response")
    assert len(rows) == len(truth) > 200
    assert list(rows[0])[:5] == ["station", "store", "seq", "event_id", "ts"]
    for row in rows:
        data = truth[(row["station"], int(row["seq"]))]
        assert row["store"] == row["station"].rsplit("/", 1)[0]
        assert int(row["nps"]) == data["nps"]
        assert row["csat"] == ("" if data["csat"] is None else str(data["csat"]))
        assert json.loads(row["reasons"]) == data["reasons"]
        assert row["complete"] == ("true" if data["complete"] else "false")
        assert row["presence"] == data["presence"]
        comment = row["comment"]
        if comment.startswith("'") and comment[1:2] in ("=", "+", "-", "@"):
            comment = comment[1:]
        assert comment == (data["comment"] or "")


def test_free_text_that_a_spreadsheet_would_run_is_neutralised(hq):
    db = open_readonly(hq["db"])
    text = export.export_to_string(db, "response", "csv", station="acme/texts")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    comments = [r["comment"] for r in rows]
    assert "'=HYPERLINK(\"http://evil.example\",\"click\")" in comments
    assert "'-5 stars, + no bags" in comments and "'@cmd" in comments
    assert COMMENTS[0] in comments                 # quotes, newline, diacritics survive intact
    assert "plain, with a comma" in comments
    assert all(r["nps"].lstrip("-").isdigit() for r in rows)   # numbers are not prefixed


def test_visits_are_flattened_one_row_each_in_jsonl(hq, capsys):
    assert run_cli("--config", str(hq["config"]), "--type", "visit", "--format", "jsonl") == 0
    lines = capsys.readouterr().out.splitlines()
    truth = stored(hq["db"], "visit")
    assert len(lines) == len(truth)
    for line in lines:
        row = json.loads(line)
        data = truth[(row["station"], row["seq"])]
        assert all(not isinstance(v, dict) for v in row.values())
        assert {k[6:]: v for k, v in row.items() if k.startswith("dwell.")} == data["dwell"]
        assert row["age_bracket"] == data["age_bracket"]


def test_csv_columns_include_every_dwell_zone(hq):
    db = open_readonly(hq["db"])
    header = export.export_to_string(db, "visit", "csv").splitlines()[0].split(",")
    assert {"dwell.kiosk", "dwell.shelf"} <= set(header)
    assert "dwell" not in header


def test_period_and_store_filters(hq, tmp_path):
    out = tmp_path / "t.jsonl"
    assert run_cli("--config", str(hq["config"]), "--type", "response", "--format", "jsonl",
                   "--since", "2026-11-15", "--until", "2026-11-15", "--station", "acme/texts",
                   "--out", str(out)) == 0
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    assert len(rows) == len(COMMENTS)
    assert {r["station"] for r in rows} == {"acme/texts/kiosk-1"}
    assert run_cli("--config", str(hq["config"]), "--type", "response", "--format", "jsonl",
                   "--since", "2026-11-16", "--station", "acme/texts", "--out", str(out)) == 0
    assert out.read_text() == ""


def test_export_streams_instead_of_loading_everything(tmp_path):
    """3 000 long responses: Python's peak allocation stays a small fraction of the output."""
    hq = hq_sample.new_hq_db(tmp_path / "hq.db")
    store, _ = hq_sample.station_store(tmp_path, "acme", "big", "kiosk-1")
    hq_sample.known_mix(store, 1, 0, 0)
    template = store.db.execute("SELECT payload FROM outbox").fetchone()[0]
    envelope = json.loads(template)
    rows = []
    for seq in range(1, 3_001):
        envelope["data"]["comment"] = f"comment number {seq} " + "x" * 1700
        rows.append(("acme/big/kiosk-1", seq, f"id-{seq}", "response", envelope["ts"],
                     hq_sample.KNOWN_START, json.dumps(envelope["data"]), hq_sample.NOW))
    hq.db.executemany("INSERT INTO events (station, seq, id, type, ts, ts_epoch, data, "
                      "received_at) VALUES (?,?,?,?,?,?,?,?)", rows)
    hq.close()
    del rows
    db = open_readonly(tmp_path / "hq.db")
    with open(tmp_path / "out.csv", "w", encoding="utf-8", newline="") as fh:
        tracemalloc.start()
        n = export.export(db, fh, "response", "csv")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    size = (tmp_path / "out.csv").stat().st_size
    assert n == 3_000
    assert size > 5_000_000
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte export"


def test_bad_arguments_are_clear_errors(hq, tmp_path, capsys):
    assert run_cli("--config", str(hq["config"]), "--type", "response",
                   "--since", "yesterday") == 2
    assert "is not a date" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_cli("--config", str(hq["config"]), "--type", "crossing")
    missing = tmp_path / "no" / "dir" / "x.csv"
    assert run_cli("--config", str(hq["config"]), "--type", "case", "--out", str(missing)) == 1
    assert "cannot write" in capsys.readouterr().err
