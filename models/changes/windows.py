"""When a change may run: its requested window ∩ the change windows, minus freezes and statutory holidays.

Pure functions over plain values; the flow asks `next_slot` and, when the slot opens later, schedules
a flow run for its start instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Interval = tuple[datetime, datetime]
HORIZON = timedelta(days=60)  # how far ahead a change without a requested window looks for a slot


@dataclass(frozen=True)
class WindowRule:
    """A recurring window: on `weekdays` (ISO) from `start` to `end` local time (end ≤ start: next day)."""

    weekdays: frozenset[int]
    start: time
    end: time
    zone: ZoneInfo

    def occurrences(self, since: datetime, until: datetime) -> Iterable[Interval]:
        """Each opening of the window that overlaps [since, until)."""
        day = since.astimezone(self.zone).date() - timedelta(days=1)  # yesterday's may run past midnight
        last = until.astimezone(self.zone).date()
        while day <= last:
            if day.isoweekday() in self.weekdays:
                opens = datetime.combine(day, self.start, self.zone)
                closes = datetime.combine(day + timedelta(days=1 if self.end <= self.start else 0), self.end,
                                          self.zone)
                if closes > since and opens < until:
                    yield opens, closes
            day += timedelta(days=1)


def parse_hhmm(text: str) -> time:
    """'22:00' → time(22, 0)."""
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _subtract(spans: list[Interval], holes: list[Interval]) -> list[Interval]:
    result = []
    for start, end in spans:
        pieces = [(start, end)]
        for hole_start, hole_end in holes:
            next_pieces = []
            for a, b in pieces:
                if hole_end <= a or hole_start >= b:
                    next_pieces.append((a, b))
                    continue
                if a < hole_start:
                    next_pieces.append((a, hole_start))
                if hole_end < b:
                    next_pieces.append((hole_end, b))
            pieces = next_pieces
        result += pieces
    return result


def holiday_freezes(since: datetime, until: datetime, zone: ZoneInfo,
                    is_holiday: Callable[[date], bool]) -> list[Interval]:
    """Every statutory holiday between `since` and `until` as a whole local day."""
    day, last = since.astimezone(zone).date(), until.astimezone(zone).date()
    found = []
    while day <= last:
        if is_holiday(day):
            found.append((datetime.combine(day, time(0), zone), datetime.combine(day + timedelta(days=1), time(0),
                                                                                  zone)))
        day += timedelta(days=1)
    return found


def open_spans(now: datetime, *, requested: Interval | None, windows: list[WindowRule], freezes: list[Interval],
               zone: ZoneInfo, is_holiday: Callable[[date], bool] | None) -> list[Interval]:
    """Every interval from `now` in which the change may run, in time order."""
    since = max(now, requested[0]) if requested else now
    until = requested[1] if requested else now + HORIZON
    if since >= until:
        return []
    if windows:
        spans = sorted((max(a, since), min(b, until)) for rule in windows for a, b in rule.occurrences(since, until))
    else:
        spans = [(since, until)]
    holes = list(freezes)
    if is_holiday is not None:
        holes += holiday_freezes(since, until, zone, is_holiday)
    merged: list[Interval] = []
    for start, end in _subtract(spans, holes):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def next_slot(now: datetime, *, minutes: int, requested: Interval | None, windows: list[WindowRule],
              freezes: list[Interval], zone: ZoneInfo, is_holiday: Callable[[date], bool] | None) -> Interval | None:
    """The first open interval long enough for `minutes` of work, or None when there is none."""
    need = timedelta(minutes=minutes)
    for start, end in open_spans(now, requested=requested, windows=windows, freezes=freezes, zone=zone,
                                 is_holiday=is_holiday):
        if end - start >= need:
            return start, end
    return None
