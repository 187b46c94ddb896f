"""--since/--until parsing shared by cx-station report and the cx-hq analyst commands."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from station.period import parse_when

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def test_a_bare_date_is_local_midnight_and_as_an_end_includes_the_day():
    start = datetime(2026, 11, 1, tzinfo=HCM).timestamp()
    assert parse_when("2026-11-01", HCM) == start
    assert parse_when("2026-11-01", HCM, end=True) == start + 86400


def test_times_are_local_unless_they_carry_an_offset():
    assert parse_when("2026-11-01T14:00", HCM) == datetime(2026, 11, 1, 14, tzinfo=HCM).timestamp()
    assert parse_when("2026-11-01T07:00Z", HCM) == parse_when("2026-11-01T14:00+07:00", HCM)
    assert parse_when("2026-11-01T14:00", ZoneInfo("UTC")) - parse_when("2026-11-01T14:00", HCM) == 7 * 3600


def test_nothing_given_is_no_bound_and_nonsense_says_what_was_expected():
    assert parse_when(None, HCM) is None and parse_when("", HCM) is None
    with pytest.raises(ValueError, match="'last tuesday' is not a date"):
        parse_when("last tuesday", HCM)
