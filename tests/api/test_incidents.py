"""Desk intake, re-grading as facts change, clock pauses, the 80 % warning, breaches, recurrence."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models.core.clock import utcnow
from models.directory.roles import RoleKey
from models.incidents.clocks import sweep_clocks
from models.incidents.tables import Incident, IncidentEvent
from models.problems.service import check_recurrence
from models.problems.tables import Problem
from models.sla.policies import SlaMeasure

pytestmark = pytest.mark.usefixtures("prefect_harness")


def report(client: TestClient, headers, **extra) -> dict:
    body = {"title": "OA 系统无法登录", "symptom": "login page times out", "reporting_org": "办公室",
            "contact": "张三", "phone": "010-1234", **extra}
    response = client.post("/incidents", json=body, headers=headers[RoleKey.SERVICE_DESK])
    assert response.status_code == 201, response.text
    return response.json()


def kinds(session: Session, incident_id: int) -> list[str]:
    return list(session.exec(select(IncidentEvent.kind).where(IncidentEvent.incident_id == incident_id)
                             .order_by(IncidentEvent.id)))


def test_desk_report_is_graded_with_deadlines(client: TestClient, headers) -> None:
    body = report(client, headers, core_unavailable_pct=30, expected_recovery_hours=14)
    assert body["incident"]["level"] == "II" and body["incident"]["fault_class"] == "major"
    response = next(c for c in body["clocks"] if c["measure"] == "response")
    assert response["running"] and response["target_minutes"] == 10 and response["due_at"]


def test_regrade_goes_on_the_timeline(client: TestClient, headers, session: Session) -> None:
    incident = report(client, headers)["incident"]
    assert incident["level"] == "ordinary" and incident["fault_class"] == "general"
    changed = client.patch(f"/incidents/{incident['id']}/impact", headers=headers[RoleKey.ENGINEER],
                           json={"core_unavailable_pct": 65, "expected_recovery_hours": 16, "reason": "DB cluster down"})
    assert changed.json()["incident"]["level"] == "I"
    event = session.exec(select(IncidentEvent).where(IncidentEvent.kind == "regraded")).one()
    assert "ordinary → I" in event.detail and "DB cluster down" in event.detail and event.actor.startswith("person:")
    bad = client.patch(f"/incidents/{incident['id']}/impact", headers=headers[RoleKey.ENGINEER],
                       json={"core_unavailable_pct": -1})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "core_unavailable_pct"


def test_unknown_ci_in_desk_report_is_422(client: TestClient, headers, session: Session) -> None:
    response = client.post("/incidents", json={"title": "x", "ci_ids": [404]}, headers=headers[RoleKey.SERVICE_DESK])
    assert response.status_code == 422 and "ci_ids" in response.text
    assert session.exec(select(Incident)).all() == []


def test_pause_excludes_waiting_on_customer(client: TestClient, headers, session: Session) -> None:
    incident_id = report(client, headers)["incident"]["id"]
    eng = headers[RoleKey.ENGINEER]
    assert client.post(f"/incidents/{incident_id}/pause", json={"reason": "awaiting VPN credentials"},
                       headers=eng).json()["paused"]
    assert client.post(f"/incidents/{incident_id}/pause", json={"reason": "again"}, headers=eng).status_code == 409
    resumed = client.post(f"/incidents/{incident_id}/resume-clock", headers=eng).json()
    assert not resumed["paused"]
    assert kinds(session, incident_id)[-2:] == ["paused", "clock_resumed"]
    assert client.post(f"/incidents/{incident_id}/resume-clock", headers=eng).status_code == 409


def test_sweeper_warns_at_80_percent_then_records_breach(client: TestClient, headers, session: Session) -> None:
    incident_id = report(client, headers)["incident"]["id"]
    incident = session.get(Incident, incident_id)
    reported = incident.reported_at
    warned, breached = sweep_clocks(session, now=reported + timedelta(minutes=8, seconds=30))
    assert warned == [(incident_id, SlaMeasure.RESPONSE.value)] and breached == []
    assert sweep_clocks(session, now=reported + timedelta(minutes=9))[0] == []  # warned once
    warned, breached = sweep_clocks(session, now=reported + timedelta(minutes=11))
    assert breached == [(incident_id, "response")]
    session.commit()
    assert kinds(session, incident_id)[-2:] == ["sla_warning", "breach"]
    assert session.get(Incident, incident_id).breaches == ["response"]


def test_same_ci_and_symptom_recurring_opens_a_problem(client: TestClient, headers, session: Session) -> None:
    ci = client.post("/cis", json={"name": "oa-srv-01", "ci_type": "server"}, headers=headers[RoleKey.ENGINEER])
    first = report(client, headers, ci_ids=[ci.json()["id"]], symptom="Login page times out after 30 s")
    second = report(client, headers, ci_ids=[ci.json()["id"]], symptom="login page times out after 45 s")
    assert check_recurrence(session, session.get(Incident, first["incident"]["id"])) == []  # nothing before it
    problems = check_recurrence(session, session.get(Incident, second["incident"]["id"]))
    session.commit()
    assert len(problems) == 1
    problem = session.exec(select(Problem)).one()
    assert problem.incident_ids == sorted([first["incident"]["id"], second["incident"]["id"]])
    assert problem.created_at <= utcnow()
