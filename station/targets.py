"""KPI targets: which figures can have one, their ranges and natural directions, and the
record of one target as the store keeps it.

    target = Target("nps", value=40, direction="higher", period="week")
    target.worse(35.0)                   # True: 35 is on the wrong side of 40
    TARGET_KPIS["complaint_rate"].direction      # 'lower': fewer complaints is better

A target is set by the station's config ([targets], source 'config'), by the store manager on
the admin screen ('admin') or by HQ ('hq'); the store keeps the current one per KPI and an
audit row for every change (Store.set_target).
"""
from __future__ import annotations

from dataclasses import dataclass

DIRECTIONS = ("higher", "lower")          # which side of the target is better
PERIODS = ("week", "month")               # the span a target is judged over
SOURCES = ("config", "admin", "hq")


@dataclass(frozen=True)
class TargetKpi:
    """What a target on one scorecard figure may be: its range and which way is better."""
    low: float
    high: float
    direction: str
    unit: str


TARGET_KPIS: dict[str, TargetKpi] = {
    "nps": TargetKpi(-100, 100, "higher", ""),
    "csat": TargetKpi(0, 100, "higher", "%"),
    "ces": TargetKpi(1, 7, "higher", ""),            # agreement that it was easy, 1..7
    "participation_rate": TargetKpi(0, 100, "higher", "%"),
    "complaint_rate": TargetKpi(0, 100, "lower", "%"),
    "handling_median_s": TargetKpi(0, 30 * 86400, "lower", "s"),
    "conversion": TargetKpi(0, 100, "higher", "%"),   # POS source where it has figures
}


@dataclass(frozen=True)
class Target:
    kpi: str
    value: float
    direction: str
    period: str

    def __post_init__(self):
        check_target(self.kpi, self.value, self.direction, self.period)

    def worse(self, value: float) -> bool:
        """Whether `value` is on the wrong side of the target (equal is not worse)."""
        return value < self.value if self.direction == "higher" else value > self.value


def check_target(kpi: str, value: float, direction: str, period: str) -> None:
    """Raises ValueError naming what is wrong with a target."""
    if kpi not in TARGET_KPIS:
        raise ValueError(f"no target can be set on {kpi!r}; choose one of {list(TARGET_KPIS)}")
    spec = TARGET_KPIS[kpi]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value \
            or not spec.low <= value <= spec.high:
        raise ValueError(f"a {kpi} target must be a number in {spec.low}..{spec.high}, "
                         f"got {value!r}")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {list(DIRECTIONS)}, got {direction!r}")
    if period not in PERIODS:
        raise ValueError(f"period must be one of {list(PERIODS)}, got {period!r}")
