"""station/dwell.py on small hand-computed cases: zone dwell and whole-visit length, their
median, p90, histogram, and local hour/day buckets with and without daylight saving."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from station.dwell import histogram, visit_length, zone_dwell
from station.store.records import Visit

T0 = 1_700_000_040
EMPTY_HISTOGRAM = {"0-30 s": 0, "30-60 s": 0, "1-2 min": 0, "2-5 min": 0, "5-10 min": 0,
                   "10-20 min": 0, "20+ min": 0}


def utc(*args) -> float:
    return datetime(*args, tzinfo=timezone.utc).timestamp()


def test_empty_period(store):
    assert zone_dwell(store, T0, T0 + 86400, "Asia/Ho_Chi_Minh") == {}
    assert visit_length(store, T0, T0 + 86400, "Asia/Ho_Chi_Minh") == {
        "visits": 0, "median_s": None, "p90_s": None, "histogram": EMPTY_HISTOGRAM,
        "by_hour": {}, "by_day": {}}


def test_a_visit_spanning_zones_counts_once_in_each_zone_it_spent_time_in(store):
    store.append_visits([Visit(T0, T0 + 600, dwell={"kiosk": 40, "shelf": 200, "door": 0})])
    result = zone_dwell(store, T0, T0 + 3600, "UTC")
    assert sorted(result) == ["kiosk", "shelf"]                 # 0 s in 'door': not counted
    assert (result["kiosk"]["visits"], result["kiosk"]["median_s"]) == (1, 40.0)
    assert result["kiosk"]["histogram"]["30-60 s"] == 1
    assert (result["shelf"]["visits"], result["shelf"]["p90_s"]) == (1, 200.0)
    assert result["shelf"]["histogram"]["2-5 min"] == 1


def test_median_p90_and_histogram_by_hand(store):
    store.append_visits([Visit(T0, T0 + 900 + i, dwell={"kiosk": s})
                         for i, s in enumerate([10, 20, 30, 40, 100])])
    kiosk = zone_dwell(store, T0, T0 + 3600, "UTC")["kiosk"]
    assert kiosk["visits"] == 5
    assert kiosk["median_s"] == 30.0
    assert kiosk["p90_s"] == 76.0           # position 4 * 0.9 = 3.6: 40 + 0.6 * (100 - 40)
    assert kiosk["histogram"] == {**EMPTY_HISTOGRAM, "0-30 s": 2, "30-60 s": 2, "1-2 min": 1}


def test_histogram_bins_hold_their_lower_edge():
    assert histogram([29.9, 30, 59.9, 60, 119, 120, 299, 300, 600, 1199, 1200, 5000]) == {
        "0-30 s": 1, "30-60 s": 2, "1-2 min": 2, "2-5 min": 2, "5-10 min": 1,
        "10-20 min": 2, "20+ min": 2}


def test_visits_count_by_when_they_ended_in_the_half_open_period(store):
    store.append_visits([Visit(T0 - 500, T0, dwell={"kiosk": 10}),          # ends at since: in
                         Visit(T0, T0 + 3600, dwell={"kiosk": 20}),         # ends at until: out
                         Visit(T0 - 900, T0 - 1, dwell={"kiosk": 30})])     # before: out
    assert zone_dwell(store, T0, T0 + 3600, "UTC")["kiosk"]["visits"] == 1
    assert visit_length(store, T0, T0 + 3600)["visits"] == 1


def test_by_hour_and_by_day_in_a_time_zone_without_dst(store):
    # Asia/Ho_Chi_Minh is UTC+7 all year
    a, b, c = utc(2026, 3, 10, 2, 30), utc(2026, 3, 10, 2, 50), utc(2026, 3, 10, 17, 30)
    store.append_visits([Visit(a - 60, a, dwell={"kiosk": 60}),
                         Visit(b - 60, b, dwell={"kiosk": 120}),
                         Visit(c - 60, c, dwell={"kiosk": 30})])
    kiosk = zone_dwell(store, a, c + 1, "Asia/Ho_Chi_Minh")["kiosk"]
    assert kiosk["by_hour"] == {"00": {"visits": 1, "median_s": 30.0},      # 00:30 on the 11th
                                "09": {"visits": 2, "median_s": 90.0}}      # 09:30, 09:50
    assert kiosk["by_day"] == {"2026-03-10": {"visits": 2, "median_s": 90.0},
                               "2026-03-11": {"visits": 1, "median_s": 30.0}}
    assert zone_dwell(store, a, c + 1, ZoneInfo("Asia/Ho_Chi_Minh")) == \
        zone_dwell(store, a, c + 1, "Asia/Ho_Chi_Minh")


def test_by_hour_follows_daylight_saving_in_berlin(store):
    # 2026-03-29 01:00 UTC: clocks go forward 02:00 -> 03:00 (CET +1 -> CEST +2)
    spring = [utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30)]     # 01:30 CET, 03:30 CEST
    # 2026-10-25 01:00 UTC: clocks go back 03:00 -> 02:00 (CEST +2 -> CET +1)
    autumn = [utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)]   # 02:30 CEST, 02:30 CET
    store.append_visits([Visit(t - 100, t, dwell={"kiosk": s})
                         for t, s in zip(spring + autumn, [10, 20, 30, 50])])
    spring_result = zone_dwell(store, spring[0], spring[1] + 1, "Europe/Berlin")["kiosk"]
    assert spring_result["by_hour"] == {"01": {"visits": 1, "median_s": 10.0},
                                        "03": {"visits": 1, "median_s": 20.0}}  # no "02"
    autumn_result = zone_dwell(store, autumn[0], autumn[1] + 1, "Europe/Berlin")["kiosk"]
    assert autumn_result["by_hour"] == {"02": {"visits": 2, "median_s": 40.0}}  # twice 02:xx
    assert autumn_result["by_day"] == {"2026-10-25": {"visits": 2, "median_s": 40.0}}
    # the same instants in Ho Chi Minh City (UTC+7): 07:30 and 08:30
    assert zone_dwell(store, autumn[0], autumn[1] + 1, "Asia/Ho_Chi_Minh")["kiosk"]["by_hour"] \
        == {"07": {"visits": 1, "median_s": 30.0}, "08": {"visits": 1, "median_s": 50.0}}


def test_visit_length_is_the_whole_visit_not_a_zone(store):
    store.append_visits([Visit(T0, T0 + 45, dwell={"kiosk": 5}),
                         Visit(T0 + 10, T0 + 100, dwell={}),
                         Visit(T0 + 20, T0 + 1520, dwell={"kiosk": 100, "shelf": 900})])
    whole = visit_length(store, T0, T0 + 3600, "UTC")
    assert (whole["visits"], whole["median_s"]) == (3, 90.0)
    assert whole["p90_s"] == 1218.0         # position 2 * 0.9 = 1.8: 90 + 0.8 * (1500 - 90)
    assert whole["histogram"] == {**EMPTY_HISTOGRAM, "30-60 s": 1, "1-2 min": 1, "20+ min": 1}
    assert whole["by_day"] == {"2023-11-14": {"visits": 3, "median_s": 90.0}}
    assert "by_hour" not in visit_length(store, T0, T0 + 3600)     # no tz: no local buckets
    assert zone_dwell(store, T0, T0 + 3600, "UTC")["kiosk"]["median_s"] == 52.5
