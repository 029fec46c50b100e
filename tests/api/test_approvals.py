"""Deciding gates through the API: eligibility, four-eyes, quorum, exactly once, escalation."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models.core.audit import AuditEvent
from models.directory.roles import RoleKey
from models.directory.service import create_person, issue_token
from models.gates.service import open_gate, verified
from models.gates.tables import ApprovalGate, ApprovalVote, EscalationStep, GateSpec, GateStatus
from models.outbox.tables import Notification

pytestmark = pytest.mark.usefixtures("prefect_harness")


def person(session: Session, name: str, *roles: RoleKey, urls: list[str] | None = None) -> tuple[int, dict]:
    created = create_person(session, name=name, roles=list(roles), actor="test", notify_urls=urls)
    _, secret = issue_token(session, person_id=created.id, actor="test")
    session.commit()
    return created.id, {"Authorization": f"Bearer {secret}"}


def gate(session: Session, **spec) -> ApprovalGate:
    defaults = {"key": "cab", "subject": "Upgrade core-sw-01 firmware", "eligible_roles": [RoleKey.CAB_MEMBER]}
    created, _ = open_gate(session, flow_run_id=str(uuid.uuid4()), spec=GateSpec(**{**defaults, **spec}),
                           actor="test")
    session.commit()
    return created


def decide(client: TestClient, gate_id: int, headers: dict, decision: str = "approve"):
    return client.post(f"/approvals/{gate_id}/decision", json={"decision": decision}, headers=headers)


def test_requester_cannot_decide_own_gate(client: TestClient, session: Session) -> None:
    requester, headers = person(session, "requester", RoleKey.CAB_MEMBER, RoleKey.CHANGE_MANAGER)
    g = gate(session, requested_by=requester)
    response = decide(client, g.id, headers)
    assert response.status_code == 403 and "four-eyes" in response.json()["detail"]
    assert client.get("/approvals", headers=headers).json() == []
    assert session.exec(select(ApprovalVote)).all() == []


def test_wrong_role_is_403_and_no_token_is_401(client: TestClient, session: Session) -> None:
    _, engineer = person(session, "eng", RoleKey.ENGINEER)
    _, admin = person(session, "adm", RoleKey.ADMIN)
    g = gate(session)
    assert decide(client, g.id, engineer).status_code == 403
    assert decide(client, g.id, admin).status_code == 403  # admins manage people, they do not approve
    assert client.post(f"/approvals/{g.id}/decision", json={"decision": "approve"}).status_code == 401
    assert client.get("/approvals").status_code == 401
    session.expire_all()  # refused decisions leave the gate open and record no vote
    assert session.get(ApprovalGate, g.id).status == GateStatus.PENDING
    assert session.exec(select(ApprovalVote)).all() == []


def test_unknown_option_is_422_naming_the_options(client: TestClient, session: Session) -> None:
    _, cab = person(session, "cab", RoleKey.CAB_MEMBER)
    g = gate(session)
    response = decide(client, g.id, cab, "maybe")
    assert response.status_code == 422 and "approve" in response.json()["detail"]
    session.expire_all()
    assert session.get(ApprovalGate, g.id).status == GateStatus.PENDING
    assert session.exec(select(ApprovalVote)).all() == []


def test_quorum_two_of_three_one_vote_each(client: TestClient, session: Session) -> None:
    cabs = [person(session, f"cab{i}", RoleKey.CAB_MEMBER)[1] for i in range(3)]
    g = gate(session, quorum=2)
    first = decide(client, g.id, cabs[0])
    assert first.status_code == 200 and first.json()["gate"]["status"] == "pending"
    again = decide(client, g.id, cabs[0])
    assert again.status_code == 409 and "already voted" in again.json()["detail"]
    assert [x["id"] for x in client.get("/approvals", headers=cabs[0]).json()] == []
    second = decide(client, g.id, cabs[1])
    assert second.json()["gate"]["status"] == "approved" and len(second.json()["gate"]["votes"]) == 2
    assert decide(client, g.id, cabs[2]).status_code == 409
    session.expire_all()
    assert verified(session.get(ApprovalGate, g.id))


def test_one_reject_vetoes_a_quorum_gate(client: TestClient, session: Session) -> None:
    cabs = [person(session, f"cab{i}", RoleKey.CAB_MEMBER)[1] for i in range(2)]
    g = gate(session, quorum=2)
    decide(client, g.id, cabs[0])
    assert decide(client, g.id, cabs[1], "reject").json()["gate"]["status"] == "rejected"


def test_hand_edited_decision_is_not_trusted(session: Session) -> None:
    g = gate(session)
    g.status, g.outcome, g.decision_token = GateStatus.APPROVED, "approve", "0" * 64
    from models.core.clock import utcnow

    g.decided_at = utcnow()
    session.add(g)
    session.commit()
    assert not verified(g)


def test_escalation_widens_the_gate_and_notifies_next_role(client: TestClient, session: Session) -> None:
    from tasks.sweeper import escalate_overdue_gates

    _, pm = person(session, "pm", RoleKey.PROJECT_MANAGER, urls=["json://127.0.0.1:9/pm"])
    g = gate(session, escalation=[EscalationStep(role=RoleKey.PROJECT_MANAGER, after_minutes=10)],
             timeout_minutes=60)
    assert decide(client, g.id, pm).status_code == 403
    g.next_escalation_at = g.created_at  # overdue now
    session.add(g)
    session.commit()
    assert escalate_overdue_gates.fn() == 1
    session.expire_all()
    escalated = session.get(ApprovalGate, g.id)
    assert escalated.escalation_level == 1 and "project_manager" in escalated.eligible_roles
    assert escalated.next_escalation_at is None
    notes = session.exec(select(Notification).where(Notification.event == "gate.escalated")).all()
    assert [n.role for n in notes] == ["project_manager"]
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "gate.escalated")).one().actor == \
        "system:sweeper"
    assert escalate_overdue_gates.fn() == 0  # nothing more to do
    assert decide(client, g.id, pm).status_code == 200


def test_twenty_concurrent_decisions_exactly_one_wins(live_api: str, session: Session) -> None:
    voters = [person(session, f"cab{i:02}", RoleKey.CAB_MEMBER)[1] for i in range(20)]
    g = gate(session)

    def post(headers: dict) -> int:
        return httpx.post(f"{live_api}/approvals/{g.id}/decision", json={"decision": "approve"},
                          headers=headers, timeout=60).status_code

    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(post, voters))
    assert sorted(codes) == [200] + [409] * 19, codes
    session.expire_all()
    assert len(session.exec(select(ApprovalVote).where(ApprovalVote.gate_id == g.id)).all()) == 1
    assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "gate.approved")).all()) == 1
