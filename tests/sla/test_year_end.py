"""Year end: clocks on 2026-12-31 never go silent for want of the 2027 calendar, people are told, and entering
2027 through the API recomputes the open clocks. Explicit times and calendar rows only: nothing here depends on
today's date or on which years the `holidays` library covers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from config.settings import get_settings
from models.core.audit import AuditEvent
from models.directory.roles import RoleKey
from models.directory.service import create_person
from models.incidents.importer import import_rows
from models.incidents.tables import Incident, IncidentEvent
from models.outbox.tables import Notification
from tasks.sweeper import tell_missing_calendar_years

SH = ZoneInfo("Asia/Shanghai")
CALENDARS = Path(__file__).parent / "calendars"
NOW = datetime(2026, 12, 31, 17, 30, tzinfo=SH)


@pytest.fixture
def entered_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only entered years count: the library's coverage cannot change what these tests see."""
    monkeypatch.setattr(get_settings(), "statutory_calendar_from_library", False)


def import_year(client: TestClient, headers: dict[str, str], year: int, name: str) -> dict:
    response = client.post(f"/calendar/years/{year}/import", content=(CALENDARS / name).read_text(),
                           headers={**headers, "Content-Type": "application/yaml"})
    assert response.status_code == 200, response.text
    return response.json()


def test_year_end_clocks_provisional_then_recomputed(entered_only: None, client: TestClient, session: Session,
                                                     make_person: Callable[..., dict[str, str]],
                                                     frozen_clock: Callable[[datetime], datetime]) -> None:
    # The API reads the clock at 31 December 17:30: read on a later day, the open clock's elapsed time
    # would also reach into that day's year (2028 seen under faketime at 2027-12-31 23:50).
    frozen_clock(NOW)
    slm = make_person("slm", RoleKey.SERVICE_LEVEL_MANAGER)
    for name, role in (("admin-on-duty", RoleKey.ADMIN), ("slm-on-duty", RoleKey.SERVICE_LEVEL_MANAGER)):
        create_person(session, name=name, roles=[role], actor="test", notify_urls=["json://127.0.0.1:9/"])
    session.commit()
    assert import_year(client, slm, 2026, "2026.yaml")["source"] == "entered"
    assert client.get("/calendar/years/2027", headers=slm).json()["provisional"] is True

    rows = [
        # General fault (the default): acknowledged 10:00, engineer on site 14:00 against 12:00.
        {"title": "printer queue stuck", "reported_at": "2026-12-31T09:58:00+08:00",
         "acknowledged_at": "2026-12-31T10:00:00+08:00", "on_site_at": "2026-12-31T14:00:00+08:00"},
        # Acknowledged 17:05: 55 min left on 31 December, the rest falls in 2027, which nobody entered.
        {"title": "VPN flaps", "reported_at": "2026-12-31T17:00:00+08:00",
         "acknowledged_at": "2026-12-31T17:05:00+08:00"},
    ]
    early, late = import_rows(session, rows, actor="test", now=NOW)
    session.commit()

    first = client.get(f"/incidents/{early}", headers=slm).json()
    on_site = next(c for c in first["clocks"] if c["measure"] == "on_site")
    assert datetime.fromisoformat(on_site["due_at"]) == datetime(2026, 12, 31, 12, 0, tzinfo=SH)
    assert first["incident"]["on_site_due"] is not None and "on_site" in first["incident"]["breaches"]
    assert on_site["verdict"] == "missed" and on_site["elapsed_minutes"] == 180 and not on_site["provisional"]

    second = client.get(f"/incidents/{late}", headers=slm).json()
    on_site = next(c for c in second["clocks"] if c["measure"] == "on_site")
    # 55 min on Thursday 31 Dec; provisional 2027: 1 Jan rests, weekend, 65 min on Monday 4 Jan.
    assert datetime.fromisoformat(on_site["due_at"]) == datetime(2027, 1, 4, 10, 5, tzinfo=SH)
    assert on_site["provisional"] and on_site["provisional_years"] == [2027] and on_site["error"] is None
    assert second["incident"]["sla_provisional"] is True
    line = session.exec(select(IncidentEvent).where(IncidentEvent.incident_id == late,
                                                    IncidentEvent.kind == "sla_provisional")).one()
    assert "2027" in line.detail

    # The sweeper tells the admins and the service level manager once for 2027, and audits it.
    assert 2027 in tell_missing_calendar_years(session)
    session.commit()
    assert tell_missing_calendar_years(session) == []
    told = session.exec(select(Notification).where(Notification.event == "calendar.missing")).all()
    assert {n.role for n in told} == {"admin", "service_level_manager"} and "2027" in told[0].title
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "calendar.missing",
                                                 AuditEvent.record_id == "2027")).one()

    # The service level manager enters 2027 (1-4 January rest): the open clock is recomputed.
    entered = import_year(client, slm, 2027, "2027-test.yaml")
    assert entered["provisional"] is False and late in entered["recomputed_incidents"]
    session.expire_all()
    recomputed = session.get(Incident, late)
    assert recomputed.on_site_due == datetime(2027, 1, 5, 10, 5, tzinfo=SH)
    assert recomputed.sla_provisional is False
    on_site = next(c for c in client.get(f"/incidents/{late}", headers=slm).json()["clocks"]
                   if c["measure"] == "on_site")
    assert not on_site["provisional"]
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "calendar.entered",
                                                 AuditEvent.record_id == "2027")).one().actor.startswith("person:")


def test_calendar_edits_need_the_service_level_manager_and_valid_yaml(
        entered_only: None, client: TestClient, make_person: Callable[..., dict[str, str]]) -> None:
    desk = make_person("desk", RoleKey.SERVICE_DESK)
    slm = make_person("slm", RoleKey.SERVICE_LEVEL_MANAGER)
    text = (CALENDARS / "2027-test.yaml").read_text()
    refused = client.post("/calendar/years/2027/import", content=text,
                          headers={**desk, "Content-Type": "application/yaml"})
    assert refused.status_code == 403
    weekday_workday = text.replace("2027-02-06", "2027-02-08")  # a Monday cannot be a make-up day
    bad = client.post("/calendar/years/2027/import", content=weekday_workday,
                      headers={**slm, "Content-Type": "application/yaml"})
    assert bad.status_code == 422 and "workdays[0]" in bad.text and "weekend" in bad.text
    wrong_year = client.post("/calendar/years/2028/import", content=text,
                             headers={**slm, "Content-Type": "application/yaml"})
    assert wrong_year.status_code == 422 and "2027" in wrong_year.text
    assert client.get("/calendar/years/2027", headers=slm).json()["provisional"] is True  # nothing half-written
    # Day by day: 2027 entered, then 8 February set as a holiday.
    import_year(client, slm, 2027, "2027-test.yaml")
    edited = client.put("/calendar/days/2027-02-08", json={"kind": "holiday", "name": "test"}, headers=slm)
    assert edited.status_code == 200 and {"day": "2027-02-08", "kind": "holiday", "name": "test"} in \
        edited.json()["days"]
    assert client.delete("/calendar/days/2027-02-08", headers=slm).status_code == 200
