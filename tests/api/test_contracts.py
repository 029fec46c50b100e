"""Contracts (phases, scope, team), the service catalogue and SLA policy sets."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from models.contracts.tables import Contract
from models.directory.roles import RoleKey


def _customer(client: TestClient, headers) -> int:
    return client.post("/organisations", json={"name": "电子政务办", "kind": "customer"},
                       headers=headers[RoleKey.ADMIN]).json()["id"]


def test_contract_gets_default_phases_and_sla_set(client: TestClient, headers) -> None:
    pm = headers[RoleKey.PROJECT_MANAGER]
    client.post("/services", json={"code": "INSPECT", "name": "巡检"}, headers=pm)
    ci = client.post("/cis", json={"name": "db-srv-01", "ci_type": "server"}, headers=pm).json()
    response = client.post("/contracts", headers=pm, json={
        "code": "EGOV-2026", "name": "运维服务", "customer_id": _customer(client, headers),
        "starts_on": "2026-01-01", "ends_on": "2026-12-31", "service_codes": ["INSPECT"], "ci_ids": [ci["id"]],
    })
    assert response.status_code == 201, response.text
    body = response.json()
    assert [(p["phase"], p["starts_on"], p["ends_on"]) for p in body["phases"]] == [
        ("start", "2026-01-01", "2026-01-14"),
        ("transition", "2026-01-15", "2026-01-28"),
        ("normal", "2026-01-29", "2026-12-17"),
        ("closing", "2026-12-18", "2026-12-31"),
    ]
    assert body["service_codes"] == ["INSPECT"] and body["ci_ids"] == [ci["id"]]
    policy_set = client.get(f"/sla/policy-sets/{body['sla_policy_set_id']}", headers=pm).json()
    targets = {(p["fault_class"], p["measure"]): (p["target_minutes"], p["calendar"]) for p in policy_set["policies"]}
    assert targets[("major", "on_site")] == (60, "7x24")
    assert targets[("general", "on_site")] == (120, "5x8")
    assert targets[("general", "resolution")] == (1440, "7x24")


def test_contract_with_unknown_ci_is_refused_whole(client: TestClient, headers, session: Session) -> None:
    pm = headers[RoleKey.PROJECT_MANAGER]
    response = client.post("/contracts", headers=pm, json={
        "code": "X", "name": "x", "customer_id": _customer(client, headers),
        "starts_on": "2026-01-01", "ends_on": "2026-12-31", "ci_ids": [999],
    })
    assert response.status_code == 422 and "ci_ids" in response.json()["detail"]
    assert session.exec(select(func.count()).select_from(Contract)).one() == 0


def test_contract_period_and_phase_checks(client: TestClient, headers, session: Session) -> None:
    pm = headers[RoleKey.PROJECT_MANAGER]
    customer = _customer(client, headers)
    backwards = client.post("/contracts", headers=pm, json={
        "code": "B", "name": "b", "customer_id": customer, "starts_on": "2026-06-01", "ends_on": "2026-01-01"})
    assert backwards.status_code == 422 and "ends_on must be after starts_on" in backwards.text
    gap = client.post("/contracts", headers=pm, json={
        "code": "G", "name": "g", "customer_id": customer, "starts_on": "2026-01-01", "ends_on": "2026-03-31",
        "phases": [{"phase": "start", "starts_on": "2026-01-01", "ends_on": "2026-01-10"},
                   {"phase": "normal", "starts_on": "2026-01-20", "ends_on": "2026-03-31"}]})
    assert gap.status_code == 422 and "must start the day after" in gap.text
    assert session.exec(select(func.count()).select_from(Contract)).one() == 0  # neither half-written


def test_sla_policy_set_must_be_complete(client: TestClient, headers) -> None:
    slm = headers[RoleKey.SERVICE_LEVEL_MANAGER]
    partial = {"name": "gold", "policies": [
        {"fault_class": "major", "measure": "response", "target_minutes": 5, "calendar": "7x24"}]}
    response = client.post("/sla/policy-sets", json=partial, headers=slm)
    assert response.status_code == 422 and "6 in all" in response.text
    bad_target = {"name": "gold", "policies": [
        {"fault_class": "major", "measure": "response", "target_minutes": 0, "calendar": "7x24"}]}
    assert client.post("/sla/policy-sets", json=bad_target, headers=slm).json()["errors"][0]["field"] == \
        "policies.0.target_minutes"
    assert client.post("/sla/policy-sets", json=partial, headers=headers[RoleKey.ENGINEER]).status_code == 403
