"""station/scorecard.py: the one min-n rule, figure by figure, just below and at its minimum."""
from __future__ import annotations

import pytest

from station.scorecard import Figure, build_scorecard, nps_cell

MIN_N = 30
SURVEY = ("nps", "promoter_share", "passive_share", "detractor_share")


def _scores(n):
    """n scores, half promoters (10) and a quarter each passives (8) and detractors (2)."""
    counts = [0] * 11
    for i in range(n):
        counts[(10, 8, 10, 2)[i % 4]] += 1
    return counts


def _tallies(**changes):
    """Plenty of everything (every figure shown), with `changes` applied."""
    tallies = dict(score_counts=_scores(100), csat_counts={5: 60, 2: 40},
                   ces_counts={6: 50, 3: 50}, responses=100, entries=400, cases_opened=25,
                   handling_s=[600.0, 1200.0], min_n=MIN_N,
                   complaints={"complaints": 5, "with_contact": 3,
                               "handling_s": [300.0, 900.0]},
                   first_visit_scores={"new": _scores(40), "returning": _scores(60)})
    return {**tallies, **changes}


def _complaints(handled: int) -> dict:
    return {"complaints": 5, "with_contact": 3, "handling_s": [600.0] * handled}


def _first_visit(new: int, returning: int) -> dict:
    return {"new": _scores(new), "returning": _scores(returning)}


# figure names -> (tallies at n answers, the minimum n the figure needs)
CASES = {
    SURVEY: (lambda n: _tallies(score_counts=_scores(n)), MIN_N),
    ("csat",): (lambda n: _tallies(csat_counts={4: n}), MIN_N),
    ("ces",): (lambda n: _tallies(ces_counts={5: n}), MIN_N),
    ("complaint_rate",): (lambda n: _tallies(responses=n), MIN_N),
    ("participation_rate", "complaint_rate_per_entry"): (lambda n: _tallies(entries=n), 1),
    ("complaint_handling_median_s", "complaint_handling_p90_s"):
        (lambda n: _tallies(complaints=_complaints(n)), 1),
    ("nps_new",): (lambda n: _tallies(first_visit_scores=_first_visit(n, 60)), MIN_N),
    ("nps_returning",): (lambda n: _tallies(first_visit_scores=_first_visit(60, n)), MIN_N),
    ("handling_median_s", "handling_p90_s"): (lambda n: _tallies(handling_s=[900.0] * n), 1),
}


def _figures(card) -> dict[str, Figure]:
    return {name: value for name, value in card.__dict__.items() if isinstance(value, Figure)}


@pytest.mark.parametrize("names", list(CASES), ids=lambda names: names[0])
def test_a_figure_just_below_its_minimum_is_absent_with_the_reason(names):
    tallies, minimum = CASES[names]
    figures = _figures(build_scorecard(**tallies(minimum - 1)))
    for name, figure in figures.items():
        if name in names:
            assert figure.value is None and figure.interval is None and figure.se is None
            assert figure.n == minimum - 1 and figure.reason, name
            assert not figure.shown
        else:                                   # each figure goes by its own n only
            assert figure.shown, name


@pytest.mark.parametrize("names", list(CASES), ids=lambda names: names[0])
def test_a_figure_at_its_minimum_is_shown_with_its_n(names):
    tallies, minimum = CASES[names]
    figures = _figures(build_scorecard(**tallies(minimum)))
    assert all(figure.shown and figure.reason is None for figure in figures.values())
    for name in names:
        assert figures[name].n == minimum


def test_the_reason_says_how_many_answers_and_how_many_are_needed():
    card = build_scorecard(**_tallies(score_counts=_scores(29), csat_counts={5: 11},
                                      ces_counts={}))
    assert card.nps.reason == ("only 29 responses; NPS is shown from 30 responses up "
                               "(below that the 95 % interval is too wide)")
    assert card.promoter_share.reason == card.nps.reason      # the shares go with NPS
    assert card.csat.reason.startswith("only 11 CSAT answers; CSAT is shown from 30")
    assert card.ces.reason == "no CES answers in this period"


def test_shown_nps_carries_its_interval_and_standard_error():
    card = build_scorecard(**_tallies())
    assert card.nps.value == pytest.approx(25)             # 50 % - 25 %
    low, high = card.nps.interval
    assert low < 25 < high and card.nps.se > 0
    assert (card.promoter_share.value, card.passive_share.value,
            card.detractor_share.value) == pytest.approx((50, 25, 25))
    assert card.csat.value == pytest.approx(60) and card.ces.value == pytest.approx(4.5)
    assert card.complaint_rate.value == pytest.approx(5)           # 5 complaints / 100
    assert card.complaint_rate_per_entry.value == pytest.approx(1.25)  # 5 / 400 entries
    assert (card.complaints, card.complaints_with_contact) == (5, 3)
    assert (card.complaint_handling_median_s.value,
            card.complaint_handling_p90_s.value) == pytest.approx((600, 840))
    assert card.returning_share.value == pytest.approx(60)          # 60 of 100 answers
    low, high = card.returning_share.interval
    assert low < 60 < high and card.first_visit_answers == 100
    assert card.nps_new.value == pytest.approx(25) and card.nps_new.n == 40
    assert card.participation_rate.value == pytest.approx(25)
    assert (card.handling_median_s.value, card.handling_p90_s.value) == \
        pytest.approx((900, 1140))
    assert (card.cases_opened, card.cases_resolved) == (25, 2)


def test_as_dict_of_an_absent_figure_has_no_value_and_no_interval():
    card = build_scorecard(**_tallies(score_counts=_scores(12), responses=12))
    data = card.as_dict()
    assert data["nps"] == {"value": None, "n": 12, "interval": None, "se": None,
                           "reason": card.nps.reason}
    assert data["responses"] == 12 and "min_n" not in data
    figures = [v for v in data.values() if isinstance(v, dict)]
    assert len(figures) == 16          # no flag beside a value: a figure is there or it is not
    assert all(set(f) == {"value", "n", "interval", "se", "reason"} for f in figures)


def test_a_segment_cell_follows_the_same_rule():
    assert nps_cell(_scores(29), MIN_N)["value"] is None
    cell = nps_cell(_scores(30), MIN_N)
    assert cell["value"] is not None and len(cell["interval"]) == 2 and cell["n"] == 30


def test_the_returning_share_counts_answers_only_and_hides_below_min_n():
    card = build_scorecard(**_tallies(first_visit_scores=_first_visit(10, 19)))
    assert card.returning_share.value is None and card.returning_share.n == 29
    assert "first-visit answers" in card.returning_share.reason
    card = build_scorecard(**_tallies(first_visit_scores=_first_visit(0, 0)))
    assert card.returning_share.reason == "no first-visit answers in this period"
    assert card.nps_new.value is None and card.nps_returning.value is None


def test_no_complaints_is_a_zero_rate_not_a_missing_one():
    card = build_scorecard(**_tallies(complaints=None))
    assert card.complaint_rate.value == 0 and card.complaint_rate_per_entry.value == 0
    assert card.complaint_handling_median_s.reason == "no handled complaints in this period"
