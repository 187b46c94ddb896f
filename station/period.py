"""Dates and times typed on a command line (--since/--until), read in the station's time zone.

    parse_when("2026-11-01", tz)                 # that day's local midnight, as epoch seconds
    parse_when("2026-11-01", tz, end=True)       # the next midnight: --until includes the day
    parse_when("2026-11-01T14:00+07:00", tz)     # an explicit offset wins over tz
"""
from __future__ import annotations

from datetime import date, datetime, time as dtime
from zoneinfo import ZoneInfo


def parse_when(text: str | None, tz: ZoneInfo, end: bool = False) -> float | None:
    """`2026-11-01` or `2026-11-01T14:00` (local time of `tz`) or with an offset -> epoch.

    A bare date as --until means the end of that day, so `--since D --until D` is one day.
    """
    if text is None or text == "":
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, dtime(0), tzinfo=tz)
            return moment.timestamp() + (86400 if end else 0)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date (2026-11-01) or a date and time "
                         f"(2026-11-01T14:00, optionally with an offset such as +07:00)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.timestamp()


def add_period_arguments(parser) -> None:
    """--since/--until, the same for every command that reads a period."""
    parser.add_argument("--since", help="from this local date/time (2026-11-01 or 2026-11-01T08:00)")
    parser.add_argument("--until", help="before this local date/time; a bare date includes that day")
