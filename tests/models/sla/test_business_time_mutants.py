"""Business-time rules the first mutation run showed untested: how overlapping pauses combine.

All instants are explicit (2026, a year the statutory calendar covers), never today's.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.sla.business_time import (
    BusinessCalendar,
    CalendarKind,
    StatutoryCalendar,
    _published_years,
    deadline,
    elapsed,
    is_working_day,
    parse_periods,
)

SH = ZoneInfo("Asia/Shanghai")
ALWAYS = BusinessCalendar(CalendarKind.ALWAYS)
OFFICE = BusinessCalendar(CalendarKind.BUSINESS)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def test_a_pause_inside_another_pauses_the_clock_for_the_outer_one_only() -> None:
    # Waiting on the customer 10:00-12:00, and a second note of waiting 10:30-11:00 inside it:
    # the clock stands still for two hours, not for less (nor for 2.5 h).
    pauses = [(at(2026, 11, 23, 10, 0), at(2026, 11, 23, 12, 0)), (at(2026, 11, 23, 10, 30), at(2026, 11, 23, 11, 0))]
    start = at(2026, 11, 23, 9, 0)
    assert deadline(start, timedelta(hours=4), ALWAYS, pauses) == at(2026, 11, 23, 15, 0)
    assert elapsed(start, at(2026, 11, 23, 13, 0), ALWAYS, pauses) == timedelta(hours=2)


def test_overlapping_pauses_count_their_union_once() -> None:
    pauses = [(at(2026, 11, 23, 10, 0), at(2026, 11, 23, 11, 0)), (at(2026, 11, 23, 10, 30), at(2026, 11, 23, 12, 0))]
    start = at(2026, 11, 23, 9, 0)
    assert deadline(start, timedelta(hours=4), ALWAYS, pauses) == at(2026, 11, 23, 15, 0)
    assert elapsed(start, at(2026, 11, 23, 12, 0), ALWAYS, pauses) == timedelta(hours=1)


def test_pauses_given_out_of_order_and_touching_merge() -> None:
    pauses = [(at(2026, 11, 23, 11, 0), at(2026, 11, 23, 12, 0)), (at(2026, 11, 23, 10, 0), at(2026, 11, 23, 11, 0))]
    start = at(2026, 11, 23, 9, 0)
    assert deadline(start, timedelta(hours=2), ALWAYS, pauses) == at(2026, 11, 23, 13, 0)
    assert elapsed(start, at(2026, 11, 23, 13, 0), ALWAYS, pauses) == timedelta(hours=2)


def test_empty_or_backwards_pauses_pause_nothing() -> None:
    start = at(2026, 11, 23, 9, 0)
    pauses = [(at(2026, 11, 23, 10, 0), at(2026, 11, 23, 10, 0)), (at(2026, 11, 23, 11, 0), at(2026, 11, 23, 10, 30))]
    assert deadline(start, timedelta(hours=2), ALWAYS, pauses) == at(2026, 11, 23, 11, 0)


def test_contained_pause_on_the_business_calendar() -> None:
    # 5x8: Monday 09:00-12:00 and 13:00-18:00; paused 09:30-11:30 with a shorter pause inside it.
    pauses = [(at(2026, 11, 23, 9, 30), at(2026, 11, 23, 11, 30)), (at(2026, 11, 23, 10, 0), at(2026, 11, 23, 10, 15))]
    start = at(2026, 11, 23, 9, 0)
    assert elapsed(start, at(2026, 11, 23, 12, 0), OFFICE, pauses) == timedelta(minutes=60)
    assert deadline(start, timedelta(hours=2), OFFICE, pauses) == at(2026, 11, 23, 14, 0)


def test_the_published_years_come_from_the_library_and_the_years_around_them_are_provisional() -> None:
    # Read the range from the library rather than hard-coding it: these tests must not depend on
    # which years the installed `holidays` knows.
    first, last = _published_years()
    calendar = StatutoryCalendar()
    for year in (first, last):  # both ends of the range carry the State Council's notice
        assert calendar.year(year).source == "holidays"
        assert isinstance(is_working_day(date(year, 6, 1)), bool)
    for year in (first - 1, last + 1):  # a year nobody published never stops a clock: it runs provisionally
        assert calendar.year(year).provisional
        assert isinstance(is_working_day(date(year, 6, 1)), bool)
    assert calendar.provisional_between(date(last, 12, 31), date(last + 1, 1, 2)) == [last + 1]
    assert StatutoryCalendar(use_library=False).year(first).source != "holidays"


def test_business_hours_periods_must_have_length_and_may_touch() -> None:
    with pytest.raises(ValueError, match="the end must be after the start"):
        parse_periods("09:00-09:00")
    assert parse_periods("09:00-12:00,12:00-13:00") == ((time(9), time(12)), (time(12), time(13)))
    with pytest.raises(ValueError, match="ordered, no overlap"):
        parse_periods("09:00-12:00,11:59-13:00")
