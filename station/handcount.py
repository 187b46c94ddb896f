"""A counter the manager can check: hand counts of entries against the cameras' count.

    store.add_hand_count(start, end, count=212, who="manager")  # a clicker at the door 10-11
    cal = calibration(store)           # every check, the camera's count beside it, the error
    cal.error                          # sum(camera) / sum(hand) - 1 over all checks: -0.06
    cal.factor                         # sum(hand) / sum(camera): 1.064
    store.set_count_correction(True, who="manager")
    calibration(store).correct(500)    # 532.0 while the correction is on, else 500

The camera's count of a check is the entries on entrance lines in the same period (every
camera's entrance lines: what footfall is). The factor is the ratio estimator
sum(hand) / sum(camera) over all checks: long, busy checks weigh more than a quiet ten
minutes, and one check with a camera count of 0 does not make it infinite. It is applied only
when the manager turns the correction on, and every figure it touched says so (`LABEL`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from station.wording import quantity

SETTING = "counter.correction"          # settings key: the manager's switch (true/false)

# What a corrected figure is labelled with, wherever it is shown or sent.
LABEL = {"en": "corrected ×{factor} by {checks}",
         "vi": "đã hiệu chỉnh ×{factor} theo {checks}"}


@dataclass(frozen=True)
class Check:
    """One hand count and the camera's count of entries in the same period."""
    id: str
    start: float
    end: float
    hand: int
    camera: int
    entered_at: float
    who: str | None = None

    @property
    def error(self) -> float | None:
        """camera / hand - 1 (-0.10: the camera missed one entry in ten); None when hand is 0."""
        return self.camera / self.hand - 1 if self.hand else None


@dataclass(frozen=True)
class Calibration:
    checks: list[Check] = field(default_factory=list)
    switched_on: bool = False             # the manager's switch; `applied` also needs a factor

    @property
    def hand(self) -> int:
        return sum(c.hand for c in self.checks)

    @property
    def camera(self) -> int:
        return sum(c.camera for c in self.checks)

    @property
    def error(self) -> float | None:
        """The running error over all checks: sum(camera) / sum(hand) - 1."""
        return running_error(self.checks)

    @property
    def factor(self) -> float | None:
        """sum(hand) / sum(camera), the correction for the camera's entries."""
        return correction_factor(self.checks)

    @property
    def applied(self) -> bool:
        return self.switched_on and self.factor is not None

    def correct(self, entries: float) -> float:
        """`entries` corrected when the correction is applied, else as they are."""
        return entries * self.factor if self.applied else entries

    def label(self, lang: str = "en") -> str:
        """'corrected ×1.064 by 3 hand counts' ('' when not applied)."""
        return correction_label(self.factor, len(self.checks), lang) if self.applied else ""

    def as_dict(self) -> dict:
        """For reports (--json) and HQ: the checks, the error and whether it is applied."""
        return {"corrected": self.applied, "switched_on": self.switched_on,
                "factor": _round(self.factor, 4), "error": _round(self.error, 4),
                "hand": self.hand, "camera": self.camera, "label": self.label("en"),
                "checks": [{"id": c.id, "start": c.start, "end": c.end, "hand": c.hand,
                            "camera": c.camera, "error": _round(c.error, 4), "who": c.who}
                           for c in self.checks]}


def correction_label(factor: float, checks: int, lang: str = "en") -> str:
    """'corrected ×1.064 by 3 hand counts': also what HQ shows from a station's event."""
    return LABEL[lang].format(factor=format_factor(factor, lang),
                              checks=quantity(checks, "hand counts", lang))


def correction_factor(checks) -> float | None:
    """sum(hand) / sum(camera); None without checks or when the camera counted nobody."""
    camera = sum(c.camera for c in checks)
    return sum(c.hand for c in checks) / camera if camera else None


def running_error(checks) -> float | None:
    """sum(camera) / sum(hand) - 1; None without checks or when nobody was hand-counted."""
    hand = sum(c.hand for c in checks)
    return sum(c.camera for c in checks) / hand - 1 if hand else None


def calibration(store) -> Calibration:
    """Every hand count the store keeps, each with the camera's count now (entries on entrance
    lines in its period: crossings written after it was entered count too), and the switch."""
    checks = [Check(row["id"], row["start"], row["end"], row["count"],
                    store.entries(row["start"], row["end"])["entries"], row["entered_at"],
                    row["who"])
              for row in store.hand_counts()]
    return Calibration(checks, bool(store.setting(SETTING, False)))


def format_factor(factor: float, lang: str = "en") -> str:
    text = f"{factor:.3f}"
    return text.replace(".", ",") if lang == "vi" else text


def _round(value, digits):
    return None if value is None else round(value, digits)


def render_checks(cal: Calibration, tz) -> str:
    """The checks as `cx-station handcount list` prints them, then the error and the factor."""
    from datetime import datetime
    rows = [f"  {'period':<30} {'hand':>6} {'camera':>7} {'error':>7}"]
    for c in cal.checks:
        start = datetime.fromtimestamp(c.start, tz)
        end = datetime.fromtimestamp(c.end, tz)
        period = f"{start:%Y-%m-%d %H:%M} .. {end:%H:%M}" if start.date() == end.date() \
            else f"{start:%Y-%m-%d %H:%M} .. {end:%m-%d %H:%M}"
        rows.append(f"  {period:<30} {c.hand:>6} {c.camera:>7} {_percent(c.error):>7}")
    if not cal.checks:
        rows.append("  no hand counts yet: cx-station handcount add --start ... --end ... "
                    "--count N")
    rows.append(f"  running error (camera / hand - 1): {_percent(cal.error)}; factor "
                f"hand / camera: {'-' if cal.factor is None else format_factor(cal.factor)}")
    rows.append("  correction: " + (cal.label("en") if cal.applied else
                                    "on, but no factor yet (the camera counted nobody)"
                                    if cal.switched_on else "off (figures are the camera's own)"))
    return "\n".join(rows)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.1f} %"
