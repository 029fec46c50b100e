"""Sweeper tasks: escalation and expiry of gates, healing lost resumes, retrying notifications, stalled releases."""

from __future__ import annotations

from prefect import task
from prefect.client.schemas.objects import StateType
from sqlmodel import Session, col, select

from config.settings import get_settings
from itss.runs import dispatch_incident, resume, state_of
from models.changes.tables import ChangeRequest, ChangeStatus
from models.core.audit import AuditEvent, record_audit
from models.core.clock import utcnow
from models.core.db import session_scope
from models.core.heartbeat import SWEEPER, beat
from models.core.rows import must_get, stored_id
from models.directory.roles import RoleKey
from models.gates.service import escalate_due, expire_due
from models.gates.tables import ApprovalGate, GateStatus
from models.incidents.clocks import clock_states, sweep_clocks
from models.incidents.dispatch import undispatched
from models.incidents.tables import Incident, IncidentStatus
from models.sla.statutory import missing_years, statutory_calendar
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
            title, body = render("gate_escalated", gate=gate, role=role, link=gate_link(stored_id(gate)))
            enqueue(session, event="gate.escalated", dedupe_prefix=f"gate:{gate.id}:escalated:{gate.escalation_level}",
                    roles=[RoleKey(role)], title=title, body=body, gate_id=gate.id, contract_id=gate.contract_id)
            escalated += 1
        return escalated


@task(name="expire-overdue-gates")
def expire_overdue_gates() -> list[int]:
    """Close gates past their final deadline with outcome 'expired'."""
    with session_scope() as session:
        return [stored_id(gate) for gate in expire_due(session)]


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
                row = must_get(session, ApprovalGate, gate.id)
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
        told = tell_missing_calendar_years(session)
    return {"warned": len(warned), "breached": len(breached), "calendar_years_missing": len(told)}


def tell_missing_calendar_years(session: Session) -> list[int]:
    """Tell the admins and the service level manager, once per year, of a statutory year nobody entered that the
    clocks need: next year from 1 November on, or any year an open clock runs on provisionally."""
    years = set(missing_years(session, utcnow().astimezone(get_settings().tz).date()))
    for incident in session.exec(select(Incident).where(Incident.sla_provisional == True,  # noqa: E712
                                                        Incident.status != IncidentStatus.CLOSED)):
        for state in clock_states(session, incident):
            years.update(state.provisional_years)
    years = {y for y in years if statutory_calendar(session).year(y).provisional}
    told = []
    for year in sorted(years):
        key = f"calendar:missing:{year}"
        if session.exec(select(AuditEvent.id).where(AuditEvent.action == "calendar.missing",
                                                    AuditEvent.record_id == str(year))).first() is not None:
            continue
        record_audit(session, actor="system:sla", action="calendar.missing", record_type="statutory_year",
                     record_id=year, detail="clocks run on a provisional calendar until the year is entered")
        enqueue(session, event="calendar.missing", dedupe_prefix=key,
                roles=[RoleKey.ADMIN, RoleKey.SERVICE_LEVEL_MANAGER],
                title=f"Statutory calendar {year} missing: SLA due times are provisional",
                body=f"Nobody has entered the {year} holidays and make-up working days. SLA clocks that reach "
                     f"{year} run on a provisional calendar (weekdays less the festival dates of the holidays "
                     f"library, no make-up days) and are marked provisional. Import the State Council's notice: "
                     f"POST /calendar/years/{year}/import (YAML); the open clocks are then recomputed.")
        told.append(year)
    return told


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
                 body=f"Flow run {run_id} ended during the implementation. The sweeper retries it: completed steps are "
                      "skipped, and a step it was in is marked interrupted, which rolls the change back.")
        flagged += 1
    return flagged


@task(name="restore-plan-schedules")
def restore_plan_schedules() -> int:
    """Put back inspection plans' schedules that a deploy removed (applying a deployment replaces its schedules)."""
    from itss import plan_schedules

    with session_scope() as session:
        counts = plan_schedules.sync(session)
    return 0 if counts is None else counts["created"] + counts["updated"]


@task(name="record-sweep")
def record_sweep(summary: dict) -> None:
    """Write the sweeper's heartbeat: the API's dead-man's switch reads it."""
    with session_scope() as session:
        beat(session, SWEEPER, summary)
