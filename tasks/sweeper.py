"""Sweeper tasks: escalation and expiry of gates, healing lost resumes, retrying notifications."""

from __future__ import annotations

from prefect import task
from prefect.client.schemas.objects import StateType
from sqlmodel import col, select

from itss.runs import dispatch_incident, resume, state_of
from models.db import session_scope, utcnow
from models.gate_service import escalate_due, expire_due
from models.gates import ApprovalGate, GateStatus
from models.incident_service import sweep_clocks, undispatched
from models.roles import RoleKey
from notifications.outbox import enqueue
from notifications.render import gate_link, render
from notifications.sender import deliver_due


@task(name="escalate-overdue-gates")
def escalate_overdue_gates() -> int:
    """Widen overdue gates to their next escalation role and notify that role."""
    with session_scope() as session:
        escalated = 0
        for gate, role in escalate_due(session):
            title, body = render("gate_escalated", gate=gate, role=role, link=gate_link(gate.id))
            enqueue(session, event="gate.escalated", dedupe_prefix=f"gate:{gate.id}:escalated:{gate.escalation_level}",
                    roles=[RoleKey(role)], title=title, body=body, gate_id=gate.id, contract_id=gate.contract_id)
            escalated += 1
        return escalated


@task(name="expire-overdue-gates")
def expire_overdue_gates() -> list[int]:
    """Close gates past their final deadline with outcome 'expired'."""
    with session_scope() as session:
        return [int(gate.id) for gate in expire_due(session)]


@task(name="resume-decided-runs")
def resume_decided_runs() -> int:
    """Resume every run whose gate is decided but which still waits (the API's resume was lost)."""
    with session_scope() as session:
        gates = list(session.exec(select(ApprovalGate).where(
            ApprovalGate.status != GateStatus.PENDING, col(ApprovalGate.resumed_at).is_(None),
            col(ApprovalGate.decision_token).is_not(None))))
    resumed = 0
    for gate in gates:
        state = state_of(gate.flow_run_id)
        done = state is None or state not in (StateType.PAUSED, StateType.RUNNING, StateType.PENDING,
                                              StateType.SCHEDULED)
        if state == StateType.PAUSED:
            done = resume(gate.flow_run_id, {"gate_id": gate.id, "token": gate.decision_token}, within=5)
            resumed += int(done)
        if done:
            with session_scope() as session:
                row = session.get(ApprovalGate, gate.id)
                row.resumed_at = utcnow()
                session.add(row)
    return resumed


@task(name="retry-notifications")
def retry_notifications() -> dict[str, int]:
    """Send every due outbox row (new, or failed and past its backoff)."""
    report = deliver_due()
    return {"sent": report.sent, "failed": report.failed, "skipped": report.skipped}


@task(name="dispatch-incidents")
def dispatch_incidents() -> int:
    """Start emergency-response runs for incidents whose start was lost or deferred."""
    with session_scope() as session:
        ids = undispatched(session)
    return sum(1 for incident_id in ids if dispatch_incident(incident_id))


@task(name="sweep-sla-clocks")
def sweep_sla_clocks() -> dict[str, int]:
    """Warn at 80 % of an SLA target and record breaches, notifying the on-call and the PM."""
    with session_scope() as session:
        warned, breached = sweep_clocks(session)
        for incident_id, measure in warned + breached:
            kind = "breach" if (incident_id, measure) in breached else "warning"
            enqueue(session, event=f"sla.{kind}", dedupe_prefix=f"incident:{incident_id}:sla:{kind}:{measure}",
                    roles=[RoleKey.ENGINEER, RoleKey.PROJECT_MANAGER],
                    title=f"SLA {kind}: incident {incident_id} {measure}",
                    body=f"The {measure} clock of incident {incident_id} is at {'100' if kind == 'breach' else '80'}"
                         " % or more of its target.")
    return {"warned": len(warned), "breached": len(breached)}
