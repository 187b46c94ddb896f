"""build_trends reads each stretch of time once and sums it per period (station/trends.py,
Tallies): its output must be exactly what each period's own queries give (period_figures and
top_detractor_reasons per period, as it was computed before)."""
from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest

from station import trends
from station.config import load_config
from station.store import Crossing, Response, Store
from station.targets import Target

CONFIG = """
[station]
org = "acme"
store = "hcm-01"
id = "kiosk-1"
timezone = "Europe/Berlin"
[database]
path = "station.db"
[vision]
camera = "clip.mp4"
[[vision.lines]]
name = "door"
a = [0, 0]
b = [10, 0]
[[vision.lines]]
name = "inner"
a = [0, 5]
b = [10, 5]
entrance = false
[privacy]
min_n = 30
[targets.nps]
value = 20
[targets.csat]
value = 70
period = "month"
[targets.ces]
value = 5
[targets.participation_rate]
value = 10
period = "month"
[targets.complaint_rate]
value = 25
[targets.handling_median_s]
value = 3600
"""
# the Monday after Europe's spring clock change: a 23-hour local day among the days
NOW = datetime(2026, 3, 30, 11, 17, tzinfo=timezone.utc).timestamp()
REASONS = ["wait", "staff", "stock", "price"]


def per_period(store, config, now, days=12, weeks=8) -> dict:
    """build_trends as it was: every period's figures by its own queries."""
    targets = {t.kpi: t for t in config.targets.targets()} | store.targets()
    periods = {"by_day": trends.day_periods(now, config.tz, days),
               "by_week": trends.week_periods(now, config.tz, weeks)}

    def cell(target, label, since, until):
        figure, interval = trends.period_figures(store, config, since, until)[target.kpi]
        out = {"period": label, "since": trends._local(since, config.tz),
               "until": trends._local(until, config.tz), "value": figure.value,
               "n": figure.n, "interval": list(interval) if figure.shown and interval else None,
               "reason": figure.reason, "status": trends.status(figure, interval, target)}
        if target.kpi == "nps":
            out["detractor_reasons"] = trends.top_detractor_reasons(store, since, until)
        return out

    out = {}
    for name, target in sorted(targets.items()):
        span = (now - trends.SPAN_DAYS[target.period] * 86400, now)
        out[name] = {"target": {"value": target.value, "direction": target.direction,
                                "period": target.period},
                     "overall": cell(target, f"last {trends.SPAN_DAYS[target.period]} days",
                                     *span),
                     **{key: [cell(target, *p) for p in spans] for key, spans in periods.items()}}
    return out


@pytest.fixture
def filled(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text(CONFIG, encoding="utf-8")
    config = load_config(path)
    store = Store.open(config)
    rng = random.Random(7)
    with store.transaction():
        cases = []
        for _ in range(3000):
            ts = NOW - rng.random() * 70 * 86400
            if rng.random() < 0.02:
                ts = NOW + rng.random() * 3600          # a clock ahead: after `now`
            score = rng.choices(range(11), [3, 1, 1, 1, 2, 3, 5, 9, 14, 18, 20])[0]
            case = store.append_response(Response(
                nps=score, csat=rng.choice([None, 1, 2, 3, 4, 5, 5]),
                ces=rng.choice([None, 1, 3, 4, 5, 6, 7, 7]),
                reasons=rng.sample(REASONS, k=rng.randint(0, 2)), ts=ts))
            if case:
                cases.append((case, ts))
        for i in range(40):                             # a reason given twice counts once
            store.append_response(Response(nps=i % 7, reasons=["wait", "wait", "staff"],
                                           ts=NOW - i * 3 * 3600))
        for case, ts in cases[::3]:
            store.resolve_case(case, "called back", at=ts + rng.expovariate(1 / 5000))
    # crossings over the whole history: the older ones rolled up per minute, the last days raw
    store.append_crossings([Crossing(ts=NOW - rng.random() * 70 * 86400,
                                     line=rng.choice(["door", "inner"]),
                                     direction=rng.choice(["in", "out"]))
                            for _ in range(20000)])
    store.roll_up_traffic(NOW - 3 * 86400)
    yield store, config
    store.close()


def test_the_segment_sums_are_each_periods_own_figures(filled):
    store, config = filled
    got = trends.build_trends(store, config, NOW)
    assert got == per_period(store, config, NOW)
    nps = got["nps"]["by_day"]
    assert any(d["n"] >= 30 for d in nps) and any(d["detractor_reasons"] for d in nps)
    assert got["handling_median_s"]["overall"]["n"] > 0
    assert got["participation_rate"]["by_week"][-1]["value"] is not None


def test_the_same_with_a_target_from_the_database_and_a_quarter_hour_now(filled):
    store, config = filled
    store.set_target(Target("nps", 30, "higher", "month"), "admin")
    for now in (NOW - 15 * 60, NOW - 9 * 86400 + 0.5):
        assert trends.build_trends(store, config, now, days=3, weeks=2) == \
            per_period(store, config, now, days=3, weeks=2)
        assert trends.build_trends(store, config, now, days=0, weeks=0) == \
            per_period(store, config, now, days=0, weeks=0)
