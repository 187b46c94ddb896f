"""The KPI scorecard of one period, built once for the station report, the admin screen and
the HQ report.

    card = build_scorecard(score_counts=[0] * 9 + [6, 6], csat_counts={5: 11}, ces_counts={},
                           responses=12, entries=400, cases_opened=0, handling_s=[], min_n=30)
    card.nps.value, card.nps.interval, card.nps.reason   # None, None, 'only 12 responses; ...'
    card.participation_rate.value                        # 3.0 (%)
    json.dumps(card.as_dict())

The one rule: a figure computed from fewer answers than its minimum is absent -- no value, no
interval, the reason instead -- in every output. Nothing leaves here as a value with a flag
saying not to show it. Each figure counts its own n:

- NPS and the promoter / passive / detractor shares: responses with a score, min_n. The shares
  go with NPS: beside a hidden NPS they would give it away (NPS = promoters - detractors).
- CSAT and CES: the answers to that question, min_n. They are optional follow-ups, so a store
  can show NPS and still hide CSAT.
- complaint rate per response: complaints lodged (the shopper's act of reporting a problem
  after a low score, not the score) over responses, min_n. Per entry: over camera entries,
  minimum 1. A detractor case opens for every low score; only a complaint counts here.
- returning share: answers to "is this your first visit?" (yes or no; skipped ones are not
  counted), min_n; with NPS of new and of returning shoppers, each its own n, min_n.
- participation rate: camera entries, and handling time (median, p90): resolved cases, and
  complaint handling time: handled complaints, from the complaint to its case's resolution.
  These measure the store's operations, not what shoppers answered; they are absent only when
  there is nothing to compute them from (minimum 1).

Counts (responses, cases opened and resolved) are facts, not estimates, and are always given.
"""
from __future__ import annotations

from dataclasses import dataclass

from station import kpi


@dataclass(frozen=True)
class Figure:
    """One KPI: its value (None when absent), the n it rests on and, when absent, why.

    `reason` is None for a present figure, except where the maths left something out (the
    footfall-weighted NPS names segments it could not reweight). `n` is None only where even
    the count is withheld (a demographic cell under the k-anonymity floor)."""
    value: float | None
    n: int | None
    interval: tuple[float, float] | None = None      # 95 %, where the figure has one (NPS)
    se: float | None = None
    reason: str | None = None

    @property
    def shown(self) -> bool:
        return self.value is not None

    def as_dict(self) -> dict:
        return {"value": self.value, "n": self.n,
                "interval": list(self.interval) if self.interval else None,
                "se": self.se, "reason": self.reason}


@dataclass(frozen=True)
class Scorecard:
    min_n: int
    responses: int
    nps: Figure
    promoter_share: Figure
    passive_share: Figure
    detractor_share: Figure
    csat: Figure
    ces: Figure
    participation_rate: Figure
    cases_opened: int
    cases_resolved: int
    complaint_rate: Figure             # complaints per response
    handling_median_s: Figure
    handling_p90_s: Figure
    complaints: int = 0
    complaints_with_contact: int = 0
    complaint_rate_per_entry: Figure = Figure(None, 0)
    complaint_handling_median_s: Figure = Figure(None, 0)
    complaint_handling_p90_s: Figure = Figure(None, 0)
    first_visit_answers: int = 0
    returning_share: Figure = Figure(None, 0)
    nps_new: Figure = Figure(None, 0)
    nps_returning: Figure = Figure(None, 0)

    def as_dict(self) -> dict:
        """Plain data for JSON: every figure as Figure.as_dict(), counts as numbers."""
        return {name: value.as_dict() if isinstance(value, Figure) else value
                for name, value in self.__dict__.items() if name != "min_n"}


def build_scorecard(*, score_counts: list[int], csat_counts: dict[int, int],
                    ces_counts: dict[int, int], responses: int, entries: int,
                    cases_opened: int, handling_s: list[float], min_n: int,
                    complaints: dict | None = None,
                    first_visit_scores: dict[str, list[int]] | None = None) -> Scorecard:
    """The scorecard from a period's tallies: 11 score counts (0..10), CSAT and CES answer
    counts, responses, camera entries, detractor cases opened and resolution times (s), the
    complaints (Queries.complaint_totals: count, with_contact, handling_s) and the score
    counts of 'new' and 'returning' shoppers (Queries.scores_by_first_visit)."""
    complaints = complaints or {"complaints": 0, "with_contact": 0, "handling_s": []}
    first_visit_scores = first_visit_scores or {"new": [0] * 11, "returning": [0] * 11}
    new, returning = (sum(first_visit_scores[k]) for k in ("new", "returning"))
    lodged = complaints["complaints"]
    complaint_median_s, complaint_p90_s = kpi.handling_time(complaints["handling_s"])
    handled = len(complaints["handling_s"])
    nps = kpi.nps_from_counts(score_counts, min_n)
    csat = kpi.csat_from_counts(csat_counts)
    ces = kpi.ces_from_counts(ces_counts)
    median_s, p90_s = kpi.handling_time(handling_s)
    resolved = len(handling_s)

    def share(value: float | None) -> Figure:
        return Figure(value, nps.n) if nps.shown else Figure(None, nps.n, reason=nps.reason)

    return Scorecard(
        min_n=min_n, responses=responses,
        nps=nps_figure(nps),
        promoter_share=share(nps.promoter_share),
        passive_share=share(nps.passive_share),
        detractor_share=share(nps.detractor_share),
        csat=gated(csat.value, csat.n, min_n, "CSAT answers", "CSAT"),
        ces=gated(ces.value, ces.n, min_n, "CES answers", "CES"),
        participation_rate=gated(kpi.participation_rate(responses, entries), entries, 1,
                                 "camera entries", "participation"),
        cases_opened=cases_opened, cases_resolved=resolved,
        complaint_rate=gated(kpi.complaint_rate(lodged, responses), responses, min_n,
                             "responses", "the complaint rate"),
        handling_median_s=gated(median_s, resolved, 1, "resolved cases", "handling time"),
        handling_p90_s=gated(p90_s, resolved, 1, "resolved cases", "handling time"),
        complaints=lodged, complaints_with_contact=complaints["with_contact"],
        complaint_rate_per_entry=gated(kpi.complaint_rate(lodged, entries), entries, 1,
                                       "camera entries", "the complaint rate per entry"),
        complaint_handling_median_s=gated(complaint_median_s, handled, 1, "handled complaints",
                                          "complaint handling time"),
        complaint_handling_p90_s=gated(complaint_p90_s, handled, 1, "handled complaints",
                                       "complaint handling time"),
        first_visit_answers=new + returning,
        returning_share=_with_interval(
            gated(kpi.returning_share(new, returning), new + returning, min_n,
                  "first-visit answers", "the returning share"), returning, new + returning),
        nps_new=nps_figure(kpi.nps_from_counts(first_visit_scores["new"], min_n)),
        nps_returning=nps_figure(kpi.nps_from_counts(first_visit_scores["returning"], min_n)),
    )


def _with_interval(figure: Figure, successes: int, n: int) -> Figure:
    """A shown share with its 95 % Wilson interval."""
    if not figure.shown:
        return figure
    return Figure(figure.value, figure.n, kpi.proportion_interval(successes, n))


def gated(value: float | None, n: int, min_n: int, answers: str, figure: str) -> Figure:
    """`value` from n `answers` as a Figure, absent with the reason below min_n."""
    reason = kpi.min_n_reason(n, min_n, answers, figure)
    return Figure(None, n, reason=reason) if reason else Figure(value, n)


def nps_figure(result: kpi.NpsResult) -> Figure:
    """An NPS result (plain or footfall-weighted) as a Figure, gated as kpi gated it."""
    if not result.shown:
        return Figure(None, result.n, reason=result.reason)
    return Figure(result.nps, result.n, (result.ci_low, result.ci_high), result.se,
                  result.reason or None)


def nps_cell(counts: list[int], min_n: int) -> dict:
    """One segment's NPS (an hour, a day, a week, an age bracket) for a report's JSON."""
    return nps_figure(kpi.nps_from_counts(counts, min_n)).as_dict()
