"""Every field of each SLA clock, exactly: not started, running, and on a year the calendar does not
cover (the year after the last published one, read from the library, so no date is assumed)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from models.sla.business_time import BusinessCalendar, CalendarKind, _published_years
from models.sla.policies import DEFAULT_TARGETS, FaultClass, SlaMeasure
from models.sla.sla_clock import ClockState, Verdict, clocks, verdict

SH = ZoneInfo("Asia/Shanghai")
CALENDARS = {kind: BusinessCalendar(kind, SH) for kind in CalendarKind}


def states(reported: datetime, ack: datetime | None, now: datetime) -> dict[SlaMeasure, ClockState]:
    found = clocks(targets=DEFAULT_TARGETS, fault_class=FaultClass.GENERAL, reported_at=reported,
                   acknowledged_at=ack, on_site_at=None, resolved_at=None, pauses=[], now=now, calendars=CALENDARS)
    return {s.measure: s for s in found}


def target(measure: SlaMeasure) -> tuple[int, CalendarKind]:
    return DEFAULT_TARGETS[(FaultClass.GENERAL, measure)]


def test_clocks_not_started_yet_have_their_target_and_nothing_else() -> None:
    reported = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
    found = states(reported, None, reported + timedelta(minutes=7))
    minutes, kind = target(SlaMeasure.ON_SITE)
    assert found[SlaMeasure.ON_SITE] == ClockState(SlaMeasure.ON_SITE, minutes, kind, None, None, None, 0.0, False)
    response = found[SlaMeasure.RESPONSE]
    assert response.elapsed_minutes == 7.0 and response.target_minutes == target(SlaMeasure.RESPONSE)[0]
    assert response.used == 7.0 / response.target_minutes and response.running and not response.breached


def test_elapsed_minutes_keep_three_decimals() -> None:
    reported = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
    found = states(reported, None, reported + timedelta(minutes=1, seconds=1))
    assert found[SlaMeasure.RESPONSE].elapsed_minutes == 1.017


def test_a_year_the_calendar_does_not_cover_runs_provisionally_and_says_so() -> None:
    year = _published_years()[1] + 1
    reported = datetime(year, 3, 2, 9, 0, tzinfo=SH)
    ack = reported + timedelta(minutes=5)
    found = states(reported, ack, ack + timedelta(hours=1))
    five_by_eight = [m for m in SlaMeasure if target(m)[1] is CalendarKind.BUSINESS]
    assert five_by_eight, "the default targets have a 5x8 measure"
    for measure in five_by_eight:
        state = found[measure]
        assert state.due_at is not None, "a clock never goes silent for want of a calendar"
        assert state.provisional_years == (year,)
        assert state.elapsed_minutes > 0 and state.running




def test_a_stopped_clock_keeps_its_calendar_its_stop_and_zero_minutes_when_stopped_at_once() -> None:
    reported = datetime(2026, 11, 23, 10, 0, tzinfo=SH)  # a Monday morning
    on_site = reported + timedelta(minutes=30)
    found = {s.measure: s for s in clocks(
        targets=DEFAULT_TARGETS, fault_class=FaultClass.GENERAL, reported_at=reported, acknowledged_at=reported,
        on_site_at=on_site, resolved_at=None, pauses=[], now=reported + timedelta(hours=2), calendars=CALENDARS)}
    response = found[SlaMeasure.RESPONSE]  # acknowledged the instant it was reported
    assert (response.calendar, response.started_at, response.stopped_at, response.elapsed_minutes,
            response.verdict) == (CalendarKind.ALWAYS, reported, reported, 0.0, Verdict.MET)
    visit = found[SlaMeasure.ON_SITE]
    assert (visit.calendar, visit.started_at, visit.stopped_at, visit.elapsed_minutes, visit.verdict) == (
        CalendarKind.BUSINESS, reported, on_site, 30.0, Verdict.MET)


def test_resolved_without_a_visit_the_on_site_clock_is_not_applicable_and_counts_no_time() -> None:
    reported = datetime(2026, 11, 23, 10, 0, tzinfo=SH)
    ack = reported + timedelta(minutes=5)
    found = {s.measure: s for s in clocks(
        targets=DEFAULT_TARGETS, fault_class=FaultClass.GENERAL, reported_at=reported, acknowledged_at=ack,
        on_site_at=None, resolved_at=ack + timedelta(hours=1), pauses=[], now=ack + timedelta(hours=9),
        calendars=CALENDARS)}
    visit = found[SlaMeasure.ON_SITE]
    assert visit.verdict is Verdict.NOT_APPLICABLE and visit.elapsed_minutes == 0.0 and not visit.breached
    assert found[SlaMeasure.RESOLUTION].verdict is Verdict.MET


def test_the_verdict_rule_applies_unless_told_otherwise() -> None:
    assert verdict(started=True, stopped=True, elapsed_minutes=10, target_minutes=10) is Verdict.MET  # at the target
    assert verdict(started=True, stopped=False, elapsed_minutes=10.001, target_minutes=10) is Verdict.MISSED
