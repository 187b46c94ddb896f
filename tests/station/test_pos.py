"""Point-of-sale import and conversion (station/pos.py, station/conversion.py), on small
hand-computed cases and hostile files."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from station.conversion import pos_conversion
from station.pos import PosFileError, PosHour, parse_pos_csv, read_pos_csv
from station.store import Crossing
from station_testlib import run_cli, demo_text

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
H9 = datetime(2026, 12, 5, 9, tzinfo=HCM).timestamp()        # 09:00 local = 02:00 UTC


def test_an_hour_file_and_a_per_sale_file_give_the_same_hours():
    hours = parse_pos_csv("hour,transactions,revenue\n2026-12-05 09:00,14,3250000\n"
                          "2026-12-05 10,21,\n", HCM)
    assert hours == [PosHour(H9, 14, 3250000.0), PosHour(H9 + 3600, 21, None)]
    sales = parse_pos_csv("timestamp,revenue\n2026-12-05T09:14:03,1000\n"
                          "2026-12-05 09:59:59,2000\n2026-12-05T03:05:00+00:00,500\n", HCM)
    # 03:05 UTC is 10:05 in Ho Chi Minh City
    assert sales == [PosHour(H9, 2, 3000.0), PosHour(H9 + 3600, 1, 500.0)]


def test_a_header_with_a_byte_order_mark_and_spaces_reads(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_bytes("\ufeffHour , Transactions\r\n2026-12-05 09:00, 3\r\n\r\n".encode())
    assert read_pos_csv(path, HCM) == [PosHour(H9, 3, None)]


@pytest.mark.parametrize("text, line, column, needle", [
    ("", None, None, "empty"),
    ("when,count\n", 1, None, "neither an 'hour' nor a 'timestamp'"),
    ("hour,revenue\n2026-12-05 09:00,1\n", 1, None, "needs a 'transactions' column"),
    ("hour,transactions,tax\n", 1, None, "unexpected or repeated"),
    ("hour,transactions\n2026-12-05 09:00,14\n2026-12-05 9am,3\n", 3, "hour", "not a date"),
    ("hour,transactions\n2026-12-05 09:30,14\n", 2, "hour", "not the start of an hour"),
    ("hour,transactions\n2026-12-05 09:00,-1\n", 2, "transactions", "whole number"),
    ("hour,transactions\n2026-12-05 09:00,1.5\n", 2, "transactions", "whole number"),
    ("hour,transactions,revenue\n2026-12-05 09:00,1,1e999\n", 2, "revenue", "not an amount"),
    ("hour,transactions,revenue\n2026-12-05 09:00,1,nan\n", 2, "revenue", "not an amount"),
    ("hour,transactions\n2026-12-05 09:00,1,7\n", 2, None, "has 3 fields"),
    ("hour,transactions\n1970-01-01 00:00,1\n", 2, "hour", "out of range"),
    ("hour,transactions\n", None, None, "no rows"),
])
def test_a_malformed_file_names_its_line_and_column(text, line, column, needle):
    with pytest.raises(PosFileError) as err:
        parse_pos_csv(text, HCM, "sales.csv")
    assert (err.value.line, err.value.column) == (line, column)
    assert needle in str(err.value) and str(err.value).startswith("sales.csv")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_read_or_refused_with_a_reason(text):
    try:
        hours = parse_pos_csv("hour,transactions,revenue\n" + text, HCM)
    except PosFileError as exc:
        assert exc.message
    else:
        assert all(h.transactions >= 0 and h.hour % 3600 == 0 for h in hours)


def test_reimporting_replaces_never_doubles_and_sends_only_changes(store):
    first = [PosHour(H9, 14, 100.0), PosHour(H9 + 3600, 21, None)]
    assert store.import_pos(first, "a.csv") == {"new": 2, "replaced": 0, "unchanged": 0}
    assert store.import_pos(first, "a.csv") == {"new": 0, "replaced": 0, "unchanged": 2}
    fixed = [PosHour(H9 + 3600, 25, None)]
    assert store.import_pos(fixed, "b.csv") == {"new": 0, "replaced": 1, "unchanged": 0}
    assert store.pos_hours(0, 2e9) == [(H9, 14, 100.0), (H9 + 3600, 25, None)]
    sent = [json.loads(e.payload)["data"] for e in store.pending_outbox() if e.type == "pos"]
    assert [(d["transactions"], d["source"]) for d in sent] == [(14, "a.csv"), (21, "a.csv"),
                                                                 (25, "b.csv")]


def entries(store, hour, n, line="door"):
    store.append_crossings([Crossing(hour + 60 + i, line, "in") for i in range(n)])


def test_conversion_is_transactions_over_entries_of_the_hours_with_both(store):
    store.entrance_lines = frozenset({"door"})
    entries(store, H9, 40)
    entries(store, H9 + 3600, 60)
    entries(store, H9 + 3600, 500, line="aisle")         # an inner line: not entries
    entries(store, H9 + 7200, 10)                         # no POS figure for 11:00
    store.import_pos([PosHour(H9, 10, None), PosHour(H9 + 3600, 15, None),
                      PosHour(H9 + 10800, 4, None)], "a.csv")   # 12:00: no entries
    c = pos_conversion(store, H9, H9 + 86400, HCM)
    assert (c["transactions"], c["entries"], c["rate"]) == (25, 100, 25.0)
    assert c["hours_without_entries"] == 1
    assert [h["rate"] for h in c["hours"]] == [25.0, 25.0, None]
    assert c["by_day"] == {"2026-12-05": {"transactions": 25, "entries": 100, "rate": 25.0}}
    low, high = c["interval"]
    assert low < 25 < high and c["source"] == "pos"


def test_an_empty_period_has_no_conversion_and_says_why(store):
    c = pos_conversion(store, H9, H9 + 3600, HCM)
    assert c["rate"] is None and c["interval"] is None
    assert c["reason"] == "no POS figures in this period"
    store.import_pos([PosHour(H9, 3, None)], "a.csv")
    c = pos_conversion(store, H9, H9 + 3600, HCM)
    assert c["rate"] is None and c["reason"] == "no camera entries in the hours with POS figures"


def test_more_receipts_than_entries_is_shown_without_an_interval(store):
    entries(store, H9, 2)
    store.import_pos([PosHour(H9, 3, None)], "a.csv")
    c = pos_conversion(store, H9, H9 + 3600, HCM)
    assert c["rate"] == 150.0 and c["interval"] is None


def test_the_cli_imports_and_a_bad_file_imports_nothing(tmp_path):
    config = tmp_path / "station.toml"
    config.write_text(demo_text(tmp_path), encoding="utf-8")
    good = tmp_path / "sales.csv"
    good.write_text("hour,transactions\n2026-12-05 09:00,14\n2026-12-05 10:00,21\n")
    result = run_cli("pos", "import", str(good), "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "2 hours (2 new, 0 replaced, 0 unchanged)" in result.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("hour,transactions\n2026-12-05 11:00,5\n2026-12-05 12:00,lots\n")
    result = run_cli("pos", "import", str(bad), "--config", str(config))
    assert result.returncode == 2
    assert "bad.csv:3: column 'transactions'" in result.stderr and "nothing imported" in \
        result.stderr
    again = run_cli("pos", "import", str(good), "--config", str(config))
    assert "(0 new, 0 replaced, 2 unchanged)" in again.stdout


def test_the_report_names_each_conversion_source(tmp_path):
    import dataclasses
    from station.config import load_config
    from station.report import build_report, render_text
    from station.store import Store, Visit
    path = tmp_path / "station.toml"
    path.write_text(demo_text(tmp_path), encoding="utf-8")
    config = load_config(path)
    (camera,) = config.vision.cameras
    zones = [dataclasses.replace(z, role="checkout") if z.name == camera.zones[-1].name
             else z for z in camera.zones]
    config = dataclasses.replace(config, vision=dataclasses.replace(
        config.vision, cameras=[dataclasses.replace(camera, zones=zones)]))
    checkout = zones[-1].name
    store = Store.open(config)
    door = next(line.name for line in config.vision.lines if line.entrance)
    entries(store, H9, 20, line=door)
    store.import_pos([PosHour(H9, 5, None), PosHour(H9 + 3600, 2, None)], "a.csv")
    store.append_visits([Visit(H9 + 100, H9 + 900, dwell={checkout: 30.0}),
                         Visit(H9 + 200, H9 + 800, dwell={checkout: 0.0}),
                         Visit(H9 + 300, H9 + 700, dwell={})])
    report = build_report(store, config, H9, H9 + 7200)
    pos, camera = report["conversion"]["pos"], report["conversion"]["camera"]
    assert (pos["rate"], pos["hours_without_entries"]) == (25.0, 1)
    assert (camera["rate"], camera["visits_at_checkout"]) == (5.0, 1)
    text = render_text(report)
    assert "conversion (POS)             25.0 %" in text
    assert "5 transactions / 20 entries; 1 hour with sales but no entries left out" in text
    assert "conversion (checkout zone)   5.0 %" in text
