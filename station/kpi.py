"""KPI maths: pure functions over counts, no I/O.

    result = nps_from_scores([10, 9, 9, 9, 9, 8, 7, 7, 3, 0], min_n=1)
    result.nps          # 30.0  (50 % promoters - 20 % detractors)
    result.ci_low, result.ci_high

NPS = %promoters (9-10) - %detractors (0-6) on -100..100, with the multinomial standard error
SE = 100 * sqrt((p + d - (p - d)^2) / n), hidden below min_n (`min_n_reason`, the one rule every
survey figure follows; `station.scorecard` turns results into the figures reports show).

The 95 % interval is the same +-1.96 SE construction on *adjusted* shares (Rocks 2016, "Interval
estimation for the Net Promoter Score": add 3/4 promoter, 3/4 detractor and 3/2 passive
pseudo-answers, n + 3). The plain Wald interval undercovers at the small n a store sees
(92-93 % at n = 30-50 in bench/kpi_ci.py); the adjusted one stays at 94-95.5 % in every cell.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median

from station.wording import quantity

Z95 = 1.959963984540054


@dataclass(frozen=True)
class NpsResult:
    n: int
    promoters: int
    passives: int
    detractors: int
    promoter_share: float | None
    passive_share: float | None
    detractor_share: float | None
    nps: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    shown: bool
    reason: str


@dataclass(frozen=True)
class Share:
    """CSAT: share of top-two-box answers, in percent."""
    n: int
    value: float | None


@dataclass(frozen=True)
class Mean:
    """CES: mean answer."""
    n: int
    value: float | None


def nps_group(score: int) -> str:
    if not 0 <= score <= 10:
        raise ValueError(f"an NPS score is 0..10, got {score}")
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def score_counts(scores) -> list[int]:
    counts = [0] * 11
    for s in scores:
        nps_group(s)
        counts[s] += 1
    return counts


def nps_from_scores(scores, min_n: int = 30) -> NpsResult:
    return nps_from_counts(score_counts(scores), min_n)


def nps_from_counts(counts: list[float], min_n: int = 30) -> NpsResult:
    """NPS from the 11 counts of scores 0..10 (counts may be weights, see post-stratification)."""
    if len(counts) != 11:
        raise ValueError(f"need 11 counts for scores 0..10, got {len(counts)}")
    detractors, passives, promoters = sum(counts[:7]), sum(counts[7:9]), sum(counts[9:])
    n = detractors + passives + promoters
    return _nps(n, promoters, passives, detractors, n, min_n)


def min_n_reason(n: float, min_n: int, answers: str, figure: str,
                 why: str = "it is too uncertain", counted: int | None = None) -> str:
    """Why a figure computed from n `answers` is not shown, or "" when it is: the one min-n
    rule. n may be an effective n (post-stratification); `counted` is then the number of
    answers actually counted, which the reason names beside it, so it matches the n shown."""
    if n <= 0:
        return f"no {answers} in this period"
    if n >= min_n:
        return ""
    # floor, not round: an effective n of 29.6 must not read "only 30 ... from 30 up"
    have = quantity(math.floor(n), answers)
    if isinstance(counted, int) and counted != math.floor(n):
        have = f"{quantity(counted, answers)}, worth {math.floor(n)} after weighting"
    return (f"only {have}; {figure} is shown from {quantity(min_n, answers)} up "
            f"(below that {why})")


def _nps(n, promoters, passives, detractors, effective_n, min_n) -> NpsResult:
    if n <= 0:
        return NpsResult(0, 0, 0, 0, None, None, None, None, None, None, None, False,
                         min_n_reason(0, min_n, "responses", "NPS"))
    p, d = promoters / n, detractors / n
    score = 100 * (p - d)
    se = 100 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / effective_n)
    ci_low, ci_high = adjusted_wald_ci(p, d, effective_n)
    # The adjusted centre is pulled toward 0; at n = 1 an all-promoter (or all-detractor)
    # answer would fall outside its own interval, so the interval always spans the estimate.
    ci_low, ci_high = min(ci_low, score), max(ci_high, score)
    reason = min_n_reason(effective_n, min_n, "responses", "NPS",
                          "the 95 % interval is too wide", counted=_round(n))
    shown = not reason
    return NpsResult(_round(n), _round(promoters), _round(passives), _round(detractors),
                     100 * p, 100 * passives / n, 100 * d, score, se, ci_low, ci_high, shown,
                     reason)


def adjusted_wald_ci(p: float, d: float, n: float) -> tuple[float, float]:
    """95 % interval for NPS from promoter/detractor shares p, d of n answers (see above)."""
    n_adj = n + 3
    pa, da = (p * n + 0.75) / n_adj, (d * n + 0.75) / n_adj
    centre = 100 * (pa - da)
    half = Z95 * 100 * math.sqrt(max(pa + da - (pa - da) ** 2, 0.0) / n_adj)
    return max(-100.0, centre - half), min(100.0, centre + half)


def csat_from_counts(counts: dict[int, int]) -> Share:
    """CSAT = % of 4-5 answers on a 1-5 scale."""
    n = sum(counts.values())
    return Share(n, 100 * sum(c for v, c in counts.items() if v >= 4) / n if n else None)


def ces_from_counts(counts: dict[int, int]) -> Mean:
    """CES = mean answer on a 1-7 scale."""
    n = sum(counts.values())
    return Mean(n, sum(v * c for v, c in counts.items()) / n if n else None)


def complaint_rate(complaints: int, base: int) -> float | None:
    """Complaints lodged per response or per camera-counted entry (`base`), in percent; None
    when there is no base. A complaint is the shopper's act of reporting a problem (after a
    low score), not the score: detractors who do not complain are not counted."""
    return 100 * complaints / base if base else None


def returning_share(first_visit: int, returning: int) -> float | None:
    """Share of the shoppers who answered "is this your first visit?" with "no", in percent;
    skipped answers are in neither count. None when nobody answered."""
    answered = first_visit + returning
    return 100 * returning / answered if answered else None


def participation_rate(responses: int, entries: int) -> float | None:
    """Survey responses per camera-counted entry, in percent; None without entries."""
    return 100 * responses / entries if entries else None


def conversion_rate(transactions: int, entries: int) -> float | None:
    """Point-of-sale transactions per camera-counted entry, in percent; None without entries."""
    return 100 * transactions / entries if entries else None


def handling_time(durations_s: list[float]) -> tuple[float | None, float | None]:
    """(median, p90) of case resolution times in seconds."""
    if not durations_s:
        return None, None
    return float(median(durations_s)), percentile(durations_s, 90)


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    position = (len(ordered) - 1) * q / 100
    lo = math.floor(position)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (position - lo)


def proportion_interval(successes: int, n: int) -> tuple[float, float] | None:
    """95 % Wilson interval of a share, in percent (CSAT, complaint and participation rates):
    unlike the plain Wald interval it stays inside 0..100 and does not collapse at 0 or n."""
    if n <= 0:
        return None
    p = min(successes, n) / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return 100 * max(0.0, centre - half), 100 * min(1.0, centre + half)


def mean_interval(counts: dict[int, int]) -> tuple[float, float] | None:
    """95 % interval of a mean answer (CES) from its counts: mean +- 1.96 sample SD / sqrt(n);
    None below two answers, where there is no spread to measure."""
    n = sum(counts.values())
    if n < 2:
        return None
    mean = sum(v * c for v, c in counts.items()) / n
    variance = sum(c * (v - mean) ** 2 for v, c in counts.items()) / (n - 1)
    half = Z95 * math.sqrt(variance / n)
    return mean - half, mean + half


def median_interval(values: list[float]) -> tuple[float, float] | None:
    """Distribution-free 95 % interval of a median (handling time): the order statistics at
    ranks n/2 -+ 1.96 sqrt(n)/2, clamped to the data, so below about 6 values it is simply
    the whole range (and covers less than 95 %)."""
    if not values:
        return None
    ordered, n = sorted(values), len(values)
    half = Z95 * math.sqrt(n) / 2
    low = max(1, math.floor(n / 2 - half))
    high = min(n, math.ceil(n / 2 + half) + 1)
    return float(ordered[low - 1]), float(ordered[high - 1])


def suppress_small_cells(counts: dict, k: int) -> dict:
    """k-anonymity floor: cells with fewer than k visitors become None (shown as '< k')."""
    return {key: (value if value >= k else None) for key, value in counts.items()}


def post_stratified_nps(scores_by_segment: dict, footfall_by_segment: dict,
                        min_n: int = 30) -> NpsResult:
    """NPS reweighted so respondents' segment mix matches the footfall mix.

    scores_by_segment: segment -> 11 score counts of respondents in that segment.
    footfall_by_segment: segment -> visitors counted by the camera.
    Segments with footfall but no respondents cannot be reweighted; they are dropped and the
    remaining footfall shares renormalised (said in `reason`). The SE uses Kish's effective n.
    """
    segments = [s for s in footfall_by_segment
                if footfall_by_segment[s] > 0 and sum(scores_by_segment.get(s, [0])) > 0]
    total_footfall = sum(footfall_by_segment[s] for s in segments)
    if not segments or total_footfall <= 0:
        result = nps_from_counts([0] * 11, min_n)
        return _with_reason(result, "no respondents in any segment with footfall")
    weighted = [0.0] * 11
    weights_sq, weights_sum, n = 0.0, 0.0, 0
    for s in segments:
        counts = scores_by_segment[s]
        ns = sum(counts)
        w = (footfall_by_segment[s] / total_footfall) / ns    # weight per respondent
        for score, c in enumerate(counts):
            weighted[score] += w * c
        weights_sum += w * ns
        weights_sq += w * w * ns
        n += ns
    effective_n = weights_sum ** 2 / weights_sq
    d, pa, p = sum(weighted[:7]), sum(weighted[7:9]), sum(weighted[9:])
    result = _nps(p + pa + d, p, pa, d, effective_n, min_n)
    result = NpsResult(n, *[_round(x * n) for x in (p, pa, d)], *list(result.__dict__.values())[4:])
    dropped = [s for s in footfall_by_segment if s not in segments and footfall_by_segment[s] > 0]
    if dropped:
        return _with_reason(result, (result.reason + "; " if result.reason else "") +
                            f"{len(dropped)} segment(s) with footfall but no respondents left out")
    return result


def _with_reason(result: NpsResult, reason: str) -> NpsResult:
    values = dict(result.__dict__)
    values["reason"] = reason
    return NpsResult(**values)


def _round(x):
    return int(round(x)) if abs(x - round(x)) < 1e-9 else x
