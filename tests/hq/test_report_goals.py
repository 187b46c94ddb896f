"""cx-hq report: each store's KPI targets against the report's figures, and its unresolved
alerts, from real station stores (set_target, raise/acknowledge/close/resolve_alert) delivered
through the HQ receiver's own checks and database code."""
from __future__ import annotations

import argparse
import json
import re

import pytest

import hq_sample
from hq import report
from hq.config import load_hq_config
from hq.views import open_readonly
from station import trends
from station.store import Response, Store
from station.targets import Target

NOW = hq_sample.NOW
DAY = 86400.0
G = "acme/goals"
COMMENT = "the cashier shouted at my mother"            # a detractor's comment
CONTEXT_COMMENT = "printer jam while a customer waited"   # text in an alert's context only


def run_cli(*argv) -> int:
    parser = argparse.ArgumentParser(prog="cx-hq")
    report.add_parser(parser.add_subparsers())
    args = parser.parse_args(["report", *argv])
    return args.func(args)


def deliver_out_of_order(store, hq) -> None:
    """The second half of the outbox reaches HQ before the first (a resend after a gap)."""
    seqs = [seq for (seq,) in store.db.execute("SELECT seq FROM outbox ORDER BY seq")]
    first, second = seqs[:len(seqs) // 2], seqs[len(seqs) // 2:]
    hq_sample.copy_outbox(store, hq, skip_seqs=set(first))
    hq_sample.copy_outbox(store, hq, skip_seqs=set(second))


def goals_store(tmp, hq) -> dict:
    """`acme/goals`: kiosk-1 with 100 answers (NPS +30, CSAT 50 %, CES 6.0, 20 % complaints),
    five targets and alerts in every state; kiosk-2 with its own NPS target and one alert."""
    k1, config = hq_sample.station_store(tmp, "acme", "goals", "kiosk-1")
    hq_sample.known_mix(k1, 50, 30, 19)
    k1.append_response(Response(nps=3, csat=2, ces=6, reasons=["wait"], comment=COMMENT,
                                language="en", ts=hq_sample.KNOWN_START + 60 * 99))
    (detractor,) = [a for a in k1.alerts() if a.kind == "detractor"]
    k1.acknowledge_alert(detractor.id, note="called back, voucher given", who="lan",
                         at=NOW - 3600)

    old = NOW - 5 * DAY
    k1.set_target(Target("nps", 40, "higher", "week"), "config", at=old)
    k1.set_target(Target("nps", 50, "higher", "week"), "admin", who="lan", at=NOW - DAY)
    k1.set_target(Target("csat", 45, "higher", "month"), "config", at=old)
    k1.set_target(Target("ces", 6.5, "higher", "week"), "config", at=old)
    k1.set_target(Target("complaint_rate", 8, "lower", "week"), "config", at=old)
    k1.set_target(Target("participation_rate", 10, "higher", "week"), "config", at=old)

    k1.raise_alert("kpi_below_target", "warning", "nps", at=NOW - 7200,
                   context={"value": 30.0, "target": 50, "comment": COMMENT})
    camera = k1.raise_alert("camera_offline", "critical", "entrance", context={}, at=NOW - 5000)
    k1.close_alert(camera, note="cable fixed", who="lan", at=NOW - 4000)
    # resolved with an event time before its raise: only seq says which is the latest
    queue = k1.raise_alert("queue", "info", "till-2", context={}, at=NOW - 600)
    k1.close_alert(queue, at=NOW - 9000)
    csat = k1.raise_alert("kpi_below_target", "warning", "csat", context={}, at=NOW - 8000)
    k1.acknowledge_alert(csat, at=NOW - 7500)
    k1.resolve_alert("kpi_below_target", "csat", at=NOW - 7000)
    deliver_out_of_order(k1, hq)
    k1.close()

    k2, _ = hq_sample.station_store(tmp, "acme", "goals", "kiosk-2")
    k2.set_target(Target("nps", 45, "higher", "month"), "hq", who="hq-analyst", at=NOW - 2 * DAY)
    k2.raise_alert("printer", "info", "receipt", context={"comment": CONTEXT_COMMENT},
                   at=NOW - 300)
    hq_sample.copy_outbox(k2, hq)
    k2.close()
    return {"config": config}


def many_alerts_store(tmp, hq, n: int = 25) -> None:
    """`acme/many`: n open alerts, one a minute."""
    store, _ = hq_sample.station_store(tmp, "acme", "many", "kiosk-1")
    for i in range(n):
        store.raise_alert("sensor", "info", f"shelf-{i:02d}", context={}, at=NOW - 3600 + 60 * i)
    hq_sample.copy_outbox(store, hq)
    store.close()


def tiny_store_with_target(tmp, hq) -> None:
    """`acme/tiny`: 12 answers, all 10, and an NPS target: the figure must stay hidden."""
    store, _ = hq_sample.station_store(tmp, "acme", "tiny", "kiosk-1")
    hq_sample.known_mix(store, 12, 0, 0)
    store.set_target(Target("nps", 20, "higher", "week"), "admin", who="minh", at=NOW - DAY)
    hq_sample.copy_outbox(store, hq)
    store.close()


@pytest.fixture(scope="module")
def hq(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hq-goals")
    db = hq_sample.new_hq_db(tmp / "hq.db")
    goals = goals_store(tmp, db)
    many_alerts_store(tmp, db)
    tiny_store_with_target(tmp, db)
    db.close()
    config = hq_sample.hq_config(tmp, tmp / "hq.db", min_n=30, k=5)
    assert run_cli("--config", str(config), "--html", str(tmp / "r.html"),
                   "--json", str(tmp / "r.json")) == 0
    return {"tmp": tmp, "config": config, "station_config": goals["config"],
            "html": (tmp / "r.html").read_text(encoding="utf-8"),
            "json_text": (tmp / "r.json").read_text(encoding="utf-8"),
            "json": json.loads((tmp / "r.json").read_text(encoding="utf-8"))}


def store(r, name):
    return next(s for s in r["stores"] if s["store"] == name)


def targets(r, name) -> dict:
    return {t["kpi"]: t for t in store(r, name)["targets"]}


def build(hq, until=None) -> dict:
    db = open_readonly(hq["tmp"] / "hq.db")
    try:
        return report.build(db, load_hq_config(hq["config"]), None, until, now=NOW)
    finally:
        db.close()


def cell(html, key):
    m = re.search(r'<td[^>]*data-cell="' + re.escape(key) + r'"[^>]*>(.*?)</td>', html)
    assert m, f"no cell {key}"
    return m.group(1)


def test_each_kpi_shows_the_latest_target_with_its_source_and_time(hq):
    t = targets(hq["json"], G)
    assert list(t) == ["nps", "csat", "ces", "participation_rate", "complaint_rate"]
    nps = t["nps"]
    assert (nps["value"], nps["direction"], nps["period"]) == (50, "higher", "week")
    assert (nps["source"], nps["who"], nps["station"]) == ("admin", "lan", f"{G}/kiosk-1")
    assert nps["set_at"] == "2026-11-17T18:06+07:00"          # NOW - 1 day, local time
    assert t["csat"]["source"] == "config" and t["csat"]["who"] is None


def test_a_kiosk_with_another_target_is_named_beside_the_one_set_last(hq):
    (other,) = targets(hq["json"], G)["nps"]["differs"]
    assert (other["station"], other["value"], other["period"], other["source"]) == \
        (f"{G}/kiosk-2", 45, "month", "hq")
    assert targets(hq["json"], G)["csat"]["differs"] == []


def test_status_of_each_target_over_the_report_period(hq):
    t = targets(hq["json"], G)
    # NPS +30 (95 % CI about +14 .. +44) against 50: the whole interval is below
    assert t["nps"]["status"] == "below_target"
    assert t["nps"]["figure"]["value"] == pytest.approx(30.0)
    assert t["nps"]["figure"]["interval"] == store(hq["json"], G)["nps"]["interval"]
    assert t["csat"]["status"] == "on_target"                  # 50 % against 45 %
    assert t["ces"]["status"] == "below_target"                # every answer 6, target 6.5
    # 10 complaints of 100 responses: 10 % (5.5 .. 17.4) against <= 8
    assert t["complaint_rate"]["status"] == "not_distinguishable"
    assert t["complaint_rate"]["figure"]["value"] == pytest.approx(10.0)
    assert t["complaint_rate"]["figure"]["interval"][0] < 8 < \
        t["complaint_rate"]["figure"]["interval"][1]
    assert t["participation_rate"]["status"] == "too_few_answers"   # no camera entries
    assert t["participation_rate"]["figure"]["value"] is None


def test_a_kpi_under_the_privacy_floor_is_too_few_answers_without_its_value(hq):
    nps = targets(hq["json"], "acme/tiny")["nps"]
    assert nps["status"] == "too_few_answers"
    assert nps["figure"]["value"] is None and nps["figure"]["interval"] is None
    assert nps["figure"]["reason"].startswith("only 12 responses")
    assert cell(hq["html"], "target|acme/tiny|nps") == "too few answers"
    assert "+100.0" not in hq["html"]


def test_hq_judges_a_target_as_the_station_does(hq):
    """The report's intervals and statuses are the station's own (station/trends.py) for the
    same answers: kiosk-2 has none, so acme/goals is kiosk-1's figures."""
    station = Store.open(hq["station_config"])
    try:
        own = trends.period_figures(station, hq["station_config"], 0.0, NOW)
        for name, row in targets(hq["json"], G).items():
            figure, interval = own[name]
            target = Target(name, row["value"], row["direction"], row["period"])
            assert row["status"] == trends.status(figure, interval, target), name
            assert row["figure"]["value"] == pytest.approx(figure.value), name
            if figure.shown and interval:
                assert row["figure"]["interval"] == pytest.approx(list(interval)), name
    finally:
        station.close()


def test_unresolved_alerts_are_counted_by_severity_and_resolved_ones_are_not(hq):
    a = store(hq["json"], G)["alerts"]
    # kiosk-1: the detractor alert (acknowledged) and NPS below target; kiosk-2: the printer.
    # The camera (closed), the queue (closed with an earlier time) and CSAT (resolved) are not.
    assert a["unresolved"] == 3
    assert a["by_severity"] == {"critical": 0, "warning": 2, "info": 1}
    assert a["by_state"] == {"open": 2, "acknowledged": 1}
    assert [(x["kind"], x["subject"]) for x in a["newest"]] == [
        ("printer", "receipt"), ("kpi_below_target", "nps"), ("detractor", f"{G}/kiosk-1")]
    detractor = a["newest"][2]
    assert (detractor["state"], detractor["count"], detractor["note"]) == \
        ("acknowledged", 20, "called back, voucher given")
    totals = hq["json"]["all"]["alerts"]
    assert totals["unresolved"] == 3 + 25
    assert totals["by_severity"] == {"critical": 0, "warning": 2, "info": 26}


def test_the_alert_list_is_capped_newest_first_with_the_total(hq):
    a = store(hq["json"], "acme/many")["alerts"]
    assert a["unresolved"] == 25 and a["left_out"] == 5
    assert [x["subject"] for x in a["newest"]] == [f"shelf-{i:02d}" for i in range(24, 4, -1)]
    assert "and 5 older, counted above" in hq["html"]


def test_no_comment_or_alert_context_reaches_the_report(hq):
    for text in (hq["json_text"], hq["html"]):
        assert COMMENT not in text
        assert CONTEXT_COMMENT not in text
    for s in hq["json"]["stores"]:
        for a in s["alerts"]["newest"]:
            assert "context" not in a


def test_until_shows_targets_and_alerts_as_they_were_then(hq):
    r = build(hq, until=NOW - 3 * DAY)
    t = targets(r, G)
    assert (t["nps"]["value"], t["nps"]["source"], t["nps"]["differs"]) == (40, "config", [])
    assert t["nps"]["status"] == "not_distinguishable"         # +30 (14..44) against 40
    a = store(r, G)["alerts"]
    # only the detractor alert existed then, not yet acknowledged
    assert [(x["kind"], x["state"]) for x in a["newest"]] == [("detractor", "open")]
    assert "acme/many" not in {s["store"] for s in r["stores"] if s["alerts"]["unresolved"]}


def test_html_has_the_targets_and_alerts_sections(hq):
    html = hq["html"]
    assert "<h2>Targets</h2>" in html and "<h2>Alerts not resolved</h2>" in html
    assert cell(html, f"target|{G}|nps") == "below target"
    assert cell(html, f"target|{G}|complaint_rate") == "not distinguishable"
    assert cell(html, f"alerts|{G}") == "3"
    assert "≥ +50.0 a week" in html
    assert f"{G}/kiosk-2</b> has NPS ≥ +45.0 a month" in html
    assert "called back, voucher given" in html
