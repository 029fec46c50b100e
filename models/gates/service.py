"""Gate services: open a gate once, record votes exactly once, escalate and expire, sign decisions.

A decision is signed with HMAC(gate secret, gate identity + outcome + time). The flow accepts a
gate as decided only when the signature verifies, so a resume that did not come through the API
(the Prefect UI's Resume button, a raw API call, a hand-edited row) cannot pass a gate.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from config.secret_files import read_or_create
from config.settings import get_settings
from models.core.audit import AuditEvent, record_audit
from models.core.clock import utcnow
from models.gates.tables import (
    EXPIRED,
    ApprovalGate,
    ApprovalVote,
    GateSpec,
    GateStatus,
    escalation_times,
    status_for,
    tally,
)


class GateError(Exception):
    """A decision that cannot be taken; `status` is the HTTP status the API answers with."""

    status = 400


class GateNotFound(GateError):
    status = 404


class GateForbidden(GateError):
    status = 403


class GateConflict(GateError):
    status = 409


class GateInvalid(GateError):
    status = 422


@lru_cache
def gate_secret() -> bytes:
    """ITSS_GATE_SECRET, or a random one kept in the data directory (set it when hosts are many)."""
    configured = get_settings().gate_secret
    if configured is not None:
        return configured.get_secret_value().encode()
    # Created 0600 from the start; `itss up` calls this before any child starts (not at the first decision).
    return read_or_create(get_settings().data_dir.resolve() / "gate_secret", lambda: secrets.token_hex(32)).encode()


def sign(gate: ApprovalGate) -> str:
    """The decision token for a decided gate."""
    assert gate.decided_at is not None and gate.outcome is not None
    message = f"{gate.id}|{gate.flow_run_id}|{gate.gate_key}|{gate.outcome}|{gate.decided_at.isoformat()}"
    return hmac.new(gate_secret(), message.encode(), hashlib.sha256).hexdigest()


def verified(gate: ApprovalGate) -> bool:
    """True when the gate is decided and its token was minted by this system."""
    if gate.status == GateStatus.PENDING or not gate.decision_token or gate.decided_at is None:
        return False
    return hmac.compare_digest(gate.decision_token, sign(gate))


def open_gate(session: Session, *, flow_run_id: str, spec: GateSpec, actor: str) -> tuple[ApprovalGate, bool]:
    """The gate of (flow run, key), created if absent; returns (gate, created)."""
    query = select(ApprovalGate).where(ApprovalGate.flow_run_id == flow_run_id, ApprovalGate.gate_key == spec.key)
    existing = session.exec(query).first()
    if existing is not None:
        return existing, False
    now = utcnow()
    steps = [step.model_dump(mode="json") for step in spec.escalation]
    due = escalation_times(now, steps)
    gate = ApprovalGate(
        flow_run_id=flow_run_id, gate_key=spec.key, subject=spec.subject, details_md=spec.details_md,
        eligible_roles=[r.value for r in spec.eligible_roles], quorum=spec.quorum, options=spec.options,
        veto_options=spec.veto_options, escalation=steps, next_escalation_at=due[0] if due else None,
        deadline=now + timedelta(minutes=spec.timeout_minutes) if spec.timeout_minutes else None,
        requested_by=spec.requested_by, contract_id=spec.contract_id, record_type=spec.record_type,
        record_id=spec.record_id, created_at=now,
    )
    session.add(gate)
    try:
        session.flush()
    except IntegrityError:  # a concurrent execution of the same run created it first
        session.rollback()
        return session.exec(query).one(), False
    record_audit(session, actor=actor, action="gate.opened", record_type="approval_gate", record_id=gate.id,
                 after={"subject": spec.subject, "roles": gate.eligible_roles, "quorum": spec.quorum,
                        "flow_run_id": flow_run_id, "key": spec.key})
    return gate, True


def may_decide(gate: ApprovalGate, *, person_id: int, roles: set[str]) -> str | None:
    """Why this person may not decide the gate, or None if they may."""
    if gate.requested_by is not None and gate.requested_by == person_id:
        return "you requested this, so someone else must decide it (four-eyes rule)"
    if not roles & set(gate.eligible_roles):
        return f"this gate is for the roles: {', '.join(gate.eligible_roles)}"
    return None


def decide(
    session: Session, *, gate_id: int, person_id: int, roles: set[str], option: str, comment: str
) -> ApprovalGate:
    """Record one person's vote; decides the gate when the vote reaches quorum or vetoes."""
    gate = session.get(ApprovalGate, gate_id)
    if gate is None:
        raise GateNotFound(f"no approval gate with id {gate_id}")
    reason = may_decide(gate, person_id=person_id, roles=roles)
    if reason:
        raise GateForbidden(reason)
    if option not in gate.options:
        raise GateInvalid(f"decision: {option!r} is not an option of this gate; use one of {gate.options}")
    # End the read transaction: on SQLite the next write must open its own transaction to wait
    # for the writer lock instead of failing on a stale snapshot.
    session.commit()
    locked = session.exec(  # type: ignore[call-overload]
        update(ApprovalGate)
        .where(col(ApprovalGate.id) == gate_id, col(ApprovalGate.status) == GateStatus.PENDING)
        .values(version=ApprovalGate.version + 1)
    )
    if locked.rowcount != 1:
        session.rollback()
        current = session.get(ApprovalGate, gate_id)
        raise GateConflict(f"this gate is already {current.status if current else 'gone'}; nothing was recorded")
    session.refresh(gate)
    voted = session.exec(
        select(ApprovalVote.id).where(ApprovalVote.gate_id == gate_id, ApprovalVote.person_id == person_id)
    ).first()
    if voted is not None:
        session.rollback()
        raise GateConflict("you have already voted on this gate")
    session.add(ApprovalVote(gate_id=gate_id, person_id=person_id, option=option, comment=comment))
    session.flush()
    votes = list(session.exec(select(ApprovalVote.option).where(ApprovalVote.gate_id == gate_id)
                              .order_by(col(ApprovalVote.id))))
    actor = f"person:{person_id}"
    record_audit(session, actor=actor, action="gate.vote", record_type="approval_gate", record_id=gate_id,
                 after={"option": option, "votes": len(votes), "quorum": gate.quorum}, detail=comment or None)
    winner = tally(votes, gate.quorum, gate.veto_options)
    if winner is not None:
        _close(session, gate, winner, actor)
    session.commit()
    return gate


def _close(session: Session, gate: ApprovalGate, outcome: str, actor: str) -> None:
    gate.status = status_for(outcome)
    gate.outcome = outcome
    gate.decided_at = utcnow()
    gate.decision_token = sign(gate)
    gate.next_escalation_at = None
    session.add(gate)
    record_audit(session, actor=actor, action=f"gate.{gate.status.value}", record_type="approval_gate",
                 record_id=gate.id, before={"status": "pending"}, after={"status": gate.status.value,
                                                                        "outcome": outcome})


def close_by_system(session: Session, gate: ApprovalGate, outcome: str, *, actor: str) -> bool:
    """Decide a pending gate on the system's authority (a drill ended by a real incident, a form submitted
    through the API); signed like any decision. False if the gate was no longer pending."""
    if gate.status != GateStatus.PENDING:
        return False
    _close(session, gate, outcome, actor)
    return True


def escalate_due(session: Session, *, now: datetime | None = None) -> list[tuple[ApprovalGate, str]]:
    """Move overdue pending gates to their next escalation role; returns (gate, role) pairs."""
    now = now or utcnow()
    due = session.exec(
        select(ApprovalGate).where(ApprovalGate.status == GateStatus.PENDING,
                                   col(ApprovalGate.next_escalation_at).is_not(None),
                                   col(ApprovalGate.next_escalation_at) <= now)
    ).all()
    escalated = []
    for gate in due:
        step = gate.escalation[gate.escalation_level]
        role = str(step["role"])
        gate.escalation_level += 1
        gate.eligible_roles = sorted({*gate.eligible_roles, role})
        times = escalation_times(gate.created_at, gate.escalation)
        gate.next_escalation_at = times[gate.escalation_level] if gate.escalation_level < len(times) else None
        session.add(gate)
        record_audit(session, actor="system:sweeper", action="gate.escalated", record_type="approval_gate",
                     record_id=gate.id, after={"role": role, "level": gate.escalation_level})
        escalated.append((gate, role))
    session.flush()
    return escalated


def expire_due(session: Session, *, now: datetime | None = None) -> list[ApprovalGate]:
    """Close pending gates past their deadline with outcome 'expired'."""
    now = now or utcnow()
    due = session.exec(
        select(ApprovalGate).where(ApprovalGate.status == GateStatus.PENDING,
                                   col(ApprovalGate.deadline).is_not(None), col(ApprovalGate.deadline) <= now)
    ).all()
    for gate in due:
        _close(session, gate, EXPIRED, "system:sweeper")
    session.flush()
    return list(due)


def record_bypass(session: Session, *, gate: ApprovalGate, attempt_key: str, flow_run_id: str) -> bool:
    """Audit a resume that carried no valid decision, once per wait; returns True if newly recorded."""
    detail = f"resumed at wait {attempt_key} without a decision recorded through the API; waiting again"
    seen = session.exec(
        select(AuditEvent.id).where(AuditEvent.action == "gate.bypass_attempt",
                                    AuditEvent.record_id == str(gate.id), AuditEvent.detail == detail)
    ).first()
    if seen is not None:
        return False
    record_audit(session, actor=f"prefect:flow-run:{flow_run_id}", action="gate.bypass_attempt",
                 record_type="approval_gate", record_id=gate.id, detail=detail)
    return True
