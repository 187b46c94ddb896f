"""Trend against target: each status by hand, per day and per week, direction respected."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from station.config import load_config
from station.scorecard import Figure
from station.store.records import Complaint, Response
from station.targets import Target
from station.trends import build_trends, day_periods, status, week_periods

NOW = datetime(2026, 12, 2, 12, tzinfo=timezone.utc).timestamp()     # a Wednesday, noon UTC
CONFIG = """
[station]
org = "acme"
store = "hcm-01"
id = "kiosk-1"
[database]
path = "station.db"
[privacy]
min_n = 30
[targets.nps]
value = 20
[targets.complaint_rate]
value = 25
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return load_config(path)


def answer(store, scores_and_reasons, ts, complain=False):
    """Responses at `ts`; with `complain`, every detractor also reports a problem."""
    for score, reasons in scores_and_reasons:
        complaint = Complaint(ts=ts) if complain and score <= 6 else None
        store.append_response(Response(nps=score, reasons=list(reasons), ts=ts,
                                       complaint=complaint))


def thirty_answers(store, ts):
    """10 promoters, 10 passives, 10 detractors: NPS 0, 95 % interval -27.5 .. +27.5
    (adjusted Wald, n + 3 = 33: 1.96 * 100 * sqrt(2 * 10.75 / 33 / 33) = 27.54); 10 cases of
    30 responses, each detractor reporting a problem: complaint rate 33.3 %, Wilson interval
    19.2 .. 51.2 %. Six detractors name 'wait', three of them 'staff' too."""
    answer(store, [(10, ())] * 10 + [(8, ())] * 10 + [(0, ("wait",))] * 3 +
           [(2, ("wait", "staff"))] * 3 + [(5, ())] * 4, ts, complain=True)


NPS_ZERO = Figure(0.0, 30, (-27.54, 27.54))
COMPLAINTS = Figure(100 / 3, 30)
COMPLAINT_INTERVAL = (19.23, 51.22)


@pytest.mark.parametrize("target, expected", [
    (40, "below_target"),            # the whole interval is under 40
    (20, "not_distinguishable"),     # a dip, but the interval still reaches 20
    (0, "on_target"),                # meeting the target exactly is meeting it
    (-30, "on_target"),
])
def test_nps_status_against_a_higher_is_better_target(target, expected):
    assert status(NPS_ZERO, NPS_ZERO.interval, Target("nps", target, "higher", "week")) \
        == expected


@pytest.mark.parametrize("target, expected", [
    (15, "below_target"),            # even the interval's low end has more complaints than 15 %
    (25, "not_distinguishable"),
    (40, "on_target"),
])
def test_complaint_rate_status_respects_lower_is_better(target, expected):
    goal = Target("complaint_rate", target, "lower", "week")
    assert status(COMPLAINTS, COMPLAINT_INTERVAL, goal) == expected


def test_a_figure_under_min_n_is_too_few_answers_whatever_the_target():
    hidden = Figure(None, 29, reason="only 29 responses; NPS is shown from 30 responses up")
    assert status(hidden, None, Target("nps", -100, "higher", "week")) == "too_few_answers"


def test_a_period_is_judged_on_its_own_answers_with_its_interval(store, config):
    thirty_answers(store, NOW - 3600)
    trends = build_trends(store, config, NOW)
    today = trends["nps"]["by_day"][-1]
    assert today["period"] == "2026-12-02" and today["n"] == 30 and today["value"] == 0
    assert today["interval"] == pytest.approx([-27.54, 27.54], abs=0.01)
    assert today["status"] == "not_distinguishable"        # the dip to 0 is inside its interval
    complaints = trends["complaint_rate"]["by_day"][-1]
    assert complaints["value"] == pytest.approx(100 / 3)
    assert complaints["interval"] == pytest.approx(list(COMPLAINT_INTERVAL), abs=0.01)
    assert complaints["status"] == "not_distinguishable"
    assert trends["complaint_rate"]["target"] == {"value": 25, "direction": "lower",
                                                  "period": "week"}


def test_days_without_enough_answers_are_gaps_with_the_reason(store, config):
    thirty_answers(store, NOW - 3600)
    answer(store, [(9, ())] * 5, NOW - 86400)                       # yesterday: only 5
    days = build_trends(store, config, NOW)["nps"]["by_day"]
    assert len(days) == 12 and days[0]["period"] == "2026-11-21"
    assert days[-2]["status"] == "too_few_answers" and days[-2]["value"] is None
    assert days[-2]["reason"].startswith("only 5 responses")
    assert days[0]["reason"] == "no responses in this period"


def test_a_week_and_the_overall_span_add_up_their_days(store, config):
    thirty_answers(store, NOW - 3600)
    answer(store, [(0, ("stock",))] * 30, NOW - 2 * 86400)        # Monday: 30 detractors
    trend = build_trends(store, config, NOW)["nps"]
    week = trend["by_week"][-1]
    assert [w["period"] for w in trend["by_week"][-2:]] == ["2026-W48", "2026-W49"]
    assert week["n"] == 60 and week["value"] == pytest.approx(100 * (10 - 40) / 60)
    assert week["status"] == "below_target"        # -50, interval far under +20
    assert trend["overall"]["period"] == "last 7 days" and trend["overall"]["n"] == 60
    assert trend["overall"]["status"] == "below_target"


def test_beside_nps_the_top_detractor_reasons_with_count_and_share(store, config):
    thirty_answers(store, NOW - 3600)
    today = build_trends(store, config, NOW)["nps"]["by_day"][-1]
    assert today["detractor_reasons"] == [
        {"reason": "wait", "count": 6, "share": pytest.approx(60.0)},
        {"reason": "staff", "count": 3, "share": pytest.approx(30.0)}]
    assert "detractor_reasons" not in build_trends(store, config, NOW)["complaint_rate"][
        "by_day"][-1]


def test_the_databases_target_wins_over_the_configs(store, config):
    thirty_answers(store, NOW - 3600)
    store.set_target(Target("nps", -10, "higher", "week"), "admin")
    trend = build_trends(store, config, NOW)["nps"]
    assert trend["target"]["value"] == -10 and trend["by_day"][-1]["status"] == "on_target"


def test_no_target_no_trend(store, tmp_path):
    path = tmp_path / "bare.toml"
    path.write_text(CONFIG.split("[targets.nps]")[0], encoding="utf-8")
    assert build_trends(store, load_config(path), NOW) == {}


def test_periods_are_local_days_and_monday_weeks():
    from zoneinfo import ZoneInfo
    hcm = ZoneInfo("Asia/Ho_Chi_Minh")           # NOW is 19:00 there, still 2 December
    (label, since, until), = day_periods(NOW, hcm, 1)
    assert label == "2026-12-02" and until == NOW and NOW - since == 19 * 3600
    (label, since, until), = week_periods(NOW, hcm, 1)
    assert label == "2026-W49" and NOW - since == 2 * 86400 + 19 * 3600


def test_conversion_against_its_target_from_the_pos_source(store, tmp_path):
    """40 receipts over 100 entries in one hour: 40 %, Wilson 30.9 .. 49.8 %, against >= 50 %
    wholly below; a period without POS figures or a checkout zone is a gap with why."""
    from station.pos import PosHour
    from station.store.records import Crossing
    path = tmp_path / "conv.toml"
    path.write_text(CONFIG.split("[targets.nps]")[0] + "[targets.conversion]\nvalue = 50\n",
                    encoding="utf-8")
    config = load_config(path)
    hour = (NOW - 3 * 3600) // 3600 * 3600
    store.append_crossings([Crossing(hour + 30 * i, "door", "in") for i in range(100)])
    store.import_pos([PosHour(hour, 40, None)], "till.csv")
    trend = build_trends(store, config, NOW)["conversion"]
    today = trend["by_day"][-1]
    assert today["value"] == pytest.approx(40.0) and today["n"] == 100
    assert today["interval"] == pytest.approx([30.94, 49.80], abs=0.01)
    assert today["status"] == "below_target"
    assert trend["target"] == {"value": 50, "direction": "higher", "period": "week"}
    yesterday = trend["by_day"][-2]
    assert yesterday["value"] is None and yesterday["status"] == "too_few_answers"
    assert yesterday["reason"] == "no POS figures and no checkout zone"
