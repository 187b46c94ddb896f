"""station/occupancy.py on small hand-computed cases: people in the store from entrance
crossings (clamped at 0, minute by minute, roll-ups and raw crossings mixed) and people per
zone per minute from presence intervals."""
from __future__ import annotations

from station.occupancy import minute_counts, occupancy, zone_occupancy_by_minute
from station.store.records import Crossing, Presence

T0 = 1_700_000_040                 # a minute's start (UTC epoch seconds): the day's opening
M = 60


def cross(store, *items):
    """items: (seconds after T0, line, 'in'/'out')."""
    store.append_crossings([Crossing(T0 + t, line, d) for t, line, d in items])


def test_empty_day_has_nobody_and_no_peak(store):
    result = occupancy(store, now=T0 + 3600, opening_ts=T0)
    assert result == {"people": 0, "peak": 0, "peak_at": None, "entries": 0, "exits": 0,
                      "since": T0, "until": T0 + 3600}
    assert occupancy(store, now=T0, opening_ts=T0)["people"] == 0


def test_exits_before_entries_are_clamped_at_zero_and_later_entries_start_from_zero(store):
    cross(store, (5, "door", "out"), (10, "door", "out"),                       # minute 0: -2
          (M + 1, "door", "in"), (M + 2, "door", "in"), (M + 3, "door", "in"),  # minute 1: +3
          (2 * M + 30, "door", "out"))                                          # minute 2: -1
    result = occupancy(store, now=T0 + 10 * M, opening_ts=T0)
    # unclamped the net would be 0; clamped: 0, 3, 2
    assert result["people"] == 2
    assert (result["peak"], result["peak_at"]) == (3, T0 + M)
    assert (result["entries"], result["exits"]) == (3, 3)


def test_peak_is_the_first_minute_that_reached_the_highest_count(store):
    cross(store, (0, "door", "in"), (1, "door", "in"),                          # 2
          (M, "door", "in"),                                                    # 3
          (2 * M, "door", "out"), (2 * M + 1, "door", "out"), (2 * M + 2, "door", "out"),  # 0
          (3 * M, "door", "in"), (3 * M + 5, "door", "in"), (3 * M + 9, "door", "in"),     # 3
          (4 * M, "door", "out"))                                               # 2
    result = occupancy(store, now=T0 + 5 * M, opening_ts=T0)
    assert (result["people"], result["peak"], result["peak_at"]) == (2, 3, T0 + M)


def test_in_and_out_within_one_minute_net_out_at_minute_resolution(store):
    cross(store, (1, "door", "in"), (2, "door", "in"), (50, "door", "out"), (51, "door", "out"))
    result = occupancy(store, now=T0 + M, opening_ts=T0)
    assert (result["people"], result["peak"], result["peak_at"]) == (0, 0, None)
    assert (result["entries"], result["exits"]) == (2, 2)


def test_crossings_before_opening_and_from_now_on_are_not_counted(store):
    cross(store, (-30, "door", "in"), (-M - 1, "door", "in"),
          (10, "door", "in"), (2 * M, "door", "in"), (2 * M + 1, "door", "in"))
    result = occupancy(store, now=T0 + 2 * M, opening_ts=T0)
    assert (result["people"], result["entries"]) == (1, 1)


def test_inner_lines_are_ignored_when_entrance_lines_are_configured(store):
    store.entrance_lines = frozenset({"door"})
    cross(store, (0, "door", "in"), (1, "door", "in"),
          (5, "aisle", "in"), (6, "aisle", "in"), (7, "aisle", "in"),
          (M, "aisle", "out"), (M + 1, "aisle", "out"), (M + 2, "door", "out"))
    result = occupancy(store, now=T0 + 5 * M, opening_ts=T0)
    assert (result["people"], result["peak"], result["entries"], result["exits"]) == (1, 2, 2, 1)
    store.roll_up_traffic(T0 + 5 * M)                    # the same once rolled up
    assert occupancy(store, now=T0 + 5 * M, opening_ts=T0) == result


def test_every_line_counts_when_entrance_lines_is_none_and_none_when_empty(store):
    cross(store, (0, "door", "in"), (5, "aisle", "in"))
    assert store.entrance_lines is None
    assert occupancy(store, now=T0 + M, opening_ts=T0)["people"] == 2
    store.entrance_lines = frozenset()
    assert occupancy(store, now=T0 + M, opening_ts=T0)["people"] == 0


def test_rolled_up_and_raw_crossings_mix_in_time_order(store):
    # rolled: minute 0 +2, minute 1 -3 (clamped at 0); raw: minute 2 +1, minute 3 +2, -1
    cross(store, (0, "door", "in"), (2, "door", "in"),
          (M, "door", "out"), (M + 1, "door", "out"), (M + 2, "door", "out"))
    assert store.roll_up_traffic(T0 + 2 * M) == 2       # one (minute, line) row per minute
    cross(store, (2 * M + 4, "door", "in"),
          (3 * M, "door", "in"), (3 * M + 1, "door", "in"), (3 * M + 2, "west", "out"))
    assert store.db.execute("SELECT count(*) FROM traffic").fetchone()[0] == 2
    assert minute_counts(store, T0, T0 + 4 * M) == [
        (T0, 2, 0), (T0 + M, 0, 3), (T0 + 2 * M, 1, 0), (T0 + 3 * M, 2, 1)]
    result = occupancy(store, now=T0 + 4 * M, opening_ts=T0)
    assert (result["people"], result["peak"], result["peak_at"]) == (2, 2, T0)
    assert (result["entries"], result["exits"]) == (5, 4)
    assert store.entries(T0, T0 + 4 * M) == {"entries": 5, "exits": 4}
    store.roll_up_traffic(T0 + 4 * M)                    # all rolled: the same figure
    assert occupancy(store, now=T0 + 4 * M, opening_ts=T0) == result


def test_zone_occupancy_is_empty_without_presence(store):
    assert zone_occupancy_by_minute(store, T0, T0 + 3600) == {}


def test_a_visitor_counts_in_each_minute_their_interval_overlaps(store):
    store.update_presence([
        Presence("a", "kiosk", T0 + 10, T0 + 130),      # minutes 0, 1, 2
        Presence("b", "kiosk", T0 + 70, T0 + 80),       # minute 1
        Presence("b", "shelf", T0 + 80, T0 + 200),      # minutes 1, 2, 3 (3 is past until)
        Presence("c", "kiosk", T0 - 300, T0 - 1),       # before the period
    ])
    assert zone_occupancy_by_minute(store, T0, T0 + 3 * M) == {
        "kiosk": {T0: 1, T0 + M: 2, T0 + 2 * M: 1},
        "shelf": {T0 + M: 1, T0 + 2 * M: 1},
    }


def test_interval_ends_are_closed_and_the_window_keeps_its_partial_first_minute(store):
    store.update_presence([Presence("a", "kiosk", T0, T0 + M)])   # touches minute 1 at its start
    assert zone_occupancy_by_minute(store, T0, T0 + 10 * M) == {"kiosk": {T0: 1, T0 + M: 1}}
    assert zone_occupancy_by_minute(store, T0 + 30, T0 + 10 * M) == {"kiosk": {T0: 1, T0 + M: 1}}
    assert zone_occupancy_by_minute(store, T0 + 2 * M, T0 + 10 * M) == {}
    assert zone_occupancy_by_minute(store, T0, T0) == {}
