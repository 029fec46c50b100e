"""/approvals: the gates people decide, and /notifications: the outbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from sqlmodel import Session, SQLModel, col, select

from api.deps import Caller, CurrentCaller, SessionDep, load_visible, require_roles
from itss.runs import resume
from models.core.clock import utcnow
from models.core.types import Id
from models.directory.roles import RoleKey
from models.gates.service import GateError, decide, may_decide
from models.gates.tables import ApprovalGate, ApprovalVote, Decision, GatePublic, GateStatus, VotePublic
from models.outbox.tables import Notification, NotificationPublic, NotificationStatus
from models.tenancy import may_read_gate, visible

router = APIRouter(tags=["approvals"])

# How long a decision waits for Prefect to take the resume (the run may still be on its way to the
# gate's pause). Kept well under a phone's or a client's patience; a resume not taken by then is
# done by the sweeper from the stored decision within its next pass (every 30 s).
RESUME_WAIT_SECONDS = 8.0


class DecisionResult(SQLModel):
    gate: GatePublic
    resumed: bool


def gate_public(session: Session, gate: ApprovalGate) -> GatePublic:
    """A gate with its votes."""
    votes = session.exec(select(ApprovalVote).where(col(ApprovalVote.gate_id) == gate.id)
                         .order_by(col(ApprovalVote.id)))
    return GatePublic(**gate.model_dump(), votes=[VotePublic.model_validate(v.model_dump()) for v in votes])


def pending_for(session: Session, caller: Caller) -> list[ApprovalGate]:
    """Pending gates this caller may still vote on."""
    voted = select(ApprovalVote.gate_id).where(ApprovalVote.person_id == caller.person_id)
    gates = session.exec(select(ApprovalGate).where(
        ApprovalGate.status == GateStatus.PENDING, col(ApprovalGate.id).not_in(voted),
        visible(caller.scope, ApprovalGate)).order_by(col(ApprovalGate.id)))
    return [g for g in gates if may_decide(g, person_id=caller.person_id, roles=set(caller.roles)) is None]


def load_gate(session: Session, gate_id: Id, caller: Caller) -> ApprovalGate:
    """The gate, or 404 (also for a gate of a contract the caller does not see)."""
    gate = load_visible(session, caller, ApprovalGate, gate_id, "approval gate")
    if not may_read_gate(caller.scope, gate, person_id=caller.person_id, roles=caller.roles):
        raise HTTPException(404, f"no approval gate with id {gate_id}")
    return gate


def take_decision(session: Session, caller: Caller, gate_id: Id, decision: Decision) -> DecisionResult:
    """Record the decision exactly once, then resume the run if the gate is now decided."""
    load_gate(session, gate_id, caller)
    try:
        gate = decide(session, gate_id=gate_id, person_id=caller.person_id, roles=set(caller.roles),
                      option=decision.decision, comment=decision.comment)
    except GateError as exc:
        raise HTTPException(exc.status, str(exc)) from None
    resumed = False
    if gate.status != GateStatus.PENDING:
        # Written and audited first; if Prefect does not take the resume, the sweeper retries it.
        resumed = resume(gate.flow_run_id, {"gate_id": gate.id, "token": gate.decision_token},
                         within=RESUME_WAIT_SECONDS)
        if resumed:
            gate.resumed_at = utcnow()
            session.add(gate)
            session.commit()
    return DecisionResult(gate=gate_public(session, gate), resumed=resumed)


@router.get("/approvals", response_model=list[GatePublic])
def my_pending(session: SessionDep, caller: CurrentCaller) -> list[GatePublic]:
    """Pending gates the caller may decide (their roles, not their own requests, not yet voted)."""
    return [gate_public(session, g) for g in pending_for(session, caller)]


@router.get("/approvals/{gate_id}", response_model=GatePublic)
def read_gate(gate_id: Id, session: SessionDep, caller: CurrentCaller) -> GatePublic:
    """One gate with its votes."""
    return gate_public(session, load_gate(session, gate_id, caller))


@router.post("/approvals/{gate_id}/decision", response_model=DecisionResult)
def post_decision(gate_id: Id, decision: Decision, session: SessionDep, caller: CurrentCaller) -> DecisionResult:
    """Decide a gate: 403 if not eligible or own request, 409 if already decided or voted, 422 for a bad option."""
    return take_decision(session, caller, gate_id, decision)


Watcher = Annotated[Caller, Depends(require_roles(RoleKey.OPS_MANAGER, RoleKey.PROJECT_MANAGER))]


@router.get("/notifications", response_model=list[NotificationPublic], tags=["notifications"])
def list_notifications(
    session: SessionDep, caller: Watcher, status: NotificationStatus | None = None, gate_id: Id | None = None
) -> list[Notification]:
    """The outbox: what was sent, what waits for a retry, what gave up (recipients, never URLs)."""
    query = select(Notification).where(visible(caller.scope, Notification)).order_by(
        col(Notification.id).desc()).limit(500)
    if status is not None:
        query = query.where(Notification.status == status)
    if gate_id is not None:
        query = query.where(Notification.gate_id == gate_id)
    return list(session.exec(query))
