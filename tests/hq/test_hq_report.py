"""cx-hq report on an HQ database filled with real station events (3 simulated stores + 2 known)."""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import sqlite3
import statistics

import pytest

import hq_sample
from hq import report, report_html
from station.shares import AGE_GROUPS, load_calibration, period_shares

K = "acme/known"


def run_cli(*argv) -> int:
    parser = argparse.ArgumentParser(prog="cx-hq")
    report.add_parser(parser.add_subparsers())
    args = parser.parse_args(["report", *argv])
    return args.func(args)


@pytest.fixture(scope="module")
def hq(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hq-report")
    db = hq_sample.new_hq_db(tmp / "hq.db")
    hq_sample.three_stores(tmp, responses=300, visits=600, hq=db)
    known = hq_sample.known_store(tmp, db)
    hq_sample.tiny_store(tmp, db)
    db.close()
    config = hq_sample.hq_config(tmp, tmp / "hq.db", min_n=30, k=5)
    digest = hashlib.sha256((tmp / "hq.db").read_bytes()).hexdigest()
    assert run_cli("--config", str(config), "--html", str(tmp / "r.html"),
                   "--json", str(tmp / "r.json")) == 0
    return {"tmp": tmp, "config": config, "known": known, "digest": digest,
            "html": (tmp / "r.html").read_text(encoding="utf-8"),
            "json": json.loads((tmp / "r.json").read_text(encoding="utf-8"))}


def store(r, name):
    return next(s for s in r["stores"] if s["store"] == name)


def cell(html, key):
    """The text of the table cell marked data-cell=KEY."""
    m = re.search(r'<td[^>]*data-cell="' + re.escape(key) + r'"[^>]*>(.*?)</td>', html)
    assert m, f"no cell {key}"
    return m.group(1)


def test_known_nps_mix_appears_in_json_and_html(hq):
    s = store(hq["json"], K)
    # 50 promoters, 30 passives, 20 detractors: NPS = 50 % - 20 % = +30; the 95 % interval is
    # the adjusted Wald one (Rocks 2016): 0.75 pseudo-promoter/-detractor, n + 3
    pa, da, na = 50.75 / 103, 20.75 / 103, 103
    half = 1.96 * 100 * math.sqrt((pa + da - (pa - da) ** 2) / na)
    lo, hi = 100 * (pa - da) - half, 100 * (pa - da) + half
    assert s["responses"] == 100
    assert s["nps"]["value"] == pytest.approx(30.0)
    assert s["nps"]["se"] == pytest.approx(100 * math.sqrt((0.7 - 0.09) / 100))
    assert s["nps"]["interval"] == pytest.approx([lo, hi], abs=0.01)
    assert (s["promoter_share"]["value"], s["detractor_share"]["value"]) == \
        pytest.approx((50.0, 20.0))
    assert s["csat"]["value"] == pytest.approx(50.0)          # promoters answered 5, others 2
    assert s["ces"]["value"] == pytest.approx(6.0)
    assert cell(hq["html"], f"nps|{K}") == "+30.0"
    assert f"{lo:+.1f} … {hi:+.1f}" in hq["html"]


def test_store_below_min_n_is_hidden_and_says_why(hq):
    s = store(hq["json"], "acme/tiny")
    assert s["responses"] == 12
    for key in ("nps", "promoter_share", "passive_share", "detractor_share", "csat", "ces",
                "complaint_rate"):
        assert s[key]["value"] is None and s[key]["interval"] is None, key
        assert s[key]["n"] == 12 and s[key]["reason"].startswith("only 12 "), key
    assert cell(hq["html"], "nps|acme/tiny") == "hidden"
    assert "only 12 responses; NPS is shown from 30 responses up" in hq["html"]
    assert "+100.0" not in hq["html"]            # its real (all-10) score never leaks,
    assert "100.0 %" not in hq["html"]           # nor through the promoter share or CSAT
    for key in ("promoter_share", "passive_share", "detractor_share", "csat", "ces",
                "complaints"):                   # nor its 0 % complaints (no detractor)
        assert cell(hq["html"], f"{key}|acme/tiny") == "–", key
    assert 'title="only 12 CSAT answers; CSAT is shown from 30 CSAT answers up' in hq["html"]


def test_demographic_shares_are_corrected_with_intervals_and_match_a_recount(hq):
    """The known store's 35 visits with a face estimate: the report's shares are the station's
    estimator on exactly the estimates the events carried (recounted from the raw JSON)."""
    demo = hq["json"]["demographics"][K]
    assert store(hq["json"], K)["visits"] == 41 and demo["n"] == 35      # 6 without a face
    with sqlite3.connect(hq["tmp"] / "hq.db") as db:
        datas = [json.loads(d) for (d,) in db.execute(
            "SELECT data FROM events WHERE type = 'visit' AND station = ?", (K + "/kiosk-1",))]
    datas = [d for d in datas if "p_female" in d]
    expected = period_shares(load_calibration(), [d["p_female"] for d in datas],
                             [d["age_probs"] for d in datas], hq["json"]["k_floor"])
    assert demo == expected
    women = next(s for s in demo["gender"] if s["name"] == "female")
    # 23 of 35 are women; the plain labels' 66 % is pulled towards 50/50 by the models' errors,
    # the correction pushes it out again
    assert women["low"] < 23 / 35 < women["high"] and women["estimate"] > 0.6
    assert cell(hq["html"], f"{K}|women").startswith(f"{women['estimate'] * 100:.0f} % ")
    assert f"({women['low'] * 100:.0f}–{women['high'] * 100:.0f} %)" in cell(hq["html"], f"{K}|women")
    for group in AGE_GROUPS:
        assert cell(hq["html"], f"{K}|age {group}").endswith("%)</span>")


def test_demographic_shares_below_k_are_not_shown(hq, tmp_path):
    """A store with fewer visitors than k shows why, and no share."""
    import shutil
    shutil.copy(hq["tmp"] / "hq.db", tmp_path / "hq.db")
    with sqlite3.connect(tmp_path / "hq.db") as db:
        db.execute("INSERT INTO events (station, seq, id, type, ts, ts_epoch, data, received_at) "
                   "SELECT replace(station, 'known', 'few'), seq, id, type, "
                   "ts, ts_epoch, data, received_at FROM events WHERE station = "
                   "'acme/known/kiosk-1' AND type = 'visit' AND data LIKE '%p_female%' "
                   "ORDER BY seq LIMIT 3")
    config = hq_sample.hq_config(tmp_path, tmp_path / "hq.db")
    assert run_cli("--config", str(config), "--html", str(tmp_path / "r.html"),
                   "--json", str(tmp_path / "r.json")) == 0
    demo = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["demographics"]["acme/few"]
    assert demo == {"n": 3, "reason": "below_k", "k_floor": 5}
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert cell(html, "acme/few|women") == "too few visitors (fewer than 5)"


def test_participation_is_responses_over_camera_entries(hq):
    s = store(hq["json"], K)
    assert s["entries"] == 400
    assert s["participation_rate"]["value"] == pytest.approx(25.0)
    for sim in ("acme/hcm-d1", "acme/hn-hk", "acme/dn-hc"):
        x = store(hq["json"], sim)
        assert x["entries"] > 0
        assert x["participation_rate"]["value"] == pytest.approx(
            100 * x["responses"] / x["entries"])


def test_traffic_by_hour_is_in_the_configured_local_time(hq):
    hours = hq["json"]["by_hour"]["entries"][K]
    assert hours[10] == 400                     # 03:00-04:00 UTC is 10:00-11:00 in UTC+7
    assert sum(hours) == 400


def test_cases_handling_time_and_open_backlog(hq):
    s = store(hq["json"], K)
    handling = hq["known"]["handling"]
    assert s["cases_opened"] == 20
    assert s["cases_resolved"] == 10
    assert s["open_cases"] == 10
    assert s["handling_median_s"]["value"] == pytest.approx(statistics.median(handling))
    assert s["handling_p90_s"]["value"] == pytest.approx(
        statistics.quantiles(handling, n=10, method="inclusive")[-1])
    assert cell(hq["html"], f"open|{K}") == "10"


def test_complaints_returning_share_conversion_and_occupancy_per_store(hq):
    s = store(hq["json"], K)
    # 10 of the 20 detractors reported a problem (the act, not the score): of 100 responses
    # and of 400 entries; handled ones from the complaint to the case's resolution
    assert (s["complaints"], s["complaints_with_contact"]) == (10, 5)
    assert s["complaint_rate"]["value"] == pytest.approx(10.0)
    assert s["complaint_rate_per_entry"]["value"] == pytest.approx(2.5)
    assert s["complaint_handling_median_s"]["value"] == pytest.approx(
        statistics.median(hq["known"]["complaint_handling"]))
    # 40 answered the first-visit question, every other one 'no': 20 returning
    assert s["returning_share"]["value"] == pytest.approx(50.0) and s["returning_share"]["n"] == 40
    low, high = s["returning_share"]["interval"]
    assert low < 50 < high
    assert s["nps_new"]["n"] == 20 and s["nps_new"]["value"] is None       # under min_n 30
    # POS: 40 receipts over the hour's 400 entries; the hour without entries left out
    conversion = s["conversion"]
    assert conversion["source"] == "pos" and conversion["rate"] == pytest.approx(10.0)
    assert conversion["hours_without_entries"] == 1
    assert (s["occupancy"]["people"], s["occupancy"]["peak"]) == (400, 400)
    assert s["zone_dwell"]["shelf"]["median_s"] == pytest.approx(30.0)
    html = hq["html"]
    assert "0901234567" not in html and "slow till" not in html
    assert cell(html, f"conversion|{K}").startswith("10.0")
    assert cell(html, f"returning|{K}").startswith("50")


def test_weekly_nps_per_store_and_all_stores(hq):
    weekly = hq["json"]["weekly"]
    week = weekly["weeks"].index("2026-11-09")        # Sunday 15 Nov belongs to Monday 9 Nov
    assert weekly["stores"][K][week]["n"] == 100
    assert weekly["stores"][K][week]["value"] == pytest.approx(30.0)
    assert all(c["value"] is None and c["interval"] is None
               for c in weekly["stores"]["acme/tiny"])
    total = sum(c["n"] for c in weekly["all"])
    assert total == hq["json"]["all"]["responses"]


def test_all_stores_pools_every_response(hq):
    r = hq["json"]
    assert r["all"]["responses"] == sum(s["responses"] for s in r["stores"])
    assert r["all"]["score_distribution"] == [sum(s["score_distribution"][i] for s in r["stores"])
                                              for i in range(11)]
    assert {s["store"] for s in r["stores"]} == {"acme/hcm-d1", "acme/hn-hk", "acme/dn-hc", K,
                                                 "acme/tiny"}


def test_report_is_one_self_contained_file(hq):
    html = hq["html"]
    assert html.startswith("<!DOCTYPE html>")
    assert html.count("<svg") >= 4
    for outside in ("http:", "https:", "<script", "<link", "src=", "url(", "@import"):
        assert outside not in html, outside


def test_offline_station_is_flagged(hq):
    assert "acme/tiny/kiosk-1 is offline" in hq["html"]


def test_reasons_are_counted_per_group(hq):
    reasons = dict(hq["json"]["reasons"]["detractor"])
    assert set(reasons) <= {"wait", "stock"} and sum(reasons.values()) > 0


def test_period_filter_excludes_events_outside_it(hq, tmp_path):
    out = tmp_path / "r.json"
    assert run_cli("--config", str(hq["config"]), "--html", str(tmp_path / "r.html"),
                   "--json", str(out), "--since", "2026-11-16", "--until", "2026-11-18") == 0
    r = json.loads(out.read_text())
    names = {s["store"] for s in r["stores"] if s["responses"]}
    assert K not in names and "acme/tiny" not in names      # both answered on 15 Nov
    assert r["all"]["responses"] > 0                          # the simulated ones did not stop


def test_report_never_writes_to_the_hq_database(hq):
    assert hashlib.sha256((hq["tmp"] / "hq.db").read_bytes()).hexdigest() == hq["digest"]


def test_missing_database_and_bad_dates_are_clear_errors(hq, tmp_path, capsys):
    config = hq_sample.hq_config(tmp_path, tmp_path / "nowhere.db")
    assert run_cli("--config", str(config), "--html", str(tmp_path / "r.html")) == 2
    assert "no HQ database at" in capsys.readouterr().err
    assert run_cli("--config", str(hq["config"]), "--html", str(tmp_path / "r.html"),
                   "--since", "last tuesday") == 2
    assert "is not a date" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_cx_hq_runs_the_analyst_commands_as_a_process(hq, tmp_path):
    """The commands are registered on `cx-hq` (python -m hq) and work end to end."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}

    def cx_hq(*argv):
        return subprocess.run([sys.executable, "-m", "hq", *argv], capture_output=True,
                              text=True, env=env, cwd=tmp_path, timeout=120)

    done = cx_hq("report", "--config", str(hq["config"]), "--html", str(tmp_path / "r.html"))
    assert done.returncode == 0, done.stderr
    assert cell((tmp_path / "r.html").read_text(encoding="utf-8"), f"nps|{K}") == "+30.0"
    done = cx_hq("stats", "--config", str(hq["config"]), "--json")
    assert done.returncode == 0, done.stderr
    assert {s["station"] for s in json.loads(done.stdout)["stations"]} >= {f"{K}/kiosk-1"}
    done = cx_hq("export", "--config", str(hq["config"]), "--type", "response", "--format",
                 "jsonl", "--station", K)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 100


def test_many_stores_stay_readable(hq, tmp_path):
    """A chain of 14 stores: the weekly chart draws the busiest few plus the total, the
    demographics become one row per store, and the k floor still applies in that layout."""
    import shutil
    import sqlite3
    shutil.copy(hq["tmp"] / "hq.db", tmp_path / "hq.db")
    with sqlite3.connect(tmp_path / "hq.db") as db:
        for i in range(10):
            db.execute("INSERT INTO events (station, seq, id, type, ts, ts_epoch, data, "
                       "received_at) SELECT replace(station, 'known', 'copy-' || ?), seq, "
                       "id, type, ts, ts_epoch, data, received_at FROM events "
                       "WHERE station = 'acme/known/kiosk-1'", (f"{i:02d}",))
    config = hq_sample.hq_config(tmp_path, tmp_path / "hq.db")
    assert run_cli("--config", str(config), "--html", str(tmp_path / "r.html")) == 0
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    weekly = html[html.index("<h2>NPS per week</h2>"):html.index("<h2>Traffic")]
    assert weekly.count("<rect") == report_html.MAX_LINES + 1           # legend swatches
    assert "the table has all 15" in weekly
    assert cell(html, "acme/copy-07|women") == cell(html, f"{K}|women")   # same visitors
    traffic = html[html.index("<h2>Traffic"):html.index("<h2>Visitors")]
    assert traffic.count("entries by hour</text>") == report_html.MAX_PANELS + 1


def test_linked_demographics_match_a_recount_from_the_raw_events(hq):
    """NPS by age bracket and the reweighted NPS, recomputed in plain Python from the events."""
    import sqlite3
    from station import kpi
    with sqlite3.connect(hq["tmp"] / "hq.db") as db:
        events = [(s, t, json.loads(d)) for s, t, d in db.execute(
            "SELECT station, type, data FROM events WHERE type IN ('response', 'visit')")]
    visitor = {(s, d["visit_id"]): (d["age_bracket"], d["gender"])
               for s, t, d in events if t == "visit"}
    by_age, segments, footfall = {}, {}, {}
    for s, t, d in events:
        store_name = s.rsplit("/", 1)[0]
        if t == "visit" and d["age_bracket"] and d["gender"]:
            seg = footfall.setdefault(store_name, {})
            key = (d["age_bracket"], d["gender"])
            seg[key] = seg.get(key, 0) + 1
        if t != "response" or d["presence"] != "linked":
            continue
        age, gender = visitor.get((s, d["visit_id"]), (None, None))
        if age is None or gender is None:
            continue
        by_age.setdefault(age, [0] * 11)[d["nps"]] += 1
        segments.setdefault(store_name, {}).setdefault((age, gender), [0] * 11)[d["nps"]] += 1
    assert sum(map(sum, by_age.values())) > 200          # the simulation links most responses
    report_cells = hq["json"]["nps_by_age_bracket"]
    assert set(report_cells) == set(by_age)
    for age, counts in by_age.items():
        assert report_cells[age]["n"] == sum(counts)
        expected = kpi.nps_from_counts(counts, 30)
        assert report_cells[age]["value"] == (pytest.approx(expected.nps) if expected.shown
                                              else None)
    for name in ("acme/hcm-d1", "acme/hn-hk", "acme/dn-hc"):
        expected = kpi.post_stratified_nps(segments[name], footfall[name], 30)
        got = store(hq["json"], name)["nps_post_stratified"]
        assert got["value"] == (pytest.approx(expected.nps) if expected.shown else None)
        assert got["n"] == expected.n


def test_hq_gates_csat_and_ces_like_the_station(tmp_path):
    """One store, 40 responses: 11 answered CSAT, 30 answered CES. The station's own report
    and HQ's show the same scorecard: NPS and CES, no CSAT (too few answers of its own)."""
    from station.report import build_report
    from station.store import Response
    station, config = hq_sample.station_store(tmp_path, "acme", "gated", "kiosk-1")
    start = hq_sample.KNOWN_START
    for i, score in enumerate([10] * 20 + [8] * 12 + [2] * 8):
        station.append_response(Response(nps=score, csat=5 if i < 11 else None,
                                         ces=6 if i < 30 else None, ts=start + 60 * i))
    hq_db = hq_sample.new_hq_db(tmp_path / "hq.db")
    hq_sample.copy_outbox(station, hq_db)
    hq_db.close()
    assert config.privacy.min_n == 30          # the station's floor; HQ's is [reports] min_n
    at_station = build_report(station, config, start - 3600, start + 7200)
    station.close()
    hq_config = hq_sample.hq_config(tmp_path, tmp_path / "hq.db", min_n=30)
    assert run_cli("--config", str(hq_config), "--html", str(tmp_path / "r.html"),
                   "--json", str(tmp_path / "r.json")) == 0
    at_hq = store(json.loads((tmp_path / "r.json").read_text(encoding="utf-8")), "acme/gated")
    assert at_hq["csat"]["value"] is None and at_hq["csat"]["n"] == 11
    assert at_hq["ces"]["value"] == pytest.approx(6.0) and at_hq["ces"]["n"] == 30
    assert at_hq["nps"]["value"] == pytest.approx(30.0)
    for key in ("nps", "promoter_share", "passive_share", "detractor_share", "csat", "ces",
                "complaint_rate", "participation_rate", "handling_median_s"):
        assert at_hq[key] == at_station[key], key      # the same function on the same counts
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert cell(html, "csat|acme/gated") == "–" and cell(html, "ces|acme/gated") == "6.00"
