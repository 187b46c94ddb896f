"""station/report.py on a small hand-made station DB whose every figure is known."""
from __future__ import annotations

import json

import pytest

from station import kpi
from station.config import parse_config
from station.report import build_report, render_text
from station.shares import AGE_GROUPS, load_calibration, share_text
from station.store import Complaint, Crossing, Presence, Response, Store, Visit
from station.targets import Target

T0 = 1_800_000_000.0          # 2027-01-15 08:00 UTC = 15:00 in Ho Chi Minh City (UTC+7)


@pytest.fixture
def station(tmp_path):
    config = parse_config({
        "station": {"org": "acme", "store": "hcm-01", "id": "kiosk-1",
                    "timezone": "Asia/Ho_Chi_Minh"},
        "database": {"path": "station.db"},
        "vision": {"kiosk_zone": "kiosk",
                   "zones": [{"name": "kiosk", "polygon": [[0, 0], [1, 0], [1, 1]]}],
                   "lines": [{"name": "door", "a": [0, 0], "b": [0, 9]},
                             {"name": "aisle", "a": [5, 0], "b": [5, 9], "entrance": False}]},
        "privacy": {"min_n": 3, "k_floor": 2},
    }, base_dir=tmp_path)
    store = Store.open(config)
    yield store, config
    store.close()


def _visitor(store, vid, age, gender, tap, score, first_visit=None, complaint=None):
    """A visitor who stood at the kiosk for 10 s and then answered `score`."""
    store.append_visits([Visit(entered_at=tap - 60, left_at=tap + 60, dwell={"kiosk": 10},
                               age_bracket=age, gender=gender, id=vid)])
    store.update_presence([Presence(vid, "kiosk", tap - 10, tap)])
    return store.append_response(Response(nps=score, csat=5 if score >= 9 else 2, ts=tap,
                                           first_visit=first_visit, complaint=complaint))


def _fill(store):
    # three young women (one promoter, two detractors), one older man (promoter)
    # two say it is their first visit, two that they came before; one of the two detractors
    # reports a problem and leaves a phone number (the other only scores)
    _visitor(store, "v1", "25-34", "female", T0 + 100, 10, first_visit=True)
    _visitor(store, "v2", "25-34", "female", T0 + 200, 3, first_visit=False,
             complaint=Complaint(problem="no staff at the till", contact="0901234567",
                                 ts=T0 + 230, id="k1"))
    _visitor(store, "v3", "25-34", "female", T0 + 300, 0, first_visit=False)
    _visitor(store, "v4", "65+", "male", T0 + 400, 9, first_visit=True)
    # a visitor whose face was never seen, and a tap with nobody there while the camera runs
    store.append_visits([Visit(entered_at=T0, left_at=T0 + 30, id="v5")])
    store.put_health("vision", {"fps": 10.0, "last_frame": T0 + 500}, ts=T0 + 500)
    store.append_response(Response(nps=8, ts=T0 + 500))
    store.append_crossings([Crossing(T0 + i, "door", "in") for i in range(5)] +
                           [Crossing(T0 + i, "door", "out") for i in range(4)] +
                           [Crossing(T0 + i, "aisle", "in") for i in range(7)])


def test_report_figures_match_the_hand_made_data(station):
    store, config = station
    _fill(store)
    assert store.roll_up_traffic(T0 + 61) == 2          # door and aisle, minute T0
    r = build_report(store, config, T0 - 3600, T0 + 3600)
    assert r["station"] == "acme/hcm-01/kiosk-1"
    assert r["responses"] == 5 and r["complete"] == 5
    assert r["linked_to_visitor"] == 4 and r["no_presence"] == 1
    assert r["score_distribution"] == [1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1]
    assert r["nps"]["value"] == pytest.approx(0)        # 2 promoters, 2 detractors of 5
    assert r["nps"]["n"] == 5 and r["nps"]["reason"] is None
    assert r["promoter_share"]["value"] == pytest.approx(40)
    assert r["csat"]["n"] == 4 and r["csat"]["value"] == pytest.approx(50)
    # only the entrance line counts as footfall
    assert (r["entries"], r["exits"]) == (5, 4)
    assert r["participation_rate"]["value"] == pytest.approx(100)
    assert r["cases_opened"] == 2 and r["cases_resolved"] == 0
    # one complaint (the act), not the two detractors: of 5 responses and of 5 entries
    assert r["complaints"] == 1 and r["complaints_with_contact"] == 1
    assert r["complaint_rate"]["value"] == pytest.approx(20)
    assert r["complaint_rate_per_entry"]["value"] == pytest.approx(20)
    assert r["complaint_handling_median_s"]["value"] is None      # not handled yet
    # 2 of the 4 who answered the first-visit question came before (the 5th was not asked)
    assert r["returning_share"]["value"] == pytest.approx(50)
    assert r["returning_share"]["n"] == 4
    assert r["returning_share"]["interval"] == pytest.approx(
        list(kpi.proportion_interval(2, 4)))
    # new [10, 9] and returning [3, 0]: 2 respondents each, under k = 2? no: at k, under min_n
    assert r["nps_by_first_visit"]["new"]["n"] == 2
    assert r["nps_by_first_visit"]["new"]["value"] is None
    assert r["visits"] == 5
    text = render_text(r)
    assert "complaints per response      20.0 %" in text
    assert "returning shoppers           50.0 %" in text
    assert "0901234567" not in json.dumps(r)          # contact details never in aggregates


def test_complaint_handling_runs_from_the_complaint_to_its_resolution(station):
    store, config = station
    _fill(store)
    (case,) = [c for c in store.cases(0, 2e9) if c.complaint]
    assert case.complaint["contact"] == "0901234567"       # the manager's case list has it
    store.resolve_case(case.id, "called back", at=T0 + 230 + 900)
    r = build_report(store, config, T0 - 3600, T0 + 3600)
    assert r["complaint_handling_median_s"]["value"] == pytest.approx(900)
    assert r["handling_median_s"]["value"] == pytest.approx(930)   # the case: from the score


def test_report_buckets_by_local_hour_and_day(station):
    store, config = station
    _fill(store)
    r = build_report(store, config, T0 - 3600, T0 + 3600)
    assert list(r["nps_by_hour"]) == ["15"]                # 08:xx UTC is 15:xx local
    assert list(r["nps_by_day"]) == ["2027-01-15"]
    assert r["nps_by_hour"]["15"]["n"] == 5
    assert r["since"] == "2027-01-15T14:00:00+07:00"


def test_report_shows_no_shares_without_face_estimates(station):
    store, config = station
    _fill(store)              # visits stored without p_female / age_probs (an older station)
    r = build_report(store, config, T0 - 3600, T0 + 3600)
    assert r["demographics"] == {"n": 0, "reason": "none"}
    assert "demographics" not in render_text(r)


def _calibration_visits(store, rows):
    """Visits carrying the stored estimates of real calibration faces (models/demographics.json)."""
    cal = load_calibration()
    store.append_visits([Visit(entered_at=T0 + i, left_at=T0 + i + 30, p_female=float(cal.p_female[r]),
                               age_probs=tuple(float(p) for p in cal.age_probs[r]))
                         for i, r in enumerate(rows)])
    return cal


def test_report_hides_shares_below_the_privacy_floor(station):
    store, config = station
    _calibration_visits(store, [0])                    # one visitor, k_floor 2
    r = build_report(store, config, T0 - 3600, T0 + 3600)
    assert r["demographics"] == {"n": 1, "reason": "below_k", "k_floor": 2}
    assert "too few visitors to show shares (privacy floor 2)" in render_text(r)


def test_report_shows_corrected_shares_with_intervals(station):
    store, config = station
    cal = load_calibration()
    # 60 faces of women aged 20-39: the corrected shares must say so, the plain labels less so
    rows = [i for i in range(len(cal)) if cal.gender[i] == 0 and AGE_GROUPS[cal.age_group[i]] == "20-39"][:60]
    _calibration_visits(store, rows)
    d = build_report(store, config, T0 - 3600, T0 + 3600)["demographics"]
    assert d["n"] == 60 and d["method"] == "pacc" and d["level"] == 0.95
    women = next(s for s in d["gender"] if s["name"] == "female")
    assert women["low"] <= women["estimate"] <= women["high"]
    assert women["estimate"] > 0.85 and women["high"] > 0.97
    ages = {s["name"]: s["estimate"] for s in d["age"]}
    assert set(ages) == set(AGE_GROUPS) and sum(ages.values()) == pytest.approx(1, abs=1e-3)
    assert max(ages, key=ages.get) == "20-39"
    text = render_text(build_report(store, config, T0 - 3600, T0 + 3600))
    assert f"women          {share_text(women)}" in text and "age 20-39" in text


def test_report_hides_segments_below_min_n_and_says_why(station):
    store, config = station
    _fill(store)
    r = build_report(store, config, T0 - 3600, T0 + 3600)
    assert r["nps_by_age_bracket"]["25-34"]["n"] == 3
    assert r["nps_by_age_bracket"]["25-34"]["value"] == pytest.approx(-100 / 3)
    cell = r["nps_by_age_bracket"]["65+"]        # 1 respondent: under k = 2, so not even n
    assert cell["value"] is None and cell["n"] is None and "k-anonymity" in cell["reason"]


def test_report_post_stratifies_linked_respondents_to_the_footfall_mix(station):
    store, config = station
    _fill(store)
    # more older men walk past the kiosk without answering: footfall 3 young women, 3 old men
    store.append_visits([Visit(entered_at=T0, left_at=T0 + 10, age_bracket="65+", gender="male")
                         for _ in range(2)])
    r = build_report(store, config, T0 - 3600, T0 + 3600)
    young = kpi.nps_from_scores([10, 3, 0], 1).nps
    old = kpi.nps_from_scores([9], 1).nps
    ps = r["nps_post_stratified"]
    assert ps["value"] == pytest.approx((young + old) / 2)
    assert ps["n"] == 4                       # the linked respondents with known attributes


def test_an_empty_period_reports_nothing_and_renders(station):
    store, config = station
    r = build_report(store, config, T0, T0 + 60)
    assert r["responses"] == 0 and r["nps"]["value"] is None
    assert r["participation_rate"]["value"] is None and r["handling_median_s"]["value"] is None
    text = render_text(r)
    assert "hidden: no responses in this period" in text
    assert "hidden: no camera entries in this period" in text


def _answers(store, scores, csat_answers):
    """Responses with these scores; the first `csat_answers` of them also answer CSAT and CES."""
    for i, score in enumerate(scores):
        follow_up = {"csat": 4, "ces": 6} if i < csat_answers else {}
        store.append_response(Response(nps=score, ts=T0 + 60 * i, **follow_up))


def test_json_below_min_n_has_no_value_and_no_interval_only_the_reason(station):
    store, config = station                      # min_n = 3
    _answers(store, [10, 0], csat_answers=2)
    r = build_report(store, config, T0 - 3600, T0 + 3600)
    for key in ("nps", "promoter_share", "passive_share", "detractor_share", "csat", "ces",
                "complaint_rate"):
        assert r[key]["value"] is None and r[key]["interval"] is None, key
        assert r[key]["n"] == 2 and r[key]["reason"].startswith("only 2 "), key
    assert "responses; NPS is shown from 3 responses up" in r["nps"]["reason"]
    assert '"shown"' not in json.dumps(r)
    text = render_text(r)
    assert "hidden: only 2 CSAT answers" in text and "promoters/passives" not in text


def test_at_min_n_every_survey_figure_is_shown_with_its_n(station):
    store, config = station
    _answers(store, [10, 0, 8], csat_answers=3)
    r = build_report(store, config, T0 - 3600, T0 + 3600)
    assert r["nps"]["value"] == pytest.approx(0) and r["nps"]["n"] == 3
    low, high = r["nps"]["interval"]
    assert low < 0 < high
    assert r["passive_share"]["value"] == pytest.approx(100 / 3)
    assert r["csat"]["value"] == pytest.approx(100) and r["ces"]["value"] == pytest.approx(6)
    assert r["complaint_rate"]["value"] == 0           # the detractor did not complain


def test_csat_and_ces_gate_on_their_own_answers_not_on_nps(station):
    store, config = station
    _answers(store, [10, 9, 0, 8], csat_answers=2)
    r = build_report(store, config, T0 - 3600, T0 + 3600)
    assert r["nps"]["value"] == pytest.approx(25)
    assert r["csat"] == {"value": None, "n": 2, "interval": None, "se": None,
                         "reason": "only 2 CSAT answers; CSAT is shown from 3 CSAT answers up "
                                   "(below that it is too uncertain)"}
    assert r["ces"]["value"] is None and r["ces"]["n"] == 2


def test_the_report_judges_each_target_in_json_and_text(station):
    store, config = station
    _fill(store)
    store.set_target(Target("nps", 90, "higher", "week"), "admin")     # min_n is 3 here
    store.set_target(Target("complaint_rate", 60, "lower", "month"), "hq")
    report = build_report(store, config, T0 - 86400, T0 + 3600)
    targets = json.loads(json.dumps(report))["targets"]
    assert sorted(targets) == ["complaint_rate", "nps"]
    nps = targets["nps"]["overall"]
    # 2 promoters, 1 passive, 2 detractors: NPS 0, and its interval is far under +90
    assert (nps["n"], nps["value"], nps["status"]) == (5, 0, "below_target")
    # 2 cases of 5 responses: 40 %, under the 60 % allowed
    assert targets["complaint_rate"]["overall"]["status"] == "on_target"
    assert targets["complaint_rate"]["overall"]["period"] == "last 30 days"
    text = render_text(report)
    assert "nps                  target >= 90 a week: below target, 0.0" in text
    assert "complaint_rate       target <= 60 a month: on target" in text


def test_the_report_lists_the_unresolved_alerts(station):
    store, config = station
    _fill(store)                                   # two detractors: one alert, counted twice
    resolved = store.raise_alert("kpi_below_target", "warning", "csat", {}, at=T0)
    store.resolve_alert("kpi_below_target", "csat", at=T0 + 1)
    report = json.loads(json.dumps(build_report(store, config, T0 - 3600, T0 + 3600)))
    (alert,) = report["alerts"]
    assert alert["id"] != resolved
    assert (alert["kind"], alert["state"], alert["count"]) == ("detractor", "open", 2)
    assert alert["first_seen"] == "2027-01-15T15:03:20+07:00"
    assert alert["context"]["score"] == 0 and alert["context"]["age_bracket"] == "25-34"
    assert "detractor          acme/hcm-01/kiosk-1  open, 2 times" in render_text(
        build_report(store, config, T0 - 3600, T0 + 3600))


def test_segments_keep_the_privacy_floor_and_the_min_n_rule(tmp_path):
    """NPS by gender, by age x gender and by weekday; participation by hour (issue 17)."""
    import dataclasses
    from datetime import datetime
    from zoneinfo import ZoneInfo
    from station.config import parse_config
    from station.report import build_report, render_text
    from station.store import Crossing, Response, Store, Visit
    config = parse_config({"station": {"org": "a", "store": "s", "id": "k",
                                       "timezone": "Asia/Ho_Chi_Minh"},
                           "database": {"path": "s.db"}, "privacy": {"min_n": 3, "k_floor": 2},
                           "vision": {"lines": [{"name": "door", "a": [0, 0], "b": [1, 1]}]}},
                          tmp_path)
    store = Store.open(config)
    monday9 = datetime(2026, 11, 30, 9, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")).timestamp()
    people = [("25-34", "female", 10), ("25-34", "female", 9), ("25-34", "female", 3),
              ("35-44", "male", 10)]
    for i, (age, gender, score) in enumerate(people):
        visit = Visit(monday9 + i * 60, monday9 + i * 60 + 30, age_bracket=age, gender=gender)
        store.append_visits([visit])
        store.db.execute("UPDATE visits SET id = ? WHERE id = ?", (f"v{i}", visit.id))
        store.append_response(Response(nps=score, ts=monday9 + i * 60 + 40))
        store.db.execute("UPDATE responses SET visit_id = ? WHERE ts = ?",
                         (f"v{i}", monday9 + i * 60 + 40))
    store.append_crossings([Crossing(monday9 + i, "door", "in") for i in range(8)])
    store.roll_up_traffic(monday9 + 600)
    r = build_report(store, config, monday9 - 3600, monday9 + 3600)
    assert r["nps_by_gender"]["female"]["value"] == pytest.approx(100 * (2 - 1) / 3)
    assert r["nps_by_gender"]["male"]["reason"].startswith("fewer than 2 respondents")
    assert r["nps_by_age_gender"]["25-34/female"]["n"] == 3
    assert list(r["nps_by_weekday"]) == ["Mon"] and r["nps_by_weekday"]["Mon"]["n"] == 4
    assert r["participation_by_hour"]["09"] == {"responses": 4, "entries": 8, "rate": 50.0}
    text = render_text(r)
    assert "NPS by gender" in text and "09h   50.0 %  (4 / 8)" in text


def test_the_report_has_occupancy_from_opening_and_dwell_per_zone(tmp_path):
    from datetime import datetime
    from zoneinfo import ZoneInfo
    from station.config import parse_config
    from station.report import build_report, render_text
    from station.store import Crossing, Store, Visit
    config = parse_config({"station": {"org": "a", "store": "s", "id": "k",
                                       "timezone": "Asia/Ho_Chi_Minh", "opening_time": "09:00"},
                           "database": {"path": "s.db"},
                           "vision": {"lines": [{"name": "door", "a": [0, 0], "b": [1, 1]}]}},
                          tmp_path)
    store = Store.open(config)
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    t = lambda h, m: datetime(2026, 11, 30, h, m, tzinfo=tz).timestamp()   # noqa: E731
    store.append_crossings([Crossing(t(8, 50), "door", "in"),        # before opening
                            Crossing(t(9, 5), "door", "in"), Crossing(t(9, 6), "door", "in"),
                            Crossing(t(9, 7), "door", "in"), Crossing(t(9, 30), "door", "out")])
    store.append_visits([Visit(t(9, 5), t(9, 25), dwell={"shelf": 120.0}),
                         Visit(t(9, 6), t(9, 16), dwell={"shelf": 60.0, "till": 30.0})])
    r = build_report(store, config, t(0, 0), t(10, 0))
    occ = r["occupancy"]
    assert (occ["people"], occ["peak"], occ["peak_at_local"]) == \
        (2, 3, "2026-11-30T09:07:00+07:00")
    assert r["zone_dwell"]["shelf"]["visits"] == 2 and r["zone_dwell"]["till"]["median_s"] == 30
    assert r["visit_length"]["median_s"] == 900
    text = render_text(r)
    assert "in the store now (camera)    2 (since opening at 09:00: peak 3 at 09:07)" in text
    assert "dwell in shelf" in text and "visit length" in text
