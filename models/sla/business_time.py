"""Business time for SLA clocks: 7x24 and 5x8 calendars on the Chinese statutory calendar.

Pure functions, no I/O. A 5x8 clock runs only inside the working periods of working days, where
"working day" follows the State Council schedule, including make-up working days (调休) on
weekends. The schedule of a year comes from a `StatutoryCalendar`: the rows the team entered (see
models/sla/statutory.py), else the `holidays` library where it carries the published notice, else a
*provisional* year (weekdays less the library's festival dates, no make-up days). A clock never goes
silent for want of a calendar: it runs on the provisional year and says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from holidays.countries.china import ChinaStaticHolidays

Interval = tuple[datetime, datetime]

DEFAULT_PERIODS: tuple[tuple[time, time], ...] = (
    (time(9, 0), time(12, 0)),
    (time(13, 0), time(18, 0)),
)
# The longest a 5x8 walk may look ahead before concluding the calendar has no working time.
_MAX_DAYS = 3 * 366


class CalendarKind(StrEnum):
    """Which clock an SLA target runs on."""

    ALWAYS = "7x24"
    BUSINESS = "5x8"


@lru_cache
def _published_years() -> tuple[int, int]:
    # Years with a State Council notice carry make-up days in the library's static table; later
    # years would be computed from festivals alone, without 调休, which is a guess.
    years = ChinaStaticHolidays.special_public_holidays.keys()
    return min(years), max(years)


@lru_cache(maxsize=64)
def _china(year: int) -> holidays.HolidayBase:
    return holidays.China(years=year)


def published_years() -> range:
    """The years for which the `holidays` library carries the State Council notice (make-up days included)."""
    first, last = _published_years()
    return range(first, last + 1)


@dataclass(frozen=True)
class YearSchedule:
    """One year's statutory rest days on weekdays-or-weekends (`holidays`) and weekend working days (`workdays`)."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str  # "entered", "holidays" (the library's published notice) or "provisional"

    @property
    def provisional(self) -> bool:
        return self.source == "provisional"

    def is_working_day(self, day: date) -> bool:
        """A make-up day works; a holiday rests; otherwise Monday to Friday."""
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays


@lru_cache(maxsize=64)
def library_year(year: int, official: bool) -> YearSchedule:
    """A year from the `holidays` library: its published notice (`official`), or its festival dates alone."""
    china = _china(year)
    days = frozenset(china.keys())
    if not official:
        return YearSchedule(year, days, frozenset(), "provisional")
    first, last = date(year, 1, 1), date(year, 12, 31)
    weekend_work = frozenset(first + timedelta(days=n) for n in range((last - first).days + 1)
                             if (first + timedelta(days=n)).weekday() >= 5
                             and china.is_working_day(first + timedelta(days=n)))
    return YearSchedule(year, days, weekend_work, "holidays")


class StatutoryCalendar:
    """Which days are working days, year by year: entered rows first, then the library, then provisional."""

    def __init__(self, entered: dict[int, YearSchedule] | None = None, *, use_library: bool = True) -> None:
        self.entered = dict(entered or {})
        self.use_library = use_library

    def year(self, year: int) -> YearSchedule:
        """The schedule used for `year` (never fails: a year nobody entered is provisional)."""
        if year in self.entered:
            return self.entered[year]
        return library_year(year, self.use_library and year in published_years())

    def is_working_day(self, day: date) -> bool:
        return self.year(day.year).is_working_day(day)

    def provisional_between(self, first: date, last: date) -> list[int]:
        """The provisional years among those from `first` to `last`."""
        return [y for y in range(first.year, last.year + 1) if self.year(y).provisional]


LIBRARY_CALENDAR = StatutoryCalendar()


def is_working_day(day: date, calendar: StatutoryCalendar | None = None) -> bool:
    """True on a Chinese statutory working day (make-up weekend days included)."""
    return (calendar or LIBRARY_CALENDAR).is_working_day(day)


# A State Council holiday block (National Day, Spring Festival …) is at most 9 days long.
_LONGEST_BLOCK = 9


def is_statutory_holiday(day: date) -> bool:
    """True on any day of a statutory holiday block, the weekend days inside or next to it included."""
    if day in _china(day.year):
        return True
    if _is_workday(day):
        return False
    # A rest day is part of a holiday block when the run of rest days around it reaches a holiday:
    # Sunday 2026-10-04 lies between National Day (3 Oct) and its observed day (5 Oct).
    for step in (timedelta(days=-1), timedelta(days=1)):
        other = day + step
        for _ in range(_LONGEST_BLOCK):
            if other in _china(other.year):
                return True
            if _is_workday(other):
                break
            other += step
    return False


def _is_workday(day: date) -> bool:
    # Unlike is_working_day this never raises: freezing a change on a guessed holiday is the safe side.
    return bool(_china(day.year).is_working_day(day))


def parse_periods(text: str) -> tuple[tuple[time, time], ...]:
    """Parse '09:00-12:00,13:00-18:00' into ordered, non-overlapping working periods."""
    periods: list[tuple[time, time]] = []
    for chunk in text.split(","):
        try:
            start_text, end_text = chunk.strip().split("-")
            start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
        except ValueError as exc:
            raise ValueError(
                f"business hours {chunk.strip()!r}: write periods as HH:MM-HH:MM, comma-separated"
            ) from exc
        if end <= start:
            raise ValueError(f"business hours {chunk.strip()!r}: the end must be after the start")
        if periods and start < periods[-1][1]:
            raise ValueError(f"business hours {chunk.strip()!r}: periods must be ordered, no overlap")
        periods.append((start, end))
    return tuple(periods)


@dataclass(frozen=True)
class BusinessCalendar:
    """A clock: 7x24 runs always; 5x8 runs in `periods` on statutory working days in `tz`."""

    kind: CalendarKind
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS
    statutory: StatutoryCalendar = LIBRARY_CALENDAR

    def provisional_years(self, start: datetime, end: datetime) -> list[int]:
        """Years between `start` and `end` this clock counted on a provisional calendar (none for 7x24)."""
        if self.kind is CalendarKind.ALWAYS:
            return []
        return self.statutory.provisional_between(start.astimezone(self.tz).date(), end.astimezone(self.tz).date())

    def working_spans(self, start: datetime) -> Iterator[Interval]:
        """Yield the calendar's working intervals from `start` onwards, in order."""
        _require_aware(start, "start")
        if self.kind is CalendarKind.ALWAYS:
            yield start, datetime.max.replace(tzinfo=start.tzinfo)
            return
        local = start.astimezone(self.tz)
        day = local.date()
        for _ in range(_MAX_DAYS):
            if self.statutory.is_working_day(day):
                for begin, end in self.periods:
                    span_start = datetime.combine(day, begin, tzinfo=self.tz)
                    span_end = datetime.combine(day, end, tzinfo=self.tz)
                    if span_end <= local:
                        continue
                    yield max(span_start, local), span_end
            day += timedelta(days=1)
        raise ValueError(f"no working time within {_MAX_DAYS} days of {start.isoformat()}")


def deadline(
    start: datetime,
    duration: timedelta,
    calendar: BusinessCalendar,
    paused: Iterable[Interval] = (),
) -> datetime:
    """The instant at which `duration` of calendar time, less pauses, has run from `start`."""
    if duration < timedelta(0):
        raise ValueError("duration must not be negative")
    remaining = duration
    for span_start, span_end in _without(calendar.working_spans(start), _merge(paused)):
        length = span_end - span_start
        if length >= remaining:
            return span_start + remaining
        remaining -= length
    raise AssertionError("working spans ended")  # pragma: no cover - spans are unbounded


def elapsed(
    start: datetime,
    end: datetime,
    calendar: BusinessCalendar,
    paused: Iterable[Interval] = (),
) -> timedelta:
    """Calendar time between `start` and `end`, excluding paused intervals."""
    _require_aware(end, "end")
    total = timedelta(0)
    if end <= start:
        return total
    for span_start, span_end in _without(calendar.working_spans(start), _merge(paused)):
        if span_start >= end:
            break
        total += min(span_end, end) - span_start
        if span_end >= end:  # read no day past `end`: the next working day may be in another year
            break
    return total


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got {value.isoformat()})")


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for begin, end in sorted(intervals):
        _require_aware(begin, "paused start")
        _require_aware(end, "paused end")
        if end <= begin:
            continue
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


def _without(spans: Iterator[Interval], holes: Sequence[Interval]) -> Iterator[Interval]:
    """Subtract sorted, merged `holes` from ordered `spans`."""
    index = 0
    for begin, end in spans:
        while index < len(holes) and holes[index][1] <= begin:
            index += 1
        cursor = begin
        probe = index
        while probe < len(holes) and holes[probe][0] < end:
            hole_start, hole_end = holes[probe]
            if hole_start > cursor:
                yield cursor, hole_start
            cursor = max(cursor, hole_end)
            probe += 1
        if cursor < end:
            yield cursor, end
