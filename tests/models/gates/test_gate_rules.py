"""Gate rules at the service layer, on an explicit clock (models.core.clock): four-eyes, role checks, quorum,
veto, one vote each, no vote after the decision, escalation and expiry at their exact instants.
(The API and the flows on the real Prefect server are tested in tests/api/test_approvals.py and
tests/tasks/test_gates_flow.py; these run without Prefect, so mutation testing can afford them.)"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from models.core.audit import AuditEvent
from models.directory.roles import RoleKey
from models.directory.service import create_person
from models.gates.service import (
    GateConflict,
    GateForbidden,
    GateInvalid,
    GateNotFound,
    close_by_system,
    decide,
    escalate_due,
    expire_due,
    may_decide,
    open_gate,
    record_bypass,
    verified,
)
from models.gates.tables import ApprovalGate, ApprovalVote, EscalationStep, GateSpec, GateStatus, status_for, tally

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
CAB = {RoleKey.CAB_MEMBER.value}


def gate(session: Session, **spec) -> ApprovalGate:
    defaults = {"key": "cab", "subject": "Upgrade core-sw-01", "eligible_roles": [RoleKey.CAB_MEMBER]}
    created, fresh = open_gate(session, flow_run_id=str(uuid.uuid4()), spec=GateSpec(**{**defaults, **spec}),
                               actor="test")
    assert fresh
    session.commit()
    return created


def people(session: Session, n: int, role: RoleKey = RoleKey.CAB_MEMBER) -> list[int]:
    ids = [create_person(session, name=f"{role.value}-{i}", roles=[role], actor="test").id for i in range(n)]
    session.commit()
    return ids


def vote(session: Session, g: ApprovalGate, person: int, option: str = "approve", roles: set[str] = CAB):
    return decide(session, gate_id=g.id, person_id=person, roles=roles, option=option, comment="")


def test_tally_veto_quorum_and_ties() -> None:
    assert tally(["approve"], 2, ["reject"]) is None
    assert tally(["approve", "approve"], 2, ["reject"]) == "approve"
    assert tally(["approve", "reject"], 2, ["reject"]) == "reject"  # one veto decides at once
    assert tally(["reject"], 3, ["reject"]) == "reject"
    assert tally(["reject", "reject"], 2, []) == "reject"  # without veto, reject needs its quorum too
    assert tally(["a", "b", "b"], 2, []) == "b"
    assert tally(["a", "b", "b", "a"], 2, []) == "a"  # both at quorum: the earliest-voted option wins
    assert tally(["a", "b"], 1, []) == "a"
    assert tally([], 1, []) is None


def test_status_for_each_outcome() -> None:
    assert [status_for(o) for o in ("approve", "reject", "expired", "continue")] == [
        GateStatus.APPROVED, GateStatus.REJECTED, GateStatus.EXPIRED, GateStatus.DECIDED]


@pytest.mark.parametrize(("spec", "message"), [
    ({"eligible_roles": []}, "eligible_roles"), ({"quorum": 0}, "quorum"), ({"options": ["ok"]}, "options"),
    ({"options": ["ok", "ok"]}, "options"), ({"options": ["ok", "expired"]}, "reserved"),
    ({"veto_options": ["nope"]}, "veto_options"),
    ({"escalation": [{"role": "ops_manager", "after_minutes": 20}, {"role": "leadership", "after_minutes": 10}]},
     "increasing"),
    ({"escalation": [{"role": "ops_manager", "after_minutes": 30}], "timeout_minutes": 30}, "before timeout"),
])
def test_inconsistent_gate_specs_are_refused(spec: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        GateSpec(**{"key": "k", "subject": "s", "eligible_roles": [RoleKey.CAB_MEMBER], **spec})
    with pytest.raises(ValidationError, match="after_minutes must be positive"):
        EscalationStep(role=RoleKey.OPS_MANAGER, after_minutes=0)


def test_four_eyes_and_roles(session: Session) -> None:
    requester, other = people(session, 2)
    g = gate(session, requested_by=requester)
    assert "four-eyes" in may_decide(g, person_id=requester, roles=CAB)
    assert may_decide(g, person_id=other, roles=CAB) is None
    assert "cab_member" in may_decide(g, person_id=other, roles={RoleKey.ENGINEER.value})
    with pytest.raises(GateForbidden, match="four-eyes"):
        vote(session, g, requester)
    with pytest.raises(GateForbidden):
        vote(session, g, other, roles={RoleKey.ADMIN.value})
    with pytest.raises(GateInvalid, match="maybe"):
        vote(session, g, other, "maybe")
    with pytest.raises(GateNotFound):
        decide(session, gate_id=999_999, person_id=other, roles=CAB, option="approve", comment="")
    session.expire_all()
    assert session.exec(select(ApprovalVote)).all() == [] and session.get(ApprovalGate, g.id).status == "pending"


def test_quorum_two_of_three_one_vote_each_none_after_the_decision(session: Session) -> None:
    a, b, c = people(session, 3)
    g = gate(session, quorum=2)
    assert vote(session, g, a).status == GateStatus.PENDING
    with pytest.raises(GateConflict, match="already voted"):
        vote(session, g, a)
    decided = vote(session, g, b)
    assert decided.status == GateStatus.APPROVED and decided.outcome == "approve" and decided.decided_at
    assert verified(decided) and decided.next_escalation_at is None
    with pytest.raises(GateConflict, match="already approved"):
        vote(session, g, c)
    session.expire_all()
    assert len(session.exec(select(ApprovalVote).where(ApprovalVote.gate_id == g.id)).all()) == 2
    actions = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.record_id == str(g.id),
                                                              AuditEvent.record_type == "approval_gate")
                                              .order_by(AuditEvent.id))]
    assert actions == ["gate.opened", "gate.vote", "gate.vote", "gate.approved"]


def test_a_veto_decides_before_quorum(session: Session) -> None:
    a, b = people(session, 2)
    g = gate(session, quorum=2)
    vote(session, g, a)
    assert vote(session, g, b, "reject").status == GateStatus.REJECTED


def test_reopening_the_same_gate_returns_it(session: Session) -> None:
    spec = GateSpec(key="cab", subject="s", eligible_roles=[RoleKey.CAB_MEMBER])
    first, created = open_gate(session, flow_run_id="run-1", spec=spec, actor="test")
    again, created_again = open_gate(session, flow_run_id="run-1", spec=spec, actor="test")
    assert created and not created_again and again.id == first.id


def test_escalation_widens_the_gate_at_each_step_exactly_on_time(
        session: Session, frozen_clock: Callable[[datetime], datetime]) -> None:
    frozen_clock(T0)
    g = gate(session, escalation=[{"role": "ops_manager", "after_minutes": 30},
                                  {"role": "leadership", "after_minutes": 60}], timeout_minutes=90)
    assert g.next_escalation_at == T0 + timedelta(minutes=30) and g.deadline == T0 + timedelta(minutes=90)
    assert escalate_due(session, now=T0 + timedelta(minutes=30) - timedelta(seconds=1)) == []
    first = escalate_due(session, now=T0 + timedelta(minutes=30))
    assert [(x.id, role) for x, role in first] == [(g.id, "ops_manager")]
    assert g.eligible_roles == ["cab_member", "ops_manager"] and g.escalation_level == 1
    assert g.next_escalation_at == T0 + timedelta(minutes=60)
    assert escalate_due(session, now=T0 + timedelta(minutes=59)) == []
    assert [role for _, role in escalate_due(session, now=T0 + timedelta(minutes=61))] == ["leadership"]
    assert g.next_escalation_at is None and escalate_due(session, now=T0 + timedelta(days=1)) == []
    assert sorted(g.eligible_roles) == ["cab_member", "leadership", "ops_manager"]


def test_expiry_at_the_deadline_and_not_before(session: Session, frozen_clock: Callable[[datetime], datetime]) -> None:
    frozen_clock(T0)
    g = gate(session, timeout_minutes=60)
    endless = gate(session, key="no-deadline")
    decided = gate(session, key="decided", timeout_minutes=60)
    (approver,) = people(session, 1)
    vote(session, decided, approver)
    assert expire_due(session, now=T0 + timedelta(minutes=60) - timedelta(seconds=1)) == []
    assert [x.id for x in expire_due(session, now=T0 + timedelta(minutes=60))] == [g.id]
    assert g.status == GateStatus.EXPIRED and g.outcome == "expired" and verified(g)
    assert endless.status == GateStatus.PENDING and decided.status == GateStatus.APPROVED
    assert expire_due(session, now=T0 + timedelta(days=30)) == []


def test_escalation_and_expiry_are_audited_as_the_sweeper(session: Session,
                                                          frozen_clock: Callable[[datetime], datetime]) -> None:
    frozen_clock(T0)
    g = gate(session, escalation=[{"role": "ops_manager", "after_minutes": 30}], timeout_minutes=60)
    escalate_due(session, now=T0 + timedelta(minutes=30))
    expire_due(session, now=T0 + timedelta(minutes=60))
    session.commit()
    events = [(e.actor, e.action, e.record_type, e.after) for e in session.exec(
        select(AuditEvent).where(AuditEvent.record_id == str(g.id), AuditEvent.actor == "system:sweeper")
        .order_by(AuditEvent.id))]
    assert events == [
        ("system:sweeper", "gate.escalated", "approval_gate", {"role": "ops_manager", "level": 1}),
        ("system:sweeper", "gate.expired", "approval_gate", {"status": "expired", "outcome": "expired"})]


def test_the_system_closes_only_a_pending_gate_and_signs_and_audits_it(
        session: Session, frozen_clock: Callable[..., datetime]) -> None:
    """A drill ended by a real incident: its open gate is decided by the system, signed like any decision."""
    frozen_clock(T0)
    g = gate(session, options=["evaluated", "terminated"], veto_options=[])
    frozen_clock(T0 + timedelta(minutes=7))
    assert close_by_system(session, g, "terminated", actor="system:drill")
    session.commit()
    session.refresh(g)
    assert (g.status, g.outcome, g.decided_at) == (status_for("terminated"), "terminated", T0 + timedelta(minutes=7))
    assert verified(g) and g.next_escalation_at is None
    audit = session.exec(select(AuditEvent).where(AuditEvent.record_id == str(g.id),
                                                  AuditEvent.action == f"gate.{g.status.value}")).one()
    assert audit.actor == "system:drill" and audit.before == {"status": "pending"}
    assert audit.after == {"status": g.status.value, "outcome": "terminated"}
    assert not close_by_system(session, g, "evaluated", actor="system:drill")  # decided already: unchanged
    session.refresh(g)
    assert g.outcome == "terminated"


def test_a_resume_without_a_decision_is_audited_once_per_wait(session: Session) -> None:
    g = gate(session)
    assert record_bypass(session, gate=g, attempt_key="wait-1", flow_run_id="run-9")
    assert not record_bypass(session, gate=g, attempt_key="wait-1", flow_run_id="run-9")  # the same wait again
    assert record_bypass(session, gate=g, attempt_key="wait-2", flow_run_id="run-9")  # the next wait
    session.commit()
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "gate.bypass_attempt")
                          .order_by(AuditEvent.id)).all()
    assert [(e.actor, e.record_type, e.record_id) for e in events] == [
        ("prefect:flow-run:run-9", "approval_gate", str(g.id))] * 2
    assert events[0].detail == ("resumed at wait wait-1 without a decision recorded through the API; "
                                "waiting again")
    assert "wait-2" in events[1].detail
    other = gate(session, key="other")  # the same wait name on another gate is that gate's own attempt
    assert record_bypass(session, gate=other, attempt_key="wait-1", flow_run_id="run-9")


def test_a_gate_opens_with_everything_the_flow_asked_for_and_the_opening_is_audited(
        session: Session, frozen_clock: Callable[..., datetime]) -> None:
    frozen_clock(T0)
    requester = people(session, 1, RoleKey.ENGINEER)[0]
    run = str(uuid.uuid4())
    created, fresh = open_gate(session, flow_run_id=run, actor="prefect:flow-run:x", spec=GateSpec(
        key="cab", subject="Upgrade core-sw-01", details_md="**Risk**: medium", eligible_roles=[RoleKey.CAB_MEMBER],
        quorum=2, escalation=[EscalationStep(role=RoleKey.CHANGE_MANAGER, after_minutes=30)], timeout_minutes=90,
        requested_by=requester, record_type="change_request", record_id="17"))
    session.commit()
    assert fresh
    session.expire_all()
    g = session.get(ApprovalGate, created.id)
    assert (g.flow_run_id, g.gate_key, g.subject, g.details_md, g.quorum, g.requested_by) == (
        run, "cab", "Upgrade core-sw-01", "**Risk**: medium", 2, requester)
    assert (g.record_type, g.record_id, g.created_at) == ("change_request", "17", T0)
    assert g.escalation == [{"role": "change_manager", "after_minutes": 30}]
    assert (g.next_escalation_at, g.deadline) == (T0 + timedelta(minutes=30), T0 + timedelta(minutes=90))
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "gate.opened")).one()
    assert (audit.actor, audit.record_id) == ("prefect:flow-run:x", str(g.id))
    assert audit.after == {"subject": "Upgrade core-sw-01", "roles": ["cab_member"], "quorum": 2,
                           "flow_run_id": run, "key": "cab"}


def test_one_gate_per_run_and_key_but_another_run_or_key_gets_its_own(session: Session) -> None:
    spec = GateSpec(key="cab", subject="s", eligible_roles=[RoleKey.CAB_MEMBER])
    first, fresh = open_gate(session, flow_run_id="run-a", spec=spec, actor="test")
    again, again_fresh = open_gate(session, flow_run_id="run-a", spec=spec, actor="test")
    assert fresh and not again_fresh and again.id == first.id  # a retried task finds its gate
    other_run, fresh_run = open_gate(session, flow_run_id="run-b", spec=spec, actor="test")
    other_key, fresh_key = open_gate(session, flow_run_id="run-a", spec=spec.model_copy(update={"key": "pm"}),
                                     actor="test")
    assert fresh_run and fresh_key and len({first.id, other_run.id, other_key.id}) == 3


def test_a_vote_keeps_its_comment_is_audited_and_counts_only_on_its_own_gate(
        session: Session, frozen_clock: Callable[..., datetime]) -> None:
    frozen_clock(T0)
    a, b = gate(session, quorum=2), gate(session, key="pm", quorum=2)
    voter = people(session, 1)[0]
    vote(session, a, voter)
    decided = decide(session, gate_id=b.id, person_id=voter, roles=CAB, option="approve",
                     comment="rollback plan checked")  # the same person on another gate: not "already voted"
    assert decided.status == GateStatus.PENDING and decided.version == 1  # one vote, one version step
    stored = session.exec(select(ApprovalVote).where(ApprovalVote.gate_id == b.id)).one()
    assert (stored.person_id, stored.option, stored.comment) == (voter, "approve", "rollback plan checked")
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "gate.vote",
                                                  AuditEvent.record_id == str(b.id))).one()
    assert (audit.actor, audit.detail) == (f"person:{voter}", "rollback plan checked")
    assert audit.after == {"option": "approve", "votes": 1, "quorum": 2}


def test_refusals_say_why_in_words_a_person_can_act_on(session: Session) -> None:
    requester = people(session, 1, RoleKey.ENGINEER)[0]
    g = gate(session, requested_by=requester, eligible_roles=[RoleKey.CAB_MEMBER, RoleKey.CHANGE_MANAGER])
    assert may_decide(g, person_id=requester, roles=CAB) == (
        "you requested this, so someone else must decide it (four-eyes rule)")
    assert may_decide(g, person_id=requester + 1, roles={"engineer"}) == (
        "this gate is for the roles: cab_member, change_manager")
    with pytest.raises(GateNotFound, match=r"^no approval gate with id 999999$"):
        decide(session, gate_id=999999, person_id=requester, roles=CAB, option="approve", comment="")
    voter, late = people(session, 2)
    vote(session, g, voter)
    with pytest.raises(GateConflict, match=r"^this gate is already approved; nothing was recorded$"):
        vote(session, g, late)


def test_a_decision_token_binds_the_outcome_and_time_and_nothing_else_passes(
        session: Session, frozen_clock: Callable[..., datetime]) -> None:
    frozen_clock(T0)
    pending = gate(session)
    assert not verified(pending)
    a, b = gate(session, key="a"), gate(session, key="b")
    voter = people(session, 1)[0]
    vote(session, a, voter)
    vote(session, b, voter)
    assert verified(a) and verified(b) and a.decision_token != b.decision_token
    token = a.decision_token
    a.decision_token = None
    assert not verified(a)
    a.decision_token, a.decided_at = token, None
    assert not verified(a)
    a.decided_at, a.outcome = T0, "reject"  # a forged outcome under the real token
    assert not verified(a)
