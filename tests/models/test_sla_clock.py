"""Incident SLA clocks: who starts them, the right calendar per class, holidays and pauses."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from models.business_time import BusinessCalendar, CalendarKind
from models.sla import DEFAULT_TARGETS, FaultClass, SlaMeasure
from models.sla_clock import clocks

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


def test_uncovered_year_reported_not_raised() -> None:
    states = run(FaultClass.GENERAL, "2027-01-05 09:00", ack="2027-01-05 09:05", now="2027-01-05 10:00")
    assert states[SlaMeasure.ON_SITE].error and "2027" in states[SlaMeasure.ON_SITE].error
    assert states[SlaMeasure.RESOLUTION].due_at == at("2027-01-05 09:05") + timedelta(hours=24)
