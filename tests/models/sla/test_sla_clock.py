"""Incident SLA clocks: who starts them, the right calendar per class, holidays and pauses."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from models.sla.business_time import BusinessCalendar, CalendarKind, StatutoryCalendar, YearSchedule
from models.sla.policies import DEFAULT_TARGETS, FaultClass, SlaMeasure
from models.sla.sla_clock import Verdict, clocks

SH = ZoneInfo("Asia/Shanghai")
CALENDARS = {kind: BusinessCalendar(kind, SH) for kind in CalendarKind}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def run(fault: FaultClass, reported: str, ack: str | None = None, on_site: str | None = None,
        resolved: str | None = None, now: str = "2026-10-20 00:00", pauses=()):
    states = clocks(targets=DEFAULT_TARGETS, fault_class=fault, reported_at=at(reported),
                    acknowledged_at=at(ack) if ack else None, on_site_at=at(on_site) if on_site else None,
                    resolved_at=at(resolved) if resolved else None, pauses=list(pauses), now=at(now),
                    calendars=CALENDARS)
    return {s.measure: s for s in states}


def test_response_runs_7x24_from_the_report() -> None:
    states = run(FaultClass.GENERAL, "2026-10-01 03:00", ack="2026-10-01 03:10")
    assert states[SlaMeasure.RESPONSE].due_at == at("2026-10-01 03:10")
    assert not states[SlaMeasure.RESPONSE].breached
    late = run(FaultClass.GENERAL, "2026-10-01 03:00", ack="2026-10-01 03:10:01")
    assert late[SlaMeasure.RESPONSE].breached


def test_on_site_and_resolution_wait_for_the_response() -> None:
    states = run(FaultClass.MAJOR, "2026-10-01 03:00", now="2026-10-01 09:00")
    assert states[SlaMeasure.ON_SITE].started_at is None and states[SlaMeasure.ON_SITE].due_at is None
    assert states[SlaMeasure.RESPONSE].breached  # six hours without a response


def test_general_on_site_5x8_across_national_day() -> None:
    # Acknowledged Wed 30 Sep 17:00: 1 h that day, 1-7 Oct off, due Thursday 8 Oct 10:00.
    states = run(FaultClass.GENERAL, "2026-09-30 16:55", ack="2026-09-30 17:00", on_site="2026-10-08 09:59",
                 now="2026-10-09 00:00")
    on_site = states[SlaMeasure.ON_SITE]
    assert on_site.due_at == at("2026-10-08 10:00") and not on_site.breached
    assert on_site.elapsed_minutes == 119
    # Resolution for a general fault runs 7x24: 24 h from the response.
    assert states[SlaMeasure.RESOLUTION].due_at == at("2026-10-01 17:00")


def test_major_on_site_runs_through_the_holiday() -> None:
    states = run(FaultClass.MAJOR, "2026-10-01 02:00", ack="2026-10-01 02:05")
    assert states[SlaMeasure.ON_SITE].due_at == at("2026-10-01 03:05")
    assert states[SlaMeasure.RESOLUTION].due_at == at("2026-10-01 06:05")


def test_paused_clock_excluded_and_deadline_moves() -> None:
    pause = [(at("2026-10-12 10:00"), at("2026-10-12 12:00"))]  # waiting on the customer
    states = run(FaultClass.MAJOR, "2026-10-12 09:00", ack="2026-10-12 09:05", resolved="2026-10-12 14:00",
                 pauses=pause)
    resolution = states[SlaMeasure.RESOLUTION]
    assert resolution.due_at == at("2026-10-12 15:05")  # 4 h + 2 h paused
    assert resolution.elapsed_minutes == 175 and not resolution.breached
    unpaused = run(FaultClass.MAJOR, "2026-10-12 09:00", ack="2026-10-12 09:05", resolved="2026-10-12 14:00")
    assert unpaused[SlaMeasure.RESOLUTION].elapsed_minutes == 295 and unpaused[SlaMeasure.RESOLUTION].breached


def test_a_year_nobody_entered_gives_a_provisional_clock_not_an_error() -> None:
    entered_2026 = StatutoryCalendar({2026: YearSchedule(2026, frozenset(), frozenset(), "entered")},
                                     use_library=False)
    calendars = {kind: BusinessCalendar(kind, SH, statutory=entered_2026) for kind in CalendarKind}
    states = {s.measure: s for s in clocks(
        targets=DEFAULT_TARGETS, fault_class=FaultClass.GENERAL, reported_at=at("2026-12-31 17:00"),
        acknowledged_at=at("2026-12-31 17:05"), on_site_at=None, resolved_at=None, pauses=[],
        now=at("2026-12-31 17:30"), calendars=calendars)}
    on_site = states[SlaMeasure.ON_SITE]
    assert on_site.due_at == at("2027-01-04 10:05") and on_site.provisional_years == (2027,)
    assert on_site.verdict is Verdict.RUNNING and on_site.elapsed_minutes == 25
    assert not states[SlaMeasure.RESPONSE].provisional  # 7x24 needs no statutory calendar


def test_one_verdict_lunch_break_arrival_is_met() -> None:
    # Acknowledged 10:00, due 12:00; on site 12:40 in the lunch break: 120 business minutes, met.
    states = run(FaultClass.GENERAL, "2026-11-24 09:55", ack="2026-11-24 10:00", on_site="2026-11-24 12:40")
    on_site = states[SlaMeasure.ON_SITE]
    assert on_site.due_at == at("2026-11-24 12:00") and on_site.elapsed_minutes == 120
    assert on_site.verdict is Verdict.MET and not on_site.breached
    late = run(FaultClass.GENERAL, "2026-11-24 09:55", ack="2026-11-24 10:00", on_site="2026-11-24 13:01")
    assert late[SlaMeasure.ON_SITE].verdict is Verdict.MISSED and late[SlaMeasure.ON_SITE].breached


def test_verdicts_running_missed_and_not_applicable() -> None:
    # Unresolved: within target it runs; past it, missed though never stopped.
    running = run(FaultClass.MAJOR, "2026-11-24 09:00", ack="2026-11-24 09:05", now="2026-11-24 10:00")
    assert running[SlaMeasure.RESOLUTION].verdict is Verdict.RUNNING
    late = run(FaultClass.MAJOR, "2026-11-24 09:00", ack="2026-11-24 09:05", now="2026-11-24 13:06")
    assert late[SlaMeasure.RESOLUTION].verdict is Verdict.MISSED and late[SlaMeasure.ON_SITE].breached
    # Resolved without a visit: no on-site measure, whatever the time.
    remote = run(FaultClass.MAJOR, "2026-11-24 09:00", ack="2026-11-24 09:05", resolved="2026-11-24 12:00")
    assert remote[SlaMeasure.ON_SITE].verdict is Verdict.NOT_APPLICABLE and not remote[SlaMeasure.ON_SITE].breached
    assert remote[SlaMeasure.RESOLUTION].verdict is Verdict.MET
    # Not acknowledged: on-site and resolution have not started.
    assert run(FaultClass.MAJOR, "2026-11-24 09:00", now="2026-11-24 09:05")[SlaMeasure.ON_SITE].verdict \
        is Verdict.NOT_STARTED
    # Transition phase: no SLA, nothing breached even hours late.
    states = clocks(targets=DEFAULT_TARGETS, fault_class=FaultClass.MAJOR, reported_at=at("2026-11-24 09:00"),
                    acknowledged_at=None, on_site_at=None, resolved_at=None, pauses=[],
                    now=at("2026-11-24 18:00"), calendars=CALENDARS, applicable=False)
    assert all(s.verdict is Verdict.NOT_APPLICABLE and not s.breached for s in states)
