"""It runs by itself: on the real `itss up` the scheduled sweeper escalates, expires, records breaches and
notifies — nobody acts but the engineer, through the API. Nothing here calls a flow or a sweep function.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.support.net import Receiver
from tests.support.system import System, wait_until


def test_sweeper_escalates_expires_and_records_the_breach_unattended(
        system: System, inbox: tuple[Receiver, Path]) -> None:
    """A one-minute response target: the scheduled sweeper escalates the acknowledge gate to the PM, stores and
    notifies the response breach; the escalation form escalates to the ops manager and expires, and the flow
    takes its refused branch — with nobody but the engineer acting."""
    receiver = inbox[0]
    org = system.post("/organisations", json={"name": "Sys customer", "kind": "customer"})
    assert org.status_code == 201, org.text
    policies = [{"fault_class": fc, "measure": m, "target_minutes": minutes, "calendar": "7x24"}
                for fc in ("major", "general")
                for m, minutes in (("response", 1), ("on_site", 60), ("resolution", 240))]
    sla = system.post("/sla/policy-sets", "slm", json={"name": "one minute", "policies": policies})
    assert sla.status_code == 201, sla.text
    today = dt.date.today()
    contract = system.post("/contracts", json={
        "code": "SYS-1", "name": "System test", "customer_id": org.json()["id"], "sla_policy_set_id": sla.json()["id"],
        "starts_on": str(today - dt.timedelta(days=120)), "ends_on": str(today + dt.timedelta(days=240))})
    assert contract.status_code == 201, contract.text
    incident = system.post("/incidents", "desk", json={
        "title": "门户无法访问", "symptom": "HTTP 502 on the portal", "contract_id": contract.json()["id"]})
    assert incident.status_code == 201, incident.text
    incident_id = incident.json()["incident"]["id"]

    def gate(prefix: str, who: str) -> dict | None:
        return next((g for g in system.get("/approvals", who).json()
                     if g["record_id"] == str(incident_id) and g["gate_key"].startswith(prefix)), None)

    def titled(role: str, words: str) -> list[dict]:
        return [m for m in receiver.messages(f"/{role}") if words in m.get("title", "")]

    # The acknowledge gate, unanswered past the response target, widens to the PM, who is told.
    ack = wait_until(lambda: (g := gate("acknowledge", "pm")) and g, timeout=180, interval=2,
                     what="the acknowledge gate escalated to the project manager")
    assert ack["escalation_level"] >= 1
    wait_until(lambda: [m for m in receiver.messages("/project_manager") if "scalat" in m.get("title", "")],
               timeout=60, what="the PM's escalation notice")
    # The response breach is stored by the sweeper and notified.
    wait_until(lambda: "response" in system.get(f"/incidents/{incident_id}", "desk").json()["incident"]["breaches"],
               timeout=120, interval=2, what="the stored response breach")
    wait_until(lambda: titled("engineer", "SLA breach"), timeout=60, what="the breach notice to the on-call")

    decided = system.post(f"/approvals/{ack['id']}/decision", "oncall", json={"decision": "acknowledge"})
    assert decided.status_code == 200, decided.text
    work = wait_until(lambda: gate("restore-0", "oncall"), timeout=120, what="the restore gate")
    assert system.post(f"/approvals/{work['id']}/decision", "oncall",
                       json={"decision": "escalate", "comment": "need the vendor"}).status_code == 200

    # Nobody answers the escalation form: the ops manager may decide after 1 min, it expires after 3.
    form = wait_until(lambda: gate("escalate-0", "pm"), timeout=120, what="the escalation approval form")
    wait_until(lambda: gate("escalate-0", "opsmgr"), timeout=180, interval=2,
               what="the escalation form widened to the ops manager")
    wait_until(lambda: [m for m in receiver.messages("/ops_manager") if "scalat" in m.get("title", "")],
               timeout=60, what="the ops manager's notice")
    wait_until(lambda: system.get(f"/approvals/{form['id']}", "pm").json()["status"] == "expired",
               timeout=240, interval=2, what="the escalation form to expire")
    timeline = wait_until(
        lambda: (events := system.get(f"/incidents/{incident_id}/timeline", "desk").json())
        and any(e["kind"] == "escalation_refused" for e in events) and events,
        timeout=120, interval=2, what="the flow's expired branch on the timeline")
    assert [e["kind"] for e in timeline].count("escalation_refused") == 1
    wait_until(lambda: gate("restore-1", "oncall"), timeout=120, what="the next restore gate")
