"""Occupancy per minute to HQ (issue 17): Store.roll_up_occupancy sends, beside the traffic
roll-ups, the people in the store at each closed minute's end and per zone, from the day's
opening; hand-computed minute by minute."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from station import events
from station.store.records import Crossing, Presence

OPEN = datetime(2026, 12, 5, 8, 0, tzinfo=timezone.utc).timestamp()      # opening, UTC store
M = 60


def sent(store):
    return [json.loads(e.payload)["data"] for e in store.pending_outbox(limit=10_000)
            if e.type == "occupancy"]


def test_each_minute_with_people_and_the_first_back_at_zero_is_sent(store):
    store.opening_time = "08:00"
    store.append_crossings([
        Crossing(OPEN - 30, "door", "in"),                    # before opening: not counted
        Crossing(OPEN + 5, "door", "in"), Crossing(OPEN + 6, "door", "in"),     # minute 0: 2
        Crossing(OPEN + M + 1, "door", "out"),                                  # minute 1: 1
        Crossing(OPEN + 2 * M + 1, "door", "out"), Crossing(OPEN + 2 * M + 2, "door", "out"),
    ])                                                         # minute 2: clamped at 0
    store.update_presence([Presence("v1", "kiosk", OPEN + 10, OPEN + M + 5)])
    store.roll_up_traffic(OPEN + 6 * M)
    assert store.roll_up_occupancy(OPEN + 6 * M, max_minutes=6) == 3
    data = sent(store)
    assert [(d["minute"], d["people"], d["zones"]) for d in data] == [
        (events.rfc3339(OPEN), 2, {"kiosk": 1}),
        (events.rfc3339(OPEN + M), 1, {"kiosk": 1}),
        (events.rfc3339(OPEN + 2 * M), 0, {})]                 # back at nobody: said once
    for d in data:
        events.TYPES["occupancy"].check(d)
    # a later call goes on from where it stopped, sending nothing for a quiet store
    assert store.roll_up_occupancy(OPEN + 10 * M) == 0
    store.append_crossings([Crossing(OPEN + 10 * M + 1, "door", "in")])
    assert store.roll_up_occupancy(OPEN + 12 * M) == 2          # minute 10: 1, minute 11: 1
    assert [d["people"] for d in sent(store)[-2:]] == [1, 1]


def test_the_count_starts_again_at_the_next_opening(store):
    store.opening_time = "08:00"
    store.append_crossings([Crossing(OPEN + 5, "door", "in")])      # one who never left
    next_day = OPEN + 86400
    store.roll_up_occupancy(next_day - M, max_minutes=1)
    assert sent(store)[-1]["people"] == 1                           # 07:59 next day: still 1
    store.roll_up_occupancy(next_day + M)
    assert sent(store)[-1] == {"minute": events.rfc3339(next_day), "people": 0, "zones": {}}


def test_an_empty_store_sends_nothing(store):
    assert store.roll_up_occupancy(OPEN + 3600) == 0
    assert sent(store) == []
