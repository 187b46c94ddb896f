"""Each KPI that has a target, against it: per local day and per week, with its 95 % interval.

    trends = build_trends(store, config, now=time.time())
    trends["nps"]["overall"]["status"]          # 'not_distinguishable'
    trends["nps"]["by_week"][-1]                # {"period": "2026-W49", "value": 31.0, ...}

A period's status says what its figure can tell about the target, honest about its interval
("worse" respects the target's direction: a complaint rate above its target is worse):

- ``too_few_answers``: the figure is absent (under the minimum n, see station/scorecard.py);
  the period is a gap with the scorecard's reason.
- ``below_target``: the whole 95 % interval is worse than the target -- the store is really
  missing it, not just unlucky with its sample.
- ``not_distinguishable``: the estimate is worse than the target but the interval still holds
  the target: a dip that its sample cannot tell from noise.
- ``on_target``: the estimate meets or beats the target.

`overall` judges the target's own span (the last 7 days for a weekly target, the last 30 for
a monthly one, up to now). Beside NPS, each period names its top detractor reasons.
"""
from __future__ import annotations

import json
from datetime import date, datetime, time as dtime, timedelta

from station import kpi
from station.conversion import camera_conversion, pos_conversion
from station.scorecard import Figure, build_scorecard, gated
from station.targets import Target

STATUSES = ("on_target", "below_target", "not_distinguishable", "too_few_answers")
SPAN_DAYS = {"week": 7, "month": 30}
TOP_REASONS = 3


def build_trends(store, config, now: float, days: int = 12, weeks: int = 8) -> dict:
    """{kpi: {"target", "overall", "by_day", "by_week"}} for every KPI with a target: the
    database's current ones, the config's where the database has none yet."""
    targets = {t.kpi: t for t in config.targets.targets()} | store.targets()
    if not targets:
        return {}
    periods = {"by_day": day_periods(now, config.tz, days),
               "by_week": week_periods(now, config.tz, weeks)}
    spans = {name: (now - SPAN_DAYS[target.period] * 86400, now)
             for name, target in targets.items()}
    tallies = Tallies(store, config, [edge for span in spans.values() for edge in span] +
                      [edge for key in periods.values() for _, *span in key for edge in span],
                      conversion="conversion" in targets)

    def cell(target, label, since, until):
        return _cell(config.tz, target, label, since, until, tallies.figures(since, until),
                     lambda: tallies.detractor_reasons(since, until))

    out = {}
    for name, target in sorted(targets.items()):
        out[name] = {
            "target": {"value": target.value, "direction": target.direction,
                       "period": target.period},
            "overall": cell(target, f"last {SPAN_DAYS[target.period]} days", *spans[name]),
            **{key: [cell(target, label, since, until) for label, since, until in spans_]
               for key, spans_ in periods.items()},
        }
    return out


class Tallies:
    """What the trend's figures are made of, read once per segment between consecutive
    `edges` (every period's start and end) and summed per period: a row is read once, not
    once per period holding it (a week holds days, the overall span holds weeks), and each
    segment's responses in one pass (scores, CSAT, CES and the count together), from the
    covering indexes of schema migration 8. Sums of counts, so a period's figures are exactly
    its own queries' (period_figures; tests/station/test_trends_tallies.py)."""

    def __init__(self, store, config, edges, conversion: bool = True):
        self.config = config
        self.conversion = conversion       # read POS hours and checkout visits only if targeted
        self.lines = [line.name for line in config.vision.lines if line.entrance]
        self.edges = sorted(set(edges))
        self.segments = [self._read(store, since, until)
                         for since, until in zip(self.edges, self.edges[1:])]
        self._figures: dict[tuple[float, float], dict] = {}

    def _read(self, store, since: float, until: float) -> dict:
        scores, csat, ces = [0] * 11, {}, {}
        # one integer per answer combination (the schema keeps CSAT in 1..5 and CES in 1..7,
        # 3 bits each, 0 when not answered): grouping on it is twice as fast as on the three
        for key, n in store.db.execute(
                "SELECT nps * 64 + coalesce(csat, 0) * 8 + coalesce(ces, 0) AS k, count(*) "
                "FROM responses WHERE ts >= ? AND ts < ? GROUP BY k", (since, until)):
            nps, c, e = key >> 6, (key >> 3) & 7, key & 7
            scores[nps] += n
            if c:
                csat[c] = csat.get(c, 0) + n
            if e:
                ces[e] = ces.get(e, 0) + n
        reasons: dict[str, int] = {}        # detractors giving each reason
        for given, n in store.db.execute(
                "SELECT reasons, count(*) FROM responses WHERE nps <= 6 AND ts >= ? AND ts < ? "
                "GROUP BY reasons", (since, until)):
            for reason in set(json.loads(given)):
                reasons[reason] = reasons.get(reason, 0) + n
        conversion = {"pos_hours": 0, "pos": (0, 0), "camera": (0, 0)}
        if self.conversion:
            pos = pos_conversion(store, since, until)
            camera = camera_conversion(store, self.config, since, until) or {}
            conversion = {"pos_hours": len(pos["hours"]),
                          "pos": (pos["transactions"], pos["entries"]),
                          "camera": (camera.get("visits_at_checkout", 0),
                                     camera.get("entries", 0))}
        return {"scores": scores, "csat": csat, "ces": ces, "reasons": reasons,
                "entries": store.entries(since, until, self.lines)["entries"],
                "cases": store.case_totals(since, until),
                "complaints": store.complaint_totals(since, until),
                "conversion": conversion}

    def _sum(self, since: float, until: float) -> dict:
        first, last = self.edges.index(since), self.edges.index(until)
        parts = self.segments[first:last]
        out = {"scores": [sum(p["scores"][i] for p in parts) for i in range(11)],
               "entries": sum(p["entries"] for p in parts),
               "opened": sum(p["cases"]["opened"] for p in parts),
               "handling_s": [d for p in parts for d in p["cases"]["handling_s"]],
               "complaints": {
                   "complaints": sum(p["complaints"]["complaints"] for p in parts),
                   "with_contact": sum(p["complaints"]["with_contact"] for p in parts),
                   "handling_s": [d for p in parts for d in p["complaints"]["handling_s"]]},
               "conversion": conversion_tally([p["conversion"] for p in parts])}
        for key in ("csat", "ces", "reasons"):
            total: dict = {}
            for part in parts:
                for value, n in part[key].items():
                    total[value] = total.get(value, 0) + n
            out[key] = total
        return out

    def figures(self, since: float, until: float) -> dict:
        """period_figures(store, config, since, until), from the segments."""
        if (since, until) not in self._figures:
            t = self._sum(since, until)
            self._figures[since, until] = kpi_figures(
                self.config, t["scores"], dict(sorted(t["csat"].items())),
                dict(sorted(t["ces"].items())), sum(t["scores"]), t["entries"],
                {"opened": t["opened"], "handling_s": t["handling_s"]}, t["complaints"],
                t["conversion"])
        return self._figures[since, until]

    def detractor_reasons(self, since: float, until: float) -> list:
        """top_detractor_reasons(store, since, until), from the segments."""
        t = self._sum(since, until)
        return rank_reasons(sum(t["scores"][:7]), t["reasons"])


def period_figures(store, config, since: float, until: float) -> dict:
    """Each targetable KPI of a period: {kpi: (Figure, 95 % interval or None)}."""
    counts = store.score_counts(since, until)
    csat = store.answer_counts("csat", since, until)
    ces = store.answer_counts("ces", since, until)
    responses = store.response_totals(since, until)["responses"]
    lines = [line.name for line in config.vision.lines if line.entrance]
    entries = store.entries(since, until, lines)["entries"]
    cases = store.case_totals(since, until)
    pos = pos_conversion(store, since, until)
    camera = camera_conversion(store, config, since, until) or {}
    conversion = conversion_tally([{"pos_hours": len(pos["hours"]),
                                    "pos": (pos["transactions"], pos["entries"]),
                                    "camera": (camera.get("visits_at_checkout", 0),
                                               camera.get("entries", 0))}])
    return kpi_figures(config, counts, csat, ces, responses, entries, cases,
                       store.complaint_totals(since, until), conversion)


def conversion_tally(parts: list[dict]) -> tuple[int, int, str] | None:
    """(buyers, entries, source) of a period from its segments' tallies: the POS source where
    the period has POS figures, else the checkout zone's visits; None with neither."""
    if any(p["pos_hours"] for p in parts):
        return (sum(p["pos"][0] for p in parts), sum(p["pos"][1] for p in parts), "pos")
    if any(p["camera"][1] for p in parts):
        return (sum(p["camera"][0] for p in parts), sum(p["camera"][1] for p in parts),
                "camera")
    return None


def kpi_figures(config, counts: list[int], csat: dict[int, int], ces: dict[int, int],
                responses: int, entries: int, cases: dict, complaints: dict | None = None,
                conversion: tuple[int, int, str] | None = None) -> dict:
    """period_figures from a period's counts."""
    card = build_scorecard(score_counts=counts, csat_counts=csat, ces_counts=ces,
                           responses=responses, entries=entries, cases_opened=cases["opened"],
                           handling_s=cases["handling_s"], min_n=config.privacy.min_n,
                           complaints=complaints)
    return scorecard_intervals(card, csat, ces, entries, cases["handling_s"], conversion)


def conversion_figure(conversion: tuple[int, int, str] | None) -> tuple[Figure, tuple | None]:
    """Conversion as a targetable figure: buyers over entries, with its Wilson interval
    (none above 100 %, where several receipts per visitor make it no share)."""
    if conversion is None:
        return Figure(None, 0, reason="no POS figures and no checkout zone"), None
    buyers, entries, _source = conversion
    figure = gated(kpi.conversion_rate(buyers, entries), entries, 1, "camera entries",
                   "conversion")
    interval = kpi.proportion_interval(buyers, entries) if entries and buyers <= entries \
        else None
    return figure, interval


def scorecard_intervals(card, csat: dict[int, int], ces: dict[int, int], entries: int,
                        handling_s: list[float],
                        conversion: tuple[int, int, str] | None = None
                        ) -> dict[str, tuple[Figure, tuple | None]]:
    """Each targetable KPI of a scorecard with its 95 % interval: the one place that pairs a
    KPI with its interval, for the station's trends and HQ's report alike. `conversion` is
    (buyers, entries, source), see conversion_tally."""
    top_two = sum(c for v, c in csat.items() if v >= 4)
    return {
        "nps": (card.nps, card.nps.interval),
        "csat": (card.csat, kpi.proportion_interval(top_two, card.csat.n)),
        "ces": (card.ces, kpi.mean_interval(ces)),
        "participation_rate": (card.participation_rate,
                               kpi.proportion_interval(card.responses, entries)),
        "complaint_rate": (card.complaint_rate,
                           kpi.proportion_interval(card.complaints, card.responses)),
        "handling_median_s": (card.handling_median_s, kpi.median_interval(handling_s)),
        "conversion": conversion_figure(conversion),
    }


def status(figure: Figure, interval: tuple[float, float] | None, target: Target) -> str:
    """One period's status against `target` (see the module's docstring)."""
    if figure.value is None:
        return "too_few_answers"
    if interval is not None:
        low, high = interval
        if target.worse(high if target.direction == "higher" else low):
            return "below_target"
    return "not_distinguishable" if target.worse(figure.value) else "on_target"


def overall_status(trend: dict) -> str:
    return trend["overall"]["status"]


def _cell(tz, target, label, since, until, figures, detractor_reasons) -> dict:
    figure, interval = figures[target.kpi]
    cell = {"period": label, "since": _local(since, tz), "until": _local(until, tz),
            "value": figure.value,
            "n": figure.n, "interval": list(interval) if figure.shown and interval else None,
            "reason": figure.reason, "status": status(figure, interval, target)}
    if target.kpi == "nps":
        cell["detractor_reasons"] = detractor_reasons()
    return cell


def top_detractor_reasons(store, since: float, until: float, top: int = TOP_REASONS) -> list:
    """The most given detractor reasons: count and share of the period's detractors (%)."""
    return rank_reasons(*store.detractor_reasons(since, until), top=top)


def rank_reasons(detractors: int, reasons: dict[str, int], top: int = TOP_REASONS) -> list:
    ranked = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return [{"reason": reason, "count": n, "share": 100 * n / detractors}
            for reason, n in ranked]


def day_periods(now: float, tz, days: int) -> list[tuple[str, float, float]]:
    """(YYYY-MM-DD, since, until) of the last `days` local days, oldest first; today's ends now."""
    today = datetime.fromtimestamp(now, tz).date()
    return [(day.isoformat(), _midnight(day, tz), min(now, _midnight(day + timedelta(1), tz)))
            for day in (today - timedelta(days=i) for i in range(days - 1, -1, -1))]


def week_periods(now: float, tz, weeks: int) -> list[tuple[str, float, float]]:
    """(YYYY-Www, since, until) of the last `weeks` ISO weeks (from Monday), oldest first."""
    today = datetime.fromtimestamp(now, tz).date()
    monday = today - timedelta(days=today.weekday())
    out = []
    for i in range(weeks - 1, -1, -1):
        start = monday - timedelta(weeks=i)
        year, week, _ = start.isocalendar()
        out.append((f"{year}-W{week:02d}", _midnight(start, tz),
                    min(now, _midnight(start + timedelta(weeks=1), tz))))
    return out


def _local(ts: float, tz) -> str:
    return datetime.fromtimestamp(ts, tz).isoformat(timespec="seconds")


def _midnight(day: date, tz) -> float:
    return datetime.combine(day, dtime(0), tzinfo=tz).timestamp()
