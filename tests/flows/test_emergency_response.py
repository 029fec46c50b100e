"""End to end through the API alone: an Alertmanager alert becomes a closed incident with its report."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from models.directory.roles import RoleKey
from models.directory.service import create_person, issue_token
from tests.api.test_alerts import PAYLOAD
from tests.support.alerts import post_alerts
from tests.support.serving import ServedFlow, wait_state

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def token(session: Session, name: str, role: RoleKey) -> dict[str, str]:
    person = create_person(session, name=name, roles=[role], actor="test")
    _, secret = issue_token(session, person_id=person.id, actor="test")
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def gate_for(client: TestClient, headers: dict, key_prefix: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for gate in client.get("/approvals", headers=headers).json():
            if gate["gate_key"].startswith(key_prefix):
                return gate
        time.sleep(0.2)
    raise AssertionError(f"no {key_prefix} gate appeared")


def decide(client: TestClient, headers: dict, key_prefix: str, decision: str, comment: str = "") -> None:
    gate = gate_for(client, headers, key_prefix)
    response = client.post(f"/approvals/{gate['id']}/decision", json={"decision": decision, "comment": comment},
                           headers=headers)
    assert response.status_code == 200, response.text


def test_alert_to_closed_incident(client: TestClient, session: Session, tmp_path: Path) -> None:
    monitor = token(session, "alertmanager", RoleKey.SERVICE_DESK)
    oncall = token(session, "oncall", RoleKey.ENGINEER)
    pm = token(session, "pm", RoleKey.PROJECT_MANAGER)
    customer = token(session, "customer", RoleKey.CUSTOMER_REP)
    client.post("/cis", json={"name": "db-srv-01", "ci_type": "server", "criticality": "core"}, headers=oncall)
    served = ServedFlow("flows.emergency_response:emergency_response", tmp_path)
    try:
        served.wait_registered("emergency_response/emergency_response")
        payload = {**PAYLOAD, "alerts": [{**PAYLOAD["alerts"][0], "startsAt": time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime())}]}
        incident_id = post_alerts(client, "/alerts/alertmanager", payload, monitor)[0]["incident_id"]

        decide(client, oncall, "acknowledge", "acknowledge", "on my way")
        assert client.post(f"/incidents/{incident_id}/on-site", headers=oncall).status_code == 200
        decide(client, oncall, "restore-0", "escalate", "disk controller fault, need the vendor")
        decide(client, pm, "escalate-0", "approve", "call the vendor")
        decide(client, oncall, "restore-1", "resolved", "controller replaced, /data cleaned")
        decide(client, oncall, "continuity-", "stable")
        client.patch(f"/incidents/{incident_id}/notes", headers=oncall, json={
            "cause": "RAID controller cache failure filled /data with retry logs",
            "actions": "Vendor replaced the controller; logs rotated", "improvements": "Alert at 80 % disk"})
        decide(client, customer, "consent-", "consent", "确认恢复")

        flow_run_id = client.get(f"/incidents/{incident_id}", headers=oncall).json()["incident"]["flow_run_id"]
        assert wait_state(flow_run_id, lambda s: s.is_final(), 180, served) == "Completed"
    finally:
        served.kill9()

    detail = client.get(f"/incidents/{incident_id}", headers=oncall).json()
    incident = detail["incident"]
    assert incident["status"] == "closed" and incident["consented"] and incident["escalated"]
    assert incident["fault_class"] == "major" and incident["breaches"] == []
    clocks = {c["measure"]: c for c in detail["clocks"]}
    assert all(not c["running"] and not c["breached"] for c in clocks.values())
    assert clocks["response"]["target_minutes"] == 10 and clocks["on_site"]["target_minutes"] == 60
    assert clocks["response"]["elapsed_minutes"] < 10

    events = client.get(f"/incidents/{incident_id}/timeline", headers=oncall).json()
    kinds = [e["kind"] for e in events]
    expected = ["reported", "graded", "ticket_opened", "acknowledged", "on_site", "escalated", "resolved",
                "continuity_confirmed", "notes", "consented", "closed"]
    assert [k for k in kinds if k in expected] == expected
    actors = {e["kind"]: e["actor"] for e in events}
    assert actors["acknowledged"].startswith("person:") and actors["ticket_opened"].startswith("flow:")

    report = client.get(f"/incidents/{incident_id}/report", headers=pm).json()
    summary = report["emergency_summary"]["markdown"]
    assert "应急响应工作总结报告" in summary and "RAID controller" in summary
    assert "| response | 10 min | 7x24 |" in summary and "| met |" in summary
    assert "escalated" in summary and "consented" in summary
    assert report["kb_draft"]["status"] == "draft"
