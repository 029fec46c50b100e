"""Sweeper tasks: escalation and expiry of gates, healing lost resumes, retrying notifications, stalled releases."""

from __future__ import annotations

from prefect import task
from prefect.client.schemas.objects import StateType
from sqlmodel import col, select

from itss.runs import dispatch_incident, resume, state_of
from models.audit import AuditEvent, record_audit
from models.changes import ChangeRequest, ChangeStatus
from models.db import session_scope, utcnow
from models.gate_service import escalate_due, expire_due
from models.gates import ApprovalGate, GateStatus
from models.incident_service import sweep_clocks, undispatched
from models.roles import RoleKey
from notifications.outbox import enqueue
from notifications.render import gate_link, render
from notifications.sender import deliver_due
from tasks.notify import announce


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


ENDED_BADLY = (StateType.CRASHED, StateType.FAILED, StateType.CANCELLED)


@task(name="flag-stalled-releases")
def flag_stalled_releases() -> int:
    """Tell the change manager and the on-call engineer, once per run, of a release whose run ended mid-way."""
    with session_scope() as session:
        implementing = list(session.exec(select(ChangeRequest.id, ChangeRequest.flow_run_id, ChangeRequest.title)
                                         .where(ChangeRequest.status == ChangeStatus.IMPLEMENTING)))
    flagged = 0
    for change_id, run_id, title in implementing:
        if run_id is None or state_of(run_id) not in ENDED_BADLY:
            continue
        with session_scope() as session:
            seen = session.exec(select(AuditEvent.id).where(
                AuditEvent.action == "change.stalled", AuditEvent.record_id == str(change_id),
                AuditEvent.detail == run_id)).first()
            if seen is not None:
                continue
            record_audit(session, actor="system:sweeper", action="change.stalled", record_type="change_request",
                         record_id=change_id, detail=run_id)
        # Nothing is rolled back here: the target's state is known only from the step log.
        announce(event="change.stalled", dedupe_prefix=f"change:{change_id}:stalled:{run_id}",
                 roles=[RoleKey.CHANGE_MANAGER, RoleKey.ENGINEER],
                 title=f"Release stalled: change #{change_id} {title}",
                 body=f"Flow run {run_id} ended during the implementation. Retry it in Prefect: completed steps are "
                      "skipped, and a step it was in is marked interrupted, which rolls the change back.")
        flagged += 1
    return flagged
