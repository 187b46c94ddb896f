"""KPI maths in station/kpi.py: NPS with SE/CI and min-n gating, CSAT, CES, handling time,
k-anonymity, post-stratification."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station import kpi


def test_seed_example_half_promoters_fifth_detractors_gives_nps_30():
    scores = [10, 9, 9, 9, 9, 8, 7, 7, 3, 0]
    r = kpi.nps_from_scores(scores, min_n=1)
    assert (r.promoters, r.passives, r.detractors, r.n) == (5, 3, 2, 10)
    assert r.promoter_share == pytest.approx(50)
    assert r.detractor_share == pytest.approx(20)
    assert r.nps == pytest.approx(30)
    assert r.shown and r.reason == ""


def test_seed_example_scaled_to_200_responses_is_still_30():
    scores = [10] * 40 + [9] * 60 + [8] * 30 + [7] * 30 + [6] * 20 + [0] * 20
    assert kpi.nps_from_scores(scores).nps == pytest.approx(30)


@pytest.mark.parametrize("score,group", [(0, "detractor"), (6, "detractor"), (7, "passive"),
                                         (8, "passive"), (9, "promoter"), (10, "promoter")])
def test_boundaries_6_is_detractor_7_8_passive_9_promoter(score, group):
    assert kpi.nps_group(score) == group
    r = kpi.nps_from_scores([score], min_n=1)
    assert (r.promoters, r.passives, r.detractors) == {
        "promoter": (1, 0, 0), "passive": (0, 1, 0), "detractor": (0, 0, 1)}[group]
    assert r.nps == {"promoter": 100, "passive": 0, "detractor": -100}[group]


@pytest.mark.parametrize("bad", [-1, 11])
def test_score_outside_0_to_10_is_rejected(bad):
    with pytest.raises(ValueError):
        kpi.nps_from_scores([5, bad])


def test_nps_from_counts_needs_eleven_counts():
    with pytest.raises(ValueError):
        kpi.nps_from_counts([1] * 10)


def test_standard_error_matches_hand_computation():
    # 5 promoters, 3 passives, 2 detractors: p = .5, d = .2
    # SE = 100 * sqrt((.5 + .2 - .3^2) / 10) = 100 * sqrt(.061) = 24.6981...
    r = kpi.nps_from_scores([10, 9, 9, 9, 9, 8, 7, 7, 3, 0], min_n=1)
    assert r.se == pytest.approx(24.698178070456937, rel=1e-12)


def test_ci_is_adjusted_wald_by_hand():
    # Rocks 2016: add 3/4 promoter, 3/4 detractor, 3/2 passive -> n = 13
    # pa = 5.75/13, da = 2.75/13, centre = 300/13 = 23.0769
    # half = 1.96 * 100 * sqrt((8.5/13 - (3/13)^2) / 13)
    r = kpi.nps_from_scores([10, 9, 9, 9, 9, 8, 7, 7, 3, 0], min_n=1)
    pa, da = 5.75 / 13, 2.75 / 13
    half = 1.959963984540054 * 100 * math.sqrt((pa + da - (pa - da) ** 2) / 13)
    assert r.ci_low == pytest.approx(300 / 13 - half)
    assert r.ci_high == pytest.approx(300 / 13 + half)
    assert r.ci_low == pytest.approx(-19.0506, abs=1e-3)
    assert r.ci_high == pytest.approx(65.2045, abs=1e-3)


def test_ci_of_a_single_answer_still_contains_its_estimate():
    for score, nps in ((10, 100), (0, -100)):
        r = kpi.nps_from_scores([score], min_n=1)
        assert r.nps == nps and r.ci_low <= nps <= r.ci_high


def test_standard_error_of_a_larger_sample_by_hand():
    # 120 promoters, 50 passives, 30 detractors of 200: p = .6, d = .15, NPS 45
    counts = [30, 0, 0, 0, 0, 0, 0, 25, 25, 60, 60]
    r = kpi.nps_from_counts(counts)
    assert r.nps == pytest.approx(45)
    assert r.se == pytest.approx(100 * math.sqrt((0.6 + 0.15 - 0.45 ** 2) / 200))
    assert r.ci_low < 45 < r.ci_high
    assert r.ci_high - r.ci_low == pytest.approx(2 * 1.96 * r.se, rel=0.05)


def test_ci_is_clipped_to_the_nps_scale():
    r = kpi.nps_from_scores([10] * 29 + [0], min_n=1)
    assert r.ci_high <= 100 and r.ci_low >= -100
    assert kpi.nps_from_scores([10] * 40, min_n=1).ci_high == 100


def test_below_min_n_the_nps_is_hidden_with_a_reason():
    r = kpi.nps_from_scores([9] * 29, min_n=30)
    assert not r.shown
    assert "29" in r.reason and "30" in r.reason
    r30 = kpi.nps_from_scores([9] * 30, min_n=30)
    assert r30.shown and r30.reason == ""


def test_min_n_reason_is_empty_from_min_n_up_and_says_why_below():
    assert kpi.min_n_reason(30, 30, "CSAT answers", "CSAT") == ""
    assert kpi.min_n_reason(29.6, 30, "responses", "NPS") == (
        "only 29 responses; NPS is shown from 30 responses up (below that it is too uncertain)")
    assert kpi.min_n_reason(0, 1, "camera entries", "participation") == \
        "no camera entries in this period"


def test_no_responses_gives_no_nps_and_says_so():
    r = kpi.nps_from_counts([0] * 11)
    assert r.n == 0 and r.nps is None and r.se is None and not r.shown
    assert "no responses" in r.reason


def test_csat_is_share_of_4_and_5():
    r = kpi.csat_from_counts({1: 1, 2: 1, 3: 2, 4: 4, 5: 2})
    assert r.n == 10 and r.value == pytest.approx(60)
    assert kpi.csat_from_counts({}).value is None


def test_ces_is_the_mean_answer():
    r = kpi.ces_from_counts({1: 2, 4: 1, 7: 1})
    assert r.n == 4 and r.value == pytest.approx((1 + 1 + 4 + 7) / 4)
    assert kpi.ces_from_counts({}).value is None


def test_complaint_and_participation_rates():
    assert kpi.complaint_rate(3, 60) == pytest.approx(5)
    assert kpi.complaint_rate(0, 0) is None
    assert kpi.participation_rate(25, 500) == pytest.approx(5)
    assert kpi.participation_rate(25, 0) is None


def test_handling_time_median_and_p90():
    durations = [60, 120, 180, 240, 300, 360, 420, 480, 540, 600]
    median, p90 = kpi.handling_time(durations)
    assert median == pytest.approx(330)
    # numpy linear method: position 0.9 * 9 = 8.1 -> 540 + 0.1 * 60
    assert p90 == pytest.approx(546)
    assert kpi.handling_time([]) == (None, None)
    assert kpi.handling_time([100]) == (100, 100)


def test_percentile_is_order_independent():
    assert kpi.percentile([5, 1, 4, 2, 3], 50) == 3
    assert kpi.percentile([5, 1, 4, 2, 3], 100) == 5
    assert kpi.percentile([5, 1, 4, 2, 3], 0) == 1


def test_k_anonymity_suppresses_cells_below_k():
    cells = {"18-24/female": 4, "18-24/male": 5, "65+/female": 1, "25-34/male": 40}
    out = kpi.suppress_small_cells(cells, k=5)
    assert out == {"18-24/female": None, "18-24/male": 5, "65+/female": None, "25-34/male": 40}


def _counts(promoters=0, passives=0, detractors=0):
    c = [0] * 11
    c[10], c[8], c[3] = promoters, passives, detractors
    return c


def test_post_stratified_equals_plain_nps_when_mix_matches_footfall():
    seg = {("18-24", "female"): _counts(10, 5, 15), ("45-54", "male"): _counts(30, 10, 10)}
    footfall = {("18-24", "female"): 300, ("45-54", "male"): 500}   # same 30:50 mix
    plain = kpi.nps_from_counts([a + b for a, b in zip(*seg.values())])
    ps = kpi.post_stratified_nps(seg, footfall)
    assert ps.nps == pytest.approx(plain.nps)
    assert ps.n == plain.n == 80
    assert ps.se == pytest.approx(plain.se)       # equal weights: Kish n is n


def test_post_stratified_corrects_a_skewed_respondent_mix_toward_footfall():
    young = _counts(10, 20, 50)      # 80 respondents, NPS -50
    old = _counts(15, 5, 0)          # 20 respondents, NPS +75
    seg = {"young": young, "old": old}
    plain = kpi.nps_from_counts([a + b for a, b in zip(young, old)])
    assert plain.nps == pytest.approx(-25)
    ps = kpi.post_stratified_nps(seg, {"young": 500, "old": 500})
    assert ps.nps == pytest.approx((-50 + 75) / 2)          # the 50:50 footfall mix
    assert ps.nps > plain.nps
    # unequal weights lose information: Kish's effective n < n, so the SE grows
    n_eff = 100 ** 2 / (80 * (0.5 / 80) ** 2 * 100 ** 2 + 20 * (0.5 / 20) ** 2 * 100 ** 2)
    assert n_eff < 100
    p, d = 0.5 * 15 / 20 + 0.5 * 10 / 80, 0.5 * 50 / 80
    assert ps.se == pytest.approx(100 * math.sqrt((p + d - (p - d) ** 2) / n_eff))


def test_post_stratified_reports_segments_without_respondents():
    seg = {"young": _counts(20, 10, 10)}
    ps = kpi.post_stratified_nps(seg, {"young": 100, "old": 300, "kids": 0}, min_n=1)
    assert ps.nps == pytest.approx(25)
    assert "1 segment(s) with footfall but no respondents" in ps.reason


def test_post_stratified_with_no_usable_segment_is_hidden():
    ps = kpi.post_stratified_nps({"young": _counts(5, 5, 5)}, {"old": 100})
    assert ps.nps is None and not ps.shown
    assert "no respondents" in ps.reason


def test_post_stratified_min_n_uses_effective_n():
    seg = {"a": _counts(30, 0, 0), "b": _counts(0, 0, 2)}
    ps = kpi.post_stratified_nps(seg, {"a": 1, "b": 1}, min_n=30)
    assert ps.n == 32
    assert not ps.shown and ps.reason


score_lists = st.lists(st.integers(0, 10), min_size=1, max_size=400)


@settings(max_examples=200, deadline=None)
@given(score_lists)
def test_property_nps_is_on_the_scale_and_the_ci_contains_it(scores):
    r = kpi.nps_from_scores(scores, min_n=1)
    assert -100 <= r.nps <= 100
    assert r.se >= 0
    assert r.ci_low <= r.nps + 1e-9 and r.nps - 1e-9 <= r.ci_high
    assert -100 <= r.ci_low <= r.ci_high <= 100
    assert r.promoter_share + r.passive_share + r.detractor_share == pytest.approx(100)
    assert r.nps == pytest.approx(r.promoter_share - r.detractor_share)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]),
                       st.lists(st.integers(0, 20), min_size=11, max_size=11), min_size=1),
       st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 1000), min_size=1))
def test_property_post_stratified_nps_is_on_the_scale(scores_by_segment, footfall):
    r = kpi.post_stratified_nps(scores_by_segment, footfall, min_n=1)
    if r.nps is None:
        return
    assert -100 - 1e-9 <= r.nps <= 100 + 1e-9
    assert r.ci_low <= r.nps + 1e-9 <= r.ci_high + 2e-9
    assert r.promoter_share + r.passive_share + r.detractor_share == pytest.approx(100)
    # the reweighted NPS lies between the lowest and highest segment NPS
    used = [s for s in footfall if footfall[s] > 0 and sum(scores_by_segment.get(s, [0])) > 0]
    per_segment = [kpi.nps_from_counts(scores_by_segment[s], 1).nps for s in used]
    assert min(per_segment) - 1e-9 <= r.nps <= max(per_segment) + 1e-9


def test_returning_share_counts_yes_and_no_answers_only():
    assert kpi.returning_share(first_visit=3, returning=1) == pytest.approx(25.0)
    assert kpi.returning_share(0, 4) == pytest.approx(100.0)
    assert kpi.returning_share(0, 0) is None                  # nobody answered: no share


def test_complaint_rate_is_complaints_over_its_base_and_none_without_one():
    assert kpi.complaint_rate(3, 200) == pytest.approx(1.5)   # per response or per entry
    assert kpi.complaint_rate(0, 50) == 0
    assert kpi.complaint_rate(2, 0) is None
