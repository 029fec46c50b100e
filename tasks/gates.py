"""`request_approval`: the one gate mechanism every flow uses.

It opens the gate (once per flow run and key, even when the run re-executes after a suspend),
notifies the eligible roles through the outbox, and waits durably: `suspend_flow_run` in a
deployment (the run survives the death of its process), an in-process `pause_flow_run` otherwise.
The flow continues only when the gate carries a decision signed by the API or the sweeper.
"""

from __future__ import annotations

from datetime import datetime

from prefect import get_run_logger, task
from prefect.context import FlowRunContext
from prefect.flow_runs import pause_flow_run, suspend_flow_run
from prefect.input import RunInput
from pydantic import BaseModel
from sqlmodel import col, select

from models.core.db import session_scope
from models.core.rows import id_of, stored_id
from models.gates.service import open_gate, record_bypass, verified
from models.gates.tables import ApprovalGate, ApprovalVote, GateSpec, GateStatus
from models.outbox.tables import Notification, NotificationStatus
from notifications.outbox import enqueue
from notifications.render import gate_link, render
from notifications.sender import deliver

# Waiting without a deadline: Prefect's pause would otherwise time out after an hour.
LONG_WAIT_SECONDS = 365 * 24 * 3600


class GateResume(RunInput):
    """What the API passes when it resumes a run at a gate."""

    gate_id: int = 0
    token: str = ""


class GateOutcome(BaseModel):
    """What the flow branches on."""

    gate_id: int
    status: GateStatus
    outcome: str
    decided_at: datetime
    voters: list[int]
    comments: list[str]

    @property
    def approved(self) -> bool:
        return self.status == GateStatus.APPROVED

    @property
    def decider(self) -> str:
        """Who decided, as audit entries name actors: the last voter, or the sweeper for an expired gate."""
        return f"person:{self.voters[-1]}" if self.voters else "system:sweeper"


@task(name="open-gate", retries=3, retry_delay_seconds=2)
def open_gate_task(flow_run_id: str, spec: GateSpec) -> int:
    """Create the gate row and its notifications once; a re-execution finds them again."""
    with session_scope() as session:
        gate, created = open_gate(session, flow_run_id=flow_run_id, spec=spec, actor=f"flow:{flow_run_id}")
        if created:
            title, body = render("gate_requested", gate=gate, link=gate_link(stored_id(gate)))
            enqueue(session, event="gate.requested", dedupe_prefix=f"gate:{gate.id}:requested",
                    roles=spec.eligible_roles, title=title, body=body, gate_id=gate.id,
                    contract_id=spec.contract_id)
        return stored_id(gate)


@task(name="notify-gate", retries=2, retry_delay_seconds=2)
def notify_gate(gate_id: int) -> int:
    """Try to send the gate's pending notifications now; failures stay in the outbox for the sweeper."""
    with session_scope() as session:
        ids = list(session.exec(select(id_of(Notification)).where(
            Notification.gate_id == gate_id, Notification.status == NotificationStatus.PENDING)))
    return deliver(ids).sent


def _outcome(gate_id: int) -> GateOutcome | None:
    with session_scope() as session:
        gate = session.get(ApprovalGate, gate_id)
        if gate is None or gate.decided_at is None or not verified(gate):  # (verified needs decided_at)
            return None
        votes = list(session.exec(select(ApprovalVote).where(col(ApprovalVote.gate_id) == gate_id)
                                  .order_by(col(ApprovalVote.id))))
        return GateOutcome(gate_id=gate_id, status=gate.status, outcome=str(gate.outcome),
                           decided_at=gate.decided_at, voters=[v.person_id for v in votes],
                           comments=[v.comment for v in votes if v.comment])


@task(name="audit-gate-bypass")
def audit_bypass(gate_id: int, attempt_key: str, flow_run_id: str) -> None:
    """Record that the run was resumed without a decision (Prefect UI Resume, raw API call)."""
    with session_scope() as session:
        gate = session.get(ApprovalGate, gate_id)
        if gate is not None:
            record_bypass(session, gate=gate, attempt_key=attempt_key, flow_run_id=flow_run_id)


def resume_hint(gate_id: int) -> str:
    """What Prefect's Resume dialog says about a gate: decisions are taken at the approval page."""
    return (f"**Decide this gate at the approval page: {gate_link(gate_id)}** (or `POST /approvals/{gate_id}/"
            "decision`). Decisions are taken there, by the people whose role the gate names, and signed. "
            "Resuming the run here carries no decision: it is recorded as a bypass attempt and the run waits "
            "again.")


def _bypass_reason(gate_id: int) -> str:
    with session_scope() as session:
        gate = session.get(ApprovalGate, gate_id)
        if gate is None:
            return "the gate no longer exists"
        if gate.status == GateStatus.PENDING:
            return "resumed from outside the approval page (e.g. Prefect's Resume button) while the gate is pending"
        return (f"the gate reads {gate.status.value} but carries no decision signed by this system "
                "(a hand-edited row or a token from another secret)")


def request_approval(spec: GateSpec, *, wait: str = "auto", poll_interval: int = 1) -> GateOutcome:
    """Open a gate and block the flow until it is approved, rejected or expired; returns the outcome.

    wait: "suspend" (durable; needs a deployment), "pause" (in-process), or "auto" (suspend when
    the run belongs to a deployment).
    """
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise RuntimeError("request_approval must be called inside a flow run")
    flow_run = context.flow_run
    flow_run_id = str(flow_run.id)
    suspend = wait == "suspend" or (wait == "auto" and flow_run.deployment_id is not None)
    logger = get_run_logger()

    gate_id = open_gate_task(flow_run_id, spec)
    try:
        notify_gate(gate_id)
    except Exception as exc:  # the rows stay in the outbox; the sweeper delivers them later
        logger.warning("gate %s notifications deferred to the sweeper: %s", gate_id, type(exc).__name__)

    attempt = 0
    while True:
        outcome = _outcome(gate_id)
        if outcome is not None:
            logger.info("gate %s %s", gate_id, outcome.status.value)
            return outcome
        key = f"gate-{gate_id}-wait-{attempt}"
        # Prefect's Resume dialog shows this description above the input form.
        wait_input = GateResume.with_initial_data(description=resume_hint(gate_id))
        if suspend:
            suspend_flow_run(wait_for_input=wait_input, key=key, timeout=None)
        else:
            pause_flow_run(wait_for_input=wait_input, key=key, timeout=LONG_WAIT_SECONDS,
                           poll_interval=poll_interval)
        if _outcome(gate_id) is None:
            # In the run's own log, where a manager looking at the run sees it (and in the audit).
            logger.warning("gate %s: bypass attempt — %s; recorded in the audit (gate.bypass_attempt), the run "
                           "waits again. Decide at %s", gate_id, _bypass_reason(gate_id), gate_link(gate_id))
            audit_bypass(gate_id, key, flow_run_id)
            attempt += 1
