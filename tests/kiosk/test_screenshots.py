"""The screenshot sample: whatever the hour, the admin screen has every figure to draw."""
from datetime import datetime, timedelta

import pytest

from kiosk.dashboard import Dashboard
from kiosk.screenshots import SAMPLE_PERIOD, SAMPLE_RESPONSES, _sample_store
from kiosk_testlib import make_config
from station.store import Store


@pytest.mark.parametrize("after_midnight", [timedelta(minutes=20), timedelta(hours=15)])
def test_sample_fills_the_admin_period_whatever_the_hour(tmp_path, after_midnight):
    config = make_config(tmp_path)
    now = (datetime(2026, 3, 2, tzinfo=config.tz) + after_midnight).timestamp()
    sample = _sample_store(config, tmp_path, now=now)
    assert sample.database.path != config.database.path
    store = Store.open(sample)
    try:
        figures = Dashboard(sample).figures(store, SAMPLE_PERIOD, now=now)
        outbox = store.outbox_status()
    finally:
        store.close()
    assert 0.8 * SAMPLE_RESPONSES < figures.totals["responses"] <= SAMPLE_RESPONSES
    assert figures.nps.shown
    assert figures.entries > 0 and len(figures.traffic_by_hour) >= 8
    assert figures.totals["linked"] > 0 and figures.nps_by_age
    assert outbox["pending"] == 0
