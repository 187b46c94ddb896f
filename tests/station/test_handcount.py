"""station/handcount.py: the counter check's maths on hand-computed cases, the store's hand
counts (camera count beside each, removal, the switch, HQ events) and `cx-station handcount`."""
from __future__ import annotations

import json
from datetime import datetime

import pytest
from hypothesis import given, strategies as st

from station.config import load_config
from station.handcount import Calibration, Check, calibration, correction_factor, running_error
from station.store import Crossing, Store
from station_testlib import demo_text, run_cli

T0 = 1_800_000_000.0          # a whole hour (UTC)


def check(hand, camera, i=0):
    return Check(f"c{i}", T0 + i * 3600, T0 + (i + 1) * 3600, hand, camera, T0 + 9e5)


def test_the_factor_and_the_errors_on_hand_computed_cases():
    # one check: the camera saw 90 of 100 people
    one = Calibration([check(100, 90)], switched_on=True)
    assert one.checks[0].error == pytest.approx(-0.10)
    assert one.error == pytest.approx(-0.10)
    assert one.factor == pytest.approx(100 / 90)
    assert one.correct(450) == pytest.approx(500.0)
    # three checks: sums, not the mean of ratios (a quiet check weighs less):
    # hand 100 + 20 + 80 = 200, camera 90 + 25 + 75 = 190
    three = Calibration([check(100, 90, 0), check(20, 25, 1), check(80, 75, 2)])
    assert [c.error for c in three.checks] == pytest.approx([-0.10, 0.25, -0.0625])
    assert three.error == pytest.approx(190 / 200 - 1)        # -5 %
    assert three.factor == pytest.approx(200 / 190)           # 1.0526
    # off: figures are the camera's own, and nothing is labelled
    assert not three.applied and three.correct(190) == 190 and three.label() == ""
    on = Calibration(three.checks, switched_on=True)
    assert on.applied and on.correct(190) == pytest.approx(200)
    assert on.label("en") == "corrected ×1.053 by 3 hand counts"
    assert on.label("vi") == "đã hiệu chỉnh ×1,053 theo 3 lần đếm tay"


def test_edge_cases_have_no_factor_instead_of_an_infinite_one():
    assert correction_factor([]) is None and running_error([]) is None
    nobody_seen = Calibration([check(12, 0)], switched_on=True)
    assert nobody_seen.factor is None and nobody_seen.error == pytest.approx(-1.0)
    assert not nobody_seen.applied and nobody_seen.correct(7) == 7
    nobody_there = Calibration([check(0, 3)])
    assert nobody_there.checks[0].error is None and nobody_there.error is None
    assert nobody_there.factor == 0.0
    assert Calibration([check(0, 3), check(10, 7, 1)]).factor == pytest.approx(1.0)


@given(st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 5000)), min_size=1, max_size=20))
def test_corrected_camera_total_equals_the_hand_total(pairs):
    cal = Calibration([check(h, c, i) for i, (h, c) in enumerate(pairs)], switched_on=True)
    if cal.camera:
        # the ratio estimator's defining property, and error and factor agree with each other
        assert cal.correct(cal.camera) == pytest.approx(cal.hand)
        if cal.hand:
            assert (1 + cal.error) * cal.factor == pytest.approx(1.0)


def entries(store, start, n, line="walkway", camera="main"):
    store.append_crossings([Crossing(start + 10 + i, line, "in", camera=camera)
                            for i in range(n)])


def test_the_store_keeps_hand_counts_with_the_cameras_count_and_tells_hq(tmp_path):
    store = Store.open_path(tmp_path / "s.db", "a/b/c", entrance_lines=frozenset({"walkway"}))
    entries(store, T0, 45)
    entries(store, T0, 30, line="aisle")                     # an inner line: not entries
    entries(store, T0 + 3600, 60)
    first = store.add_hand_count(T0, T0 + 3600, 50, who="lan", at=T0 + 9000)
    store.add_hand_count(T0 + 3600, T0 + 7200, 66, at=T0 + 9000)
    cal = calibration(store)
    assert [(c.hand, c.camera) for c in cal.checks] == [(50, 45), (66, 60)]
    assert cal.factor == pytest.approx(116 / 105) and not cal.switched_on
    store.set_count_correction(True, who="lan", at=T0 + 9100)
    assert calibration(store).applied
    store.remove_hand_count(first, at=T0 + 9200)             # entered by mistake
    cal = calibration(store)
    assert [(c.hand, c.camera) for c in cal.checks] == [(66, 60)]
    assert cal.factor == pytest.approx(1.1)
    sent = [json.loads(e.payload)["data"] for e in store.pending_outbox() if e.type == "handcount"]
    assert [(s["action"], s["checks"], s["correction"]) for s in sent] == [
        ("added", 1, False), ("added", 2, False), ("correction", 2, True), ("removed", 1, True)]
    assert sent[0]["factor"] == pytest.approx(50 / 45, abs=1e-6) and sent[0]["who"] == "lan"
    assert (sent[0]["count"], sent[0]["camera_count"]) == (50, 45)
    with pytest.raises(ValueError, match="not ended"):
        store.add_hand_count(T0, T0 + 3600, 5, at=T0 + 600)
    with pytest.raises(ValueError, match="whole number"):
        store.add_hand_count(T0, T0 + 3600, -1, at=T0 + 9000)
    with pytest.raises(ValueError, match="after its start"):
        store.add_hand_count(T0, T0, 5, at=T0 + 9000)


def test_cli_adds_lists_and_switches_the_correction_labelling_the_report(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text(demo_text(tmp_path), encoding="utf-8")
    config = load_config(path)
    start = datetime(2026, 11, 2, 10, 0, tzinfo=config.tz).timestamp()
    store = Store.open(config)
    entries(store, start, 80)
    store.close()
    result = run_cli("handcount", "add", "--config", path, "--start", "2026-11-02T10:00",
                     "--end", "2026-11-02T11:00", "--count", "100")
    assert result.returncode == 0, result.stderr
    assert "-20.0 %" in result.stdout and "correction: off" in result.stdout
    result = run_cli("handcount", "correction", "on", "--config", path)
    assert "corrected ×1.250 by 1 hand count" in result.stdout
    listed = json.loads(run_cli("handcount", "list", "--config", path, "--json").stdout)
    assert listed["corrected"] and listed["factor"] == 1.25 and listed["error"] == -0.2
    assert [(c["hand"], c["camera"]) for c in listed["checks"]] == [(100, 80)]
    report = json.loads(run_cli("report", "--config", path, "--since", "2026-11-02",
                                "--until", "2026-11-02", "--json").stdout)
    assert report["entries"] == 80 and report["entries_corrected"] == 100
    assert report["counter"]["label"] == "corrected ×1.250 by 1 hand count"
    bad = run_cli("handcount", "add", "--config", path, "--start", "10 o'clock",
                  "--end", "2026-11-02T11:00", "--count", "5")
    assert bad.returncode == 2 and "--start" in bad.stderr
