"""Business time on 7x24 and 5x8 calendars, at their boundaries."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.sla.business_time import (
    BusinessCalendar,
    CalendarKind,
    StatutoryCalendar,
    YearSchedule,
    deadline,
    elapsed,
    is_working_day,
    parse_periods,
)

SH = ZoneInfo("Asia/Shanghai")
BIZ = BusinessCalendar(CalendarKind.BUSINESS, SH)
ALWAYS = BusinessCalendar(CalendarKind.ALWAYS, SH)
H = timedelta(hours=1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        # Friday 17:30 + 2 h: 30 min on Friday, 1 h 30 on Monday morning.
        ("2026-11-20 17:30", 2 * H, "2026-11-23 10:30"),
        # Inside a period.
        ("2026-11-24 09:00", 2 * H, "2026-11-24 11:00"),
        # Across the lunch break.
        ("2026-11-24 11:30", H, "2026-11-24 13:30"),
        # Ending exactly at the end of a period stays there.
        ("2026-11-24 16:00", 2 * H, "2026-11-24 18:00"),
        # Before opening: the clock starts at 09:00.
        ("2026-11-24 07:15", H, "2026-11-24 10:00"),
        # After closing: the clock starts next working morning.
        ("2026-11-24 20:00", H, "2026-11-25 10:00"),
        # During lunch: starts at 13:00.
        ("2026-11-24 12:20", H, "2026-11-24 14:00"),
        # Weekend: Saturday → Monday.
        ("2026-11-21 10:00", H, "2026-11-23 10:00"),
        ("2026-11-22 23:59", 2 * H, "2026-11-23 11:00"),
        # Zero duration outside hours: the next working instant.
        ("2026-11-21 10:00", timedelta(0), "2026-11-23 09:00"),
        # A full working day is 8 h: Mon 09:00 + 8 h → Mon 18:00; + 9 h → Tue 10:00.
        ("2026-11-23 09:00", 8 * H, "2026-11-23 18:00"),
        ("2026-11-23 09:00", 9 * H, "2026-11-24 10:00"),
    ],
)
def test_business_deadline(start: str, duration: timedelta, expected: str) -> None:
    assert deadline(at(start), duration, BIZ) == at(expected)


def test_spring_festival_2026_with_make_up_saturdays() -> None:
    # Fri 13 Feb 17:00 + 2 h: 1 h Friday, then Saturday 14 Feb is a make-up working day.
    assert deadline(at("2026-02-13 17:00"), 2 * H, BIZ) == at("2026-02-14 10:00")
    # Sat 14 Feb 17:00 + 2 h: 15-23 Feb are off; work resumes Tuesday 24 Feb.
    assert deadline(at("2026-02-14 17:00"), 2 * H, BIZ) == at("2026-02-24 10:00")
    # Sat 28 Feb is the second make-up day: Fri 27 Feb 17:30 + 1 h → Sat 28 Feb 09:30.
    assert deadline(at("2026-02-27 17:30"), H, BIZ) == at("2026-02-28 09:30")
    assert is_working_day(at("2026-02-14").date()) and is_working_day(at("2026-02-28").date())
    assert not any(is_working_day(at(f"2026-02-{d}").date()) for d in range(15, 24))


def test_national_day_2026() -> None:
    # Wed 30 Sep 17:00 + 2 h: 1 h that day; 1-7 Oct off; Thursday 8 Oct 10:00.
    assert deadline(at("2026-09-30 17:00"), 2 * H, BIZ) == at("2026-10-08 10:00")
    # Sun 20 Sep and Sat 10 Oct are make-up working days.
    assert deadline(at("2026-09-19 10:00"), H, BIZ) == at("2026-09-20 10:00")
    assert deadline(at("2026-10-09 17:30"), H, BIZ) == at("2026-10-10 09:30")


def test_always_calendar_ignores_hours_and_holidays() -> None:
    assert deadline(at("2026-10-01 23:55"), timedelta(minutes=10), ALWAYS) == at("2026-10-02 00:05")
    assert elapsed(at("2026-10-01 00:00"), at("2026-10-02 00:00"), ALWAYS) == 24 * H


def test_elapsed_on_business_calendar() -> None:
    assert elapsed(at("2026-11-20 17:30"), at("2026-11-23 10:30"), BIZ) == 2 * H
    assert elapsed(at("2026-11-21 08:00"), at("2026-11-22 20:00"), BIZ) == timedelta(0)
    assert elapsed(at("2026-11-24 10:00"), at("2026-11-24 09:00"), BIZ) == timedelta(0)


def test_paused_interval_excluded_and_deadline_pushed() -> None:
    pause = [(at("2026-11-24 10:00"), at("2026-11-24 11:00"))]
    # Elapsed 09:00 → 12:00 with a 1 h pause is 2 h.
    assert elapsed(at("2026-11-24 09:00"), at("2026-11-24 12:00"), BIZ, pause) == 2 * H
    # A 2 h target from 09:00 with that pause ends at 11:00 + 1 h = 12:00.
    assert deadline(at("2026-11-24 09:00"), 2 * H, BIZ, pause) == at("2026-11-24 12:00")
    # On 7x24, overlapping pauses merge and count once.
    pauses = [(at("2026-11-24 10:00"), at("2026-11-24 11:00")), (at("2026-11-24 10:30"), at("2026-11-24 11:30"))]
    assert elapsed(at("2026-11-24 09:00"), at("2026-11-24 13:00"), ALWAYS, pauses) == timedelta(hours=2.5)
    # A pause over non-working time changes nothing on 5x8.
    night = [(at("2026-11-24 19:00"), at("2026-11-25 08:00"))]
    assert deadline(at("2026-11-24 17:00"), 2 * H, BIZ, night) == at("2026-11-25 10:00")


# Explicit years, so that nothing here depends on which years the `holidays` library covers.
Y2026 = YearSchedule(2026, frozenset({date(2026, 10, 1)}), frozenset({date(2026, 10, 10)}), "entered")
ENTERED = StatutoryCalendar({2026: Y2026}, use_library=False)
BIZ_ENTERED = BusinessCalendar(CalendarKind.BUSINESS, SH, statutory=ENTERED)


def test_a_year_nobody_entered_runs_provisionally_and_says_so() -> None:
    # 2026-12-31 is a Thursday; 2027 is not entered: weekdays less the library's festivals (1 January).
    start = at("2026-12-31 17:05")
    due = deadline(start, 2 * H, BIZ_ENTERED)
    assert due == at("2027-01-04 10:05")  # 55 min on Thursday, New Year, weekend, 65 min on Monday
    assert BIZ_ENTERED.provisional_years(start, due) == [2027]
    assert BIZ_ENTERED.provisional_years(at("2026-12-31 09:00"), at("2026-12-31 12:00")) == []
    # 7x24 needs no statutory calendar.
    assert deadline(at("2027-03-01 09:00"), H, ALWAYS) == at("2027-03-01 10:00")


def test_elapsed_reads_no_day_after_its_end() -> None:
    # Arrival 14:00 against a 12:00 deadline on the last working day of an entered year: 4 h elapsed,
    # the next year is never consulted (it used to raise for 2027 and drop the clock).
    only_2026 = StatutoryCalendar({2026: Y2026}, use_library=False)

    class Guard(StatutoryCalendar):
        def year(self, year: int) -> YearSchedule:
            assert year == 2026, f"elapsed() read {year}"
            return only_2026.year(year)

    biz = BusinessCalendar(CalendarKind.BUSINESS, SH, statutory=Guard())
    assert elapsed(at("2026-12-31 10:00"), at("2026-12-31 14:00"), biz) == 3 * H
    assert elapsed(at("2026-12-31 10:00"), at("2026-12-31 18:00"), biz) == 7 * H


def test_entered_rows_decide_holidays_and_make_up_days() -> None:
    # National Day (a Thursday) rests; Saturday 10 October works.
    assert not is_working_day(date(2026, 10, 1), ENTERED)
    assert is_working_day(date(2026, 10, 10), ENTERED)
    assert deadline(at("2026-09-30 17:00"), 2 * H, BIZ_ENTERED) == at("2026-10-02 10:00")
    assert deadline(at("2026-10-09 17:00"), 2 * H, BIZ_ENTERED) == at("2026-10-10 10:00")


def test_naive_datetimes_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        deadline(datetime(2026, 11, 24, 9), H, BIZ)


def test_negative_duration_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        deadline(at("2026-11-24 09:00"), -H, BIZ)


def test_other_timezone_input_is_converted() -> None:
    # 01:00 UTC on Tuesday is 09:00 in Shanghai.
    start = datetime(2026, 11, 24, 1, 0, tzinfo=ZoneInfo("UTC"))
    assert deadline(start, H, BIZ) == at("2026-11-24 10:00")


def test_configurable_periods() -> None:
    periods = parse_periods("08:30-12:00, 14:00-17:30")
    assert periods == ((time(8, 30), time(12, 0)), (time(14, 0), time(17, 30)))
    calendar = BusinessCalendar(CalendarKind.BUSINESS, SH, periods)
    assert deadline(at("2026-11-24 11:30"), H, calendar) == at("2026-11-24 14:30")


@pytest.mark.parametrize("text", ["9-12", "12:00-09:00", "09:00-12:00,11:00-13:00", "nonsense"])
def test_bad_periods_say_how_to_write_them(text: str) -> None:
    with pytest.raises(ValueError, match="business hours"):
        parse_periods(text)
