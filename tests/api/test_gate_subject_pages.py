"""The gate page carries its subject: an incident gate shows the incident (symptom, CI with address, reporter,
clocks with countdowns, ticket link); a review gate opens its report in the same signed-in session (the page's
cookie, no bearer token) as a sandboxed document; people without a reading role get a clear refusal."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlmodel import Session

from itss.demo import load_demo
from models.directory.roles import RoleKey
from models.directory.service import create_person, issue_token
from models.gates.service import open_gate
from models.gates.tables import GateSpec
from models.review.tables import QuarterlyReview


def _signed_in(client: TestClient, session: Session, name: str, role: RoleKey) -> None:
    person = create_person(session, name=name, roles=[role], actor="test")
    _, secret = issue_token(session, person_id=person.id, actor="test")
    session.commit()
    assert client.post("/ui/login", data={"token": secret}, follow_redirects=False).status_code == 303


def test_pm_opens_the_report_from_the_review_gate(client: TestClient, session: Session) -> None:
    contract_id = load_demo(session).contract_id
    review = QuarterlyReview(contract_id=contract_id, year=2026, quarter=3,
                             html="<html><body><h1>EGOV-2026 2026 Q3 交付清单</h1></body></html>")
    session.add(review)
    session.commit()
    gate, _ = open_gate(session, flow_run_id=str(uuid.uuid4()), actor="test", spec=GateSpec(
        key="pm-review", subject="PM review: EGOV-2026 2026 Q3", eligible_roles=[RoleKey.PROJECT_MANAGER],
        record_type="quarterly_review", record_id=str(review.id), contract_id=contract_id))
    session.commit()
    _signed_in(client, session, "pm.chen", RoleKey.PROJECT_MANAGER)
    page = client.get(f"/ui/gates/{gate.id}")
    assert f'href="/ui/reviews/{review.id}/report"' in page.text
    report = client.get(f"/ui/reviews/{review.id}/report")
    assert report.status_code == 200 and "EGOV-2026 2026 Q3" in report.text
    assert report.headers["content-security-policy"].startswith("sandbox")
    client.cookies.clear()
    _signed_in(client, session, "engineer.li", RoleKey.ENGINEER)
    refused = client.get(f"/ui/reviews/{review.id}/report")
    assert refused.status_code == 403 and "project_manager" in refused.text


def test_acknowledge_gate_page_carries_the_incident(client: TestClient, session: Session) -> None:
    from sqlmodel import select

    from models.cmdb.tables import ConfigurationItem
    from models.incidents.tables import Incident, IncidentCI

    contract_id = load_demo(session).contract_id
    ci = session.exec(select(ConfigurationItem).where(ConfigurationItem.name == "app-srv-01")).one()
    incident = Incident(title="政务门户无法访问", symptom="门户首页返回 502", contact="刘洋", phone="0571-8888-1234",
                        contract_id=contract_id)
    session.add(incident)
    session.flush()
    session.add(IncidentCI(incident_id=incident.id, ci_id=ci.id))
    gate, _ = open_gate(session, flow_run_id=str(uuid.uuid4()), actor="test", spec=GateSpec(
        key="acknowledge", subject="Acknowledge: 政务门户无法访问", eligible_roles=[RoleKey.ENGINEER],
        options=["acknowledge", "decline"], veto_options=[], record_type="incident", record_id=str(incident.id)))
    session.commit()
    _signed_in(client, session, "li.qiang", RoleKey.ENGINEER)
    listed = client.get("/ui").text
    assert f'href="/ui/gates/{gate.id}"' in listed and 'class="countdown"' in listed  # time left in the list
    page = client.get(f"/ui/gates/{gate.id}").text
    for text in ("门户首页返回 502", "app-srv-01", ci.ip, "机房 6F", "刘洋", "0571-8888-1234", 'id="reported"',
                 '<time class="countdown" datetime="', f'href="/ui/incidents/{incident.id}"'):
        assert text in page, text
    assert 'class="decline destructive" data-confirm=' in page and 'class="acknowledge primary-choice"' in page
    assert client.get(f"/ui/incidents/{incident.id}").status_code == 200
