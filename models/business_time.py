"""Business time for SLA clocks: 7x24 and 5x8 calendars on the Chinese statutory calendar.

Pure functions, no I/O. A 5x8 clock runs only inside the working periods of working days, where
"working day" follows the State Council schedule, including make-up working days (调休) on
weekends. A year whose schedule the `holidays` library does not carry raises
`CalendarNotCoveredError` rather than guessing: a wrong SLA deadline is worse than none.
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


class CalendarNotCoveredError(ValueError):
    """The statutory calendar for a year is not known, so business time cannot be computed."""

    def __init__(self, year: int, first: int, last: int) -> None:
        super().__init__(
            f"the Chinese statutory calendar for {year} is not available (known: {first}-{last}); "
            "upgrade the 'holidays' package once the State Council publishes that year's schedule"
        )
        self.year = year


@lru_cache
def _published_years() -> tuple[int, int]:
    # Years with a State Council notice carry make-up days in the library's static table; later
    # years would be computed from festivals alone, without 调休, which is a guess.
    years = ChinaStaticHolidays.special_public_holidays.keys()
    return min(years), max(years)


@lru_cache(maxsize=64)
def _china(year: int) -> holidays.HolidayBase:
    return holidays.China(years=year)


def is_working_day(day: date) -> bool:
    """True on a Chinese statutory working day (make-up weekend days included)."""
    first, last = _published_years()
    if not first <= day.year <= last:
        raise CalendarNotCoveredError(day.year, first, last)
    return bool(_china(day.year).is_working_day(day))


def is_statutory_holiday(day: date) -> bool:
    """True on a statutory holiday or one of its rest days (Spring Festival, National Day …)."""
    return day in _china(day.year)


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

    def working_spans(self, start: datetime) -> Iterator[Interval]:
        """Yield the calendar's working intervals from `start` onwards, in order."""
        _require_aware(start, "start")
        if self.kind is CalendarKind.ALWAYS:
            yield start, datetime.max.replace(tzinfo=start.tzinfo)
            return
        local = start.astimezone(self.tz)
        day = local.date()
        for _ in range(_MAX_DAYS):
            if is_working_day(day):
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
