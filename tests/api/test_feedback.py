"""Satisfaction scores, complaints and the risk register through the API."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models.contracts.tables import Contract
from models.core.audit import AuditEvent
from models.directory.people import Organisation, OrgKind
from models.directory.roles import RoleKey
from models.incidents.tables import Incident, IncidentStatus
from tests.support.tenants import person


def _customer_rep(session: Session) -> tuple[int, dict[str, str]]:
    """A contract and a representative of its customer (who sees only that contract's records)."""
    org = Organisation(name="电子政务办", kind=OrgKind.CUSTOMER)
    session.add(org)
    session.flush()
    contract = Contract(code="EGOV", name="ops", customer_id=org.id, starts_on=date(2026, 1, 1),
                        ends_on=date(2026, 12, 31))
    session.add(contract)
    session.commit()
    return contract.id, person(session, "customer", RoleKey.CUSTOMER_REP, org=org.id)[1]


def test_a_closed_incident_is_scored_once_by_the_customer(client: TestClient, session: Session, headers) -> None:
    contract_id, customer = _customer_rep(session)
    open_one = Incident(title="open", contract_id=contract_id)
    closed = Incident(title="closed", status=IncidentStatus.CLOSED, contract_id=contract_id)
    session.add_all([open_one, closed])
    session.commit()
    assert client.post(f"/incidents/{closed.id}/satisfaction", json={"score": 4},
                       headers=headers[RoleKey.ENGINEER]).status_code == 403
    assert client.post(f"/incidents/{open_one.id}/satisfaction", json={"score": 4}, headers=customer).status_code == 409
    bad = client.post(f"/incidents/{closed.id}/satisfaction", json={"score": 6}, headers=customer)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "score"
    assert client.post(f"/incidents/{closed.id}/satisfaction", json={"score": 4, "comment": "快"},
                       headers=customer).status_code == 201
    assert client.post(f"/incidents/{closed.id}/satisfaction", json={"score": 5}, headers=customer).status_code == 409
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "incident.rated")).one().after == {"score": 4}


def test_complaints_are_recorded_and_closed(client: TestClient, headers, session: Session) -> None:
    contract_id, customer = _customer_rep(session)
    created = client.post("/complaints", json={"subject": "slow callback", "contract_id": contract_id},
                          headers=customer)
    assert created.status_code == 201 and created.json()["status"] == "open"
    naive = client.post("/complaints", json={"subject": "x", "received_at": "2026-11-23T10:00:00"},
                        headers=headers[RoleKey.SERVICE_DESK])
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "received_at"
    unknown = client.post("/complaints", json={"subject": "x", "contract_id": 999},
                          headers=headers[RoleKey.SERVICE_DESK])
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "contract_id"
    closed = client.post(f"/complaints/{created.json()['id']}/close", headers=headers[RoleKey.PROJECT_MANAGER])
    assert closed.json()["status"] == "closed" and closed.json()["closed_at"] is not None
    assert len(client.get("/complaints", headers=headers[RoleKey.PROJECT_MANAGER]).json()) == 1


def test_risk_register_filters_by_status_and_records_mitigations(client: TestClient, headers) -> None:
    pm = headers[RoleKey.PROJECT_MANAGER]
    for title, owner in (("Single DB admin", "project_manager"), ("Ageing SAN", "engineer")):
        assert client.post("/risks", json={"title": title, "owner_role": owner, "mitigation_due": "2026-12-01"},
                           headers=pm).status_code == 201
    assert client.post("/risks", json={"title": "x", "owner_role": "engineer"},
                       headers=headers[RoleKey.ENGINEER]).status_code == 403
    san = next(r for r in client.get("/risks", headers=pm).json() if r["title"] == "Ageing SAN")
    patched = client.patch(f"/risks/{san['id']}", json={"status": "mitigating", "mitigation_done": True}, headers=pm)
    assert patched.status_code == 200 and patched.json()["mitigation_done_at"] is not None
    assert [r["title"] for r in client.get("/risks?status=mitigating", headers=pm).json()] == ["Ageing SAN"]
    assert [r["title"] for r in client.get("/risks?status=open", headers=pm).json()] == ["Single DB admin"]
