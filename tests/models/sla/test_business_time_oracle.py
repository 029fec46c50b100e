"""Business time against a minute-by-minute count: for random pause sets (overlapping, touching, nested,
empty and reversed ones), `elapsed` and `deadline` agree with counting the working, unpaused minutes.

Seeded, so every run checks the same 160 cases; instants are explicit (23-27 Nov 2026, Mon-Fri)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.sla.business_time import BusinessCalendar, CalendarKind, deadline, elapsed

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 7, 0, tzinfo=SH)  # Monday 07:00, before the office opens
MINUTES = 3 * 24 * 60
CALENDARS = [BusinessCalendar(CalendarKind.ALWAYS), BusinessCalendar(CalendarKind.BUSINESS)]


def working(calendar: BusinessCalendar, minute: int) -> bool:
    instant = T0 + timedelta(minutes=minute)
    if calendar.kind is CalendarKind.ALWAYS:
        return True
    local = instant.astimezone(calendar.tz)
    return calendar.statutory.is_working_day(local.date()) and any(
        begin <= local.time() < end for begin, end in calendar.periods)


# Which minutes of the window are working ones, counted once per calendar: the mutation run (.ci/mutation.sh)
# forks every mutant from a process that already ran this test, so each mutant reuses the count made
# with the unmutated code, and checks only `elapsed` and `deadline` against it.
_WORKING: dict[CalendarKind, list[bool]] = {}


def counted(calendar: BusinessCalendar, pauses: list[tuple[int, int]]) -> list[bool]:
    """For each minute of the window: does it count (working, and in no pause)?"""
    if calendar.kind not in _WORKING:
        _WORKING[calendar.kind] = [working(calendar, m) for m in range(MINUTES)]
    paused = [False] * MINUTES
    for begin, end in pauses:
        for minute in range(max(begin, 0), min(end, MINUTES)):
            paused[minute] = True
    return [w and not p for w, p in zip(_WORKING[calendar.kind], paused, strict=True)]


def case(rng: random.Random) -> tuple[int, int, list[tuple[int, int]]]:
    start = rng.randrange(0, MINUTES // 2)
    end = rng.randrange(start, MINUTES)
    pauses = []
    for _ in range(rng.randrange(0, 6)):
        begin = rng.randrange(0, MINUTES)
        pauses.append((begin, begin + rng.choice([-30, 0, 1, 15, 90, 240, 600])))  # reversed and empty too
    if pauses and rng.random() < 0.5:  # one touching the previous one end to start
        b, e = pauses[-1]
        pauses.append((max(b, e), max(b, e) + 45))
    return start, end, pauses


def instants(pauses: list[tuple[int, int]]) -> list[tuple[datetime, datetime]]:
    return [(T0 + timedelta(minutes=b), T0 + timedelta(minutes=e)) for b, e in pauses]


@pytest.mark.parametrize("calendar", CALENDARS, ids=lambda c: c.kind.value)
def test_elapsed_and_deadline_agree_with_counting_minutes(calendar: BusinessCalendar) -> None:
    rng = random.Random(20261123)
    for _ in range(80):
        start, end, pauses = case(rng)
        minutes = counted(calendar, pauses)
        expected = sum(minutes[start:end])
        got = elapsed(T0 + timedelta(minutes=start), T0 + timedelta(minutes=end), calendar, instants(pauses))
        assert got == timedelta(minutes=expected), (start, end, pauses)
        if expected > 0:
            # The deadline of exactly that much time is the end of the last counted minute before `end`.
            last = max(m for m in range(start, end) if minutes[m])
            due = deadline(T0 + timedelta(minutes=start), timedelta(minutes=expected), calendar, instants(pauses))
            assert due == T0 + timedelta(minutes=last + 1), (start, end, pauses)
