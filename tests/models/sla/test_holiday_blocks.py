"""The holiday freeze covers whole State Council holiday blocks, weekend days inside them included.

Dates are in 2026, a year whose schedule (with its make-up working days) the pinned `holidays`
library carries from the State Council notice, so these tests do not depend on today's date or on
which later years the library learns.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.changes.windows import WindowRule, next_slot, open_spans
from models.sla.business_time import is_statutory_holiday

SH = ZoneInfo("Asia/Shanghai")
EVERY_DAY = WindowRule(frozenset(range(1, 8)), time(22, 0), time(6, 0), SH)  # weekends included
ALL_DAY = WindowRule(frozenset(range(1, 8)), time(0, 0), time(0, 0), SH)  # end ≤ start: round the clock


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.mark.parametrize("day", [
    date(2026, 10, 4),   # Sunday between National Day (3 Oct) and its observed day (5 Oct)
    date(2026, 2, 21), date(2026, 2, 22),  # weekend inside Spring Festival (15-23 Feb)
    date(2026, 2, 15),   # the Sunday that opens Spring Festival
    date(2026, 6, 20), date(2026, 6, 21),  # Dragon Boat: Fri 19 Jun to Sun 21 Jun
    date(2026, 1, 3),    # New Year: 1-3 Jan
    # A weekend right before a one-day holiday (Qingming, Mon 4 Apr 2016: 2-4 Apr off), and one that
    # crosses into the next year (New Year 2018: 30 Dec 2017 to 1 Jan 2018); both years published.
    date(2016, 4, 2), date(2016, 4, 3), date(2017, 12, 30), date(2017, 12, 31),
])
def test_weekend_days_inside_a_holiday_block_are_holidays(day: date) -> None:
    assert day.isoweekday() in (6, 7)
    assert is_statutory_holiday(day)


@pytest.mark.parametrize("day", [
    date(2026, 11, 28), date(2026, 11, 29),  # an ordinary weekend
    date(2026, 10, 10),  # make-up working Saturday after National Day
    date(2026, 2, 14), date(2026, 2, 28),  # make-up working Saturdays around Spring Festival
    date(2026, 10, 8),   # first working day after National Day
    date(2026, 10, 11),  # the Sunday after the make-up Saturday: rest, but no holiday touches it
])
def test_ordinary_weekends_and_working_days_are_not_holidays(day: date) -> None:
    assert not is_statutory_holiday(day)


def test_no_slot_opens_inside_national_day_on_a_weekend_window() -> None:
    # Before the fix the first slot after 1 Oct was Sunday 4 Oct 00:00, in the middle of the holiday.
    slot = next_slot(at(2026, 10, 1, 9, 0), minutes=60, requested=None, windows=[EVERY_DAY], freezes=[],
                     zone=SH, is_holiday=is_statutory_holiday)
    assert slot == (at(2026, 10, 8, 0, 0), at(2026, 10, 8, 6, 0))


def test_no_slot_opens_inside_spring_festival_on_a_weekend_window() -> None:
    # Before the fix the first slot after 16 Feb was Saturday 21 Feb.
    slot = next_slot(at(2026, 2, 16, 9, 0), minutes=60, requested=None, windows=[EVERY_DAY], freezes=[],
                     zone=SH, is_holiday=is_statutory_holiday)
    assert slot == (at(2026, 2, 24, 0, 0), at(2026, 2, 24, 6, 0))


@pytest.mark.parametrize("frozen", [date(2026, 10, 4), date(2026, 2, 21)])
def test_no_open_time_at_all_on_the_frozen_weekend_day(frozen: date) -> None:
    since = datetime.combine(frozen - timedelta(days=10), time(0), SH)
    spans = open_spans(since, requested=None, windows=[ALL_DAY], freezes=[], zone=SH,
                       is_holiday=is_statutory_holiday)
    day_start = datetime.combine(frozen, time(0), SH)
    day_end = day_start + timedelta(days=1)
    assert spans, "a round-the-clock window must leave open time around the holiday"
    assert not [s for s in spans if s[0] < day_end and s[1] > day_start]
    # Without the holiday freeze the same window is open that day: the freeze is what closes it.
    unfrozen = open_spans(since, requested=None, windows=[ALL_DAY], freezes=[], zone=SH, is_holiday=None)
    assert [s for s in unfrozen if s[0] < day_end and s[1] > day_start]


def test_a_requested_window_over_the_holiday_weekend_is_missed() -> None:
    requested = (at(2026, 10, 3, 22, 0), at(2026, 10, 4, 23, 0))  # Sat night to Sun night, all holiday
    assert next_slot(at(2026, 9, 28, 9, 0), minutes=30, requested=requested, windows=[EVERY_DAY], freezes=[],
                     zone=SH, is_holiday=is_statutory_holiday) is None
