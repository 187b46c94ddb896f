"""The screenshot sample: whatever the hour, the admin screen's "today" has an NPS to draw."""
from datetime import datetime, timedelta

import pytest

from kiosk.dashboard import Dashboard
from kiosk.screenshots import _sample_store
from kiosk_testlib import make_config
from station.store import Store


@pytest.mark.parametrize("after_midnight", [timedelta(minutes=20), timedelta(hours=15)])
def test_sample_lies_within_today_and_gives_an_nps(tmp_path, after_midnight):
    config = make_config(tmp_path)
    midnight = datetime(2026, 3, 2, tzinfo=config.tz)
    now = (midnight + after_midnight).timestamp()
    sample = _sample_store(config, tmp_path, now=now)
    store = Store.open(sample)
    try:
        today = Dashboard(sample).figures(store, "today", now=now)
        yesterday = Dashboard(sample).figures(store, "7d", now=midnight.timestamp() - 1)
    finally:
        store.close()
    assert today.totals["responses"] == 120
    assert today.nps.shown and today.nps.nps is not None
    assert sum(today.dwell_counts) == 400
    assert yesterday.totals["responses"] == 0
