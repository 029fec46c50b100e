"""The sweeper tells the admins and the service level manager, once, of a statutory year nobody entered:
the current year at once, next year from 1 November (Asia/Shanghai) on. The clock is set, not read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from config.settings import get_settings
from models.core.audit import AuditEvent
from models.directory.roles import RoleKey
from models.directory.service import create_person
from models.outbox.tables import Notification
from models.sla.statutory import DayKind, DayRow, set_year
from tasks.sweeper import tell_missing_calendar_years

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def on_duty(session: Session, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """An admin, a service level manager and an engineer; only entered years count."""
    monkeypatch.setattr(get_settings(), "statutory_calendar_from_library", False)
    ids = {}
    for name, role in (("admin", RoleKey.ADMIN), ("slm", RoleKey.SERVICE_LEVEL_MANAGER),
                       ("engineer", RoleKey.ENGINEER)):
        ids[name] = create_person(session, name=f"{name}-on-duty", roles=[role], actor="test",
                                  notify_urls=["json://127.0.0.1:9/"]).id
    session.commit()
    return ids


def enter(session: Session, year: int) -> None:
    set_year(session, year, [DayRow(day=datetime(year, 10, 1).date(), kind=DayKind.HOLIDAY, name="国庆节")],
             source="entered", actor="person:1")
    session.commit()


def test_next_year_is_asked_for_from_1_november_shanghai_and_only_once(
        session: Session, on_duty: dict[str, int], frozen_clock: Callable[..., datetime]) -> None:
    enter(session, 2030)
    frozen_clock(datetime(2030, 10, 31, 23, 59, tzinfo=SH))  # 15:59 UTC: still October in Shanghai
    assert tell_missing_calendar_years(session) == []
    frozen_clock(datetime(2030, 11, 1, 0, 1, tzinfo=SH))  # 31 October 16:01 UTC: November in Shanghai
    assert tell_missing_calendar_years(session) == [2031]
    session.commit()

    rows = session.exec(select(Notification).where(Notification.event == "calendar.missing")).all()
    assert sorted((r.recipient, r.role) for r in rows) == [
        (f"person:{on_duty['admin']}", "admin"), (f"person:{on_duty['slm']}", "service_level_manager")]
    for row in rows:  # what the person reads: which year, that clocks are provisional, how to fix it
        assert row.title == "Statutory calendar 2031 missing: SLA due times are provisional"
        assert "Nobody has entered the 2031 holidays" in row.body
        assert "POST /calendar/years/2031/import (YAML)" in row.body
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "calendar.missing")).one()
    assert (audit.actor, audit.record_type, audit.record_id) == ("system:sla", "statutory_year", "2031")

    assert tell_missing_calendar_years(session) == []  # every sweep runs this: told once
    frozen_clock(datetime(2030, 12, 31, 23, 0, tzinfo=SH))
    assert tell_missing_calendar_years(session) == []
    assert len(session.exec(select(Notification).where(Notification.event == "calendar.missing")).all()) == 2


def test_the_current_year_is_asked_for_at_once_and_an_entered_year_never(
        session: Session, on_duty: dict[str, int], frozen_clock: Callable[..., datetime]) -> None:
    frozen_clock(datetime(2031, 3, 2, 9, 0, tzinfo=SH))
    assert tell_missing_calendar_years(session) == [2031]
    enter(session, 2032)
    frozen_clock(datetime(2031, 11, 2, 9, 0, tzinfo=SH))
    assert tell_missing_calendar_years(session) == []  # 2031 told already; 2032 entered


def test_an_open_clock_on_a_year_nobody_entered_is_told_and_a_closed_one_is_not(
        session: Session, on_duty: dict[str, int], frozen_clock: Callable[..., datetime]) -> None:
    """Mid-2031 with 2031 entered, only the open incidents' clocks can ask for an older year."""
    from models.incidents.importer import import_rows
    from models.incidents.tables import Incident

    enter(session, 2031)
    frozen_clock(datetime(2031, 6, 2, 9, 0, tzinfo=SH))
    still_open, closed = import_rows(session, [
        {"title": "VPN flaps", "reported_at": "2030-12-31T17:00:00+08:00",
         "acknowledged_at": "2030-12-31T17:05:00+08:00"},
        {"title": "old printer", "reported_at": "2029-12-31T17:00:00+08:00",
         "acknowledged_at": "2029-12-31T17:05:00+08:00", "on_site_at": "2030-01-02T10:00:00+08:00",
         "resolved_at": "2030-01-02T11:00:00+08:00", "closed_at": "2030-01-02T12:00:00+08:00"},
    ], actor="test")
    session.commit()
    assert session.get(Incident, still_open).sla_provisional and session.get(Incident, closed).sla_provisional
    assert tell_missing_calendar_years(session) == [2030]  # not 2029: that incident is closed
    session.commit()
    assert tell_missing_calendar_years(session) == []
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "calendar.missing")).one()
    assert audit.detail == "clocks run on a provisional calendar until the year is entered"
    keys = sorted(n.dedupe_key for n in session.exec(select(Notification)).all())
    assert keys == [f"calendar:missing:2030:person:{on_duty['admin']}",
                    f"calendar:missing:2030:person:{on_duty['slm']}"]
