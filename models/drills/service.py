"""Drill services: plans and their approval, runs, the step log, termination, evaluation, retention."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from models.cmdb.tables import ConfigurationItem
from models.core.audit import record_audit
from models.core.clock import utcnow
from models.core.errors import FieldError
from models.core.rows import must_get, stored_id
from models.drills.rules import retain_until, terminates
from models.drills.tables import (
    DrillEvaluation,
    DrillPlan,
    DrillPlanCreate,
    DrillRun,
    DrillStatus,
    DrillStep,
    EvaluationCreate,
    PlanStatus,
)
from models.gates.service import close_by_system
from models.gates.tables import ApprovalGate, GateStatus
from models.incidents.tables import Incident, IncidentCI


class DrillStateError(ValueError):
    """The plan or drill is not in a state that allows this step (the API answers 409)."""


def create_plan(session: Session, *, data: DrillPlanCreate, created_by: int, actor: str) -> DrillPlan:
    """A draft drill plan; its scope must name known CIs."""
    known = set(session.exec(select(ConfigurationItem.id).where(col(ConfigurationItem.id).in_(data.scope_ci_ids))))
    if set(data.scope_ci_ids) - known:
        raise FieldError("scope_ci_ids", f"unknown configuration items {sorted(set(data.scope_ci_ids) - known)}")
    if session.exec(select(DrillPlan.id).where(DrillPlan.name == data.name)).first():
        raise FieldError("name", f"a drill plan named {data.name!r} exists already; choose another name")
    plan = DrillPlan(**data.model_dump(mode="json"), created_by=created_by)
    session.add(plan)
    session.flush()
    record_audit(session, actor=actor, action="drill_plan.created", record_type="drill_plan", record_id=plan.id,
                 after={"name": plan.name, "cron": plan.cron, "timezone": plan.timezone})
    return plan


def approve_plan(session: Session, plan: DrillPlan, *, person_id: int, actor: str) -> None:
    """The project manager approves the plan (never its author); it is then scheduled."""
    if plan.status != PlanStatus.DRAFT:
        raise DrillStateError(f"plan {plan.id} is {plan.status.value}; only a draft plan is approved")
    if plan.created_by == person_id:
        raise DrillStateError("you wrote this plan, so another project manager must approve it (four-eyes rule)")
    plan.status, plan.approved_by, plan.approved_at = PlanStatus.APPROVED, person_id, utcnow()
    session.add(plan)
    record_audit(session, actor=actor, action="drill_plan.approved", record_type="drill_plan", record_id=plan.id,
                 before={"status": "draft"}, after={"status": "approved"})


def retire_plan(session: Session, plan: DrillPlan, *, actor: str) -> None:
    """A plan no longer run: its schedule goes; its drill records stay."""
    if plan.status == PlanStatus.RETIRED:
        raise DrillStateError(f"plan {plan.id} is retired already")
    before = plan.status
    plan.status = PlanStatus.RETIRED
    session.add(plan)
    record_audit(session, actor=actor, action="drill_plan.retired", record_type="drill_plan", record_id=plan.id,
                 before={"status": before.value}, after={"status": "retired"})


def log_step(session: Session, run: DrillRun, *, actor: str, kind: str, detail: str = "",
             at: datetime | None = None) -> DrillStep:
    """One line of the drill log."""
    step = DrillStep(run_id=stored_id(run), actor=actor, kind=kind, detail=detail, at=at or utcnow())
    session.add(step)
    return step


def start_run(session: Session, *, plan_id: int, flow_run_id: str, retention_years: int) -> tuple[DrillRun, bool]:
    """The drill of this flow run, started once; (run, created). Only approved plans run."""
    existing = session.exec(select(DrillRun).where(DrillRun.flow_run_id == flow_run_id)).first()
    if existing is not None:
        return existing, False
    plan = session.get(DrillPlan, plan_id)
    if plan is None or plan.status != PlanStatus.APPROVED:
        raise DrillStateError(f"drill plan {plan_id} is not approved; the project manager approves it first")
    now = utcnow()
    run = DrillRun(plan_id=plan_id, flow_run_id=flow_run_id, started_at=now,
                   retain_until=retain_until(now, retention_years))
    session.add(run)
    session.flush()
    log_step(session, run, actor=f"flow:{flow_run_id}", kind="started", detail=f"scenario: {plan.scenario}", at=now)
    record_audit(session, actor=f"flow:{flow_run_id}", action="drill.started", record_type="drill_run",
                 record_id=run.id, after={"plan_id": plan_id})
    return run, True


def add_step(session: Session, run: DrillRun, *, actor: str, detail: str) -> DrillStep:
    """A participant records what they did; only while the drill runs."""
    if run.status != DrillStatus.RUNNING:
        raise DrillStateError(f"drill {run.id} is {run.status.value}; steps are recorded while it runs")
    return log_step(session, run, actor=actor, kind="step", detail=detail)


def pending_gate(session: Session, run: DrillRun, prefix: str) -> ApprovalGate | None:
    """The drill run's pending gate whose key starts with `prefix`."""
    return session.exec(select(ApprovalGate).where(
        ApprovalGate.flow_run_id == run.flow_run_id, ApprovalGate.status == GateStatus.PENDING,
        col(ApprovalGate.gate_key).startswith(prefix))).first()


def terminate_for_incident(session: Session, incident: Incident, *,
                           actor: str) -> list[tuple[DrillRun, ApprovalGate | None]]:
    """End at once every running drill a real incident hits (a CI in scope, or Level I/II); reason recorded."""
    ci_ids = set(session.exec(select(IncidentCI.ci_id).where(IncidentCI.incident_id == incident.id)))
    stopped = []
    for run in session.exec(select(DrillRun).where(DrillRun.status == DrillStatus.RUNNING,
                                                   DrillRun.started_at <= incident.reported_at)):
        plan = must_get(session, DrillPlan, run.plan_id)
        reason = terminates(level=incident.level, incident_ci_ids=ci_ids, scope_ci_ids=set(plan.scope_ci_ids))
        if reason is None:
            continue
        run.status, run.ended_at = DrillStatus.TERMINATED, utcnow()
        run.termination_reason = f"real incident {incident.id} ({incident.title}): {reason}"
        run.terminating_incident_id = incident.id
        session.add(run)
        log_step(session, run, actor=actor, kind="terminated", detail=run.termination_reason)
        record_audit(session, actor=actor, action="drill.terminated", record_type="drill_run", record_id=run.id,
                     before={"status": "running"}, after={"status": "terminated", "incident_id": incident.id})
        gate = pending_gate(session, run, "drill-end")
        if gate is not None:
            close_by_system(session, gate, "terminated", actor=actor)
        stopped.append((run, gate))
    session.flush()
    return stopped


def record_end(session: Session, run: DrillRun, *, actor: str, at: datetime) -> None:
    """The drill lead ended the drill."""
    if run.status == DrillStatus.RUNNING:
        run.status, run.ended_at = DrillStatus.ENDED, at
        session.add(run)
        log_step(session, run, actor=actor, kind="ended", at=at)
        record_audit(session, actor=actor, action="drill.ended", record_type="drill_run", record_id=run.id,
                     before={"status": "running"}, after={"status": "ended"})


def record_abandoned(session: Session, run: DrillRun, *, actor: str, at: datetime, reason: str) -> None:
    """The drill lead called the drill off: terminated, with the reason; it is not evaluated."""
    if run.status == DrillStatus.RUNNING:
        run.status, run.ended_at = DrillStatus.TERMINATED, at
        run.termination_reason = f"abandoned by the drill lead: {reason}" if reason else "abandoned by the drill lead"
        session.add(run)
        log_step(session, run, actor=actor, kind="abandoned", detail=run.termination_reason, at=at)
        record_audit(session, actor=actor, action="drill.abandoned", record_type="drill_run", record_id=run.id,
                     before={"status": "running"}, after={"status": "terminated"})


def evaluate(session: Session, run: DrillRun, *, data: EvaluationCreate, evaluator_id: int,
             actor: str) -> tuple[DrillEvaluation, ApprovalGate | None]:
    """The scenario's evaluation form; it decides the run's evaluation gate. (evaluation, gate to resume)."""
    gate = pending_gate(session, run, "drill-evaluate")
    if run.status == DrillStatus.EVALUATED and gate is None:
        # The summary for sign-off is written from this form: another one would be signed off unseen. (The PM
        # sending the summary back opens a new evaluation gate, and the form is taken again.)
        raise DrillStateError(f"drill {run.id} is evaluated already; its summary awaits the PM's sign-off")
    if run.status not in (DrillStatus.ENDED, DrillStatus.EVALUATED):
        raise DrillStateError(f"drill {run.id} is {run.status.value}; it is evaluated after it ended")
    plan = must_get(session, DrillPlan, run.plan_id)
    evaluation = session.exec(select(DrillEvaluation).where(DrillEvaluation.run_id == run.id)).first() \
        or DrillEvaluation(run_id=stored_id(run), objectives_met=False, response_minutes=0, sla_response_minutes=0,
                           evaluator_id=evaluator_id)
    evaluation.objectives_met, evaluation.response_minutes = data.objectives_met, data.response_minutes
    evaluation.sla_response_minutes = plan.sla_response_minutes
    evaluation.problems_found, evaluation.evaluator_id, evaluation.at = data.problems_found, evaluator_id, utcnow()
    evaluation.improvements = [{"measure": m, "done": False} for m in data.improvements]
    session.add(evaluation)
    run.status = DrillStatus.EVALUATED
    session.add(run)
    log_step(session, run, actor=actor, kind="evaluated",
             detail=f"objectives {'met' if data.objectives_met else 'not met'}, response {data.response_minutes} min")
    record_audit(session, actor=actor, action="drill.evaluated", record_type="drill_run", record_id=run.id,
                 after=data.model_dump())
    if gate is not None:
        close_by_system(session, gate, "evaluated", actor=actor)
    session.flush()
    return evaluation, gate


def record_signoff(session: Session, run: DrillRun, *, person_id: int | None, actor: str) -> None:
    """The PM signed the drill off."""
    if run.status != DrillStatus.SIGNED_OFF:
        run.status, run.signed_off_by, run.signed_off_at = DrillStatus.SIGNED_OFF, person_id, utcnow()
        session.add(run)
        log_step(session, run, actor=actor, kind="signed_off")
        record_audit(session, actor=actor, action="drill.signed_off", record_type="drill_run", record_id=run.id,
                     after={"status": "signed_off"})


def delete_run(session: Session, run: DrillRun, *, actor: str, now: datetime | None = None) -> None:
    """Delete a drill record, only after its retention period (six years); audited."""
    now = now or utcnow()
    if now < run.retain_until:
        raise DrillStateError(f"drill records are kept until {run.retain_until.date().isoformat()} "
                              f"(six years, 001 §2.3.2.3); drill {run.id} cannot be deleted before")
    record_audit(session, actor=actor, action="drill.purged", record_type="drill_run", record_id=run.id,
                 before={"plan_id": run.plan_id, "started_at": run.started_at.isoformat(),
                         "status": run.status.value, "retain_until": run.retain_until.isoformat()})
    session.delete(run)


def purge_expired(session: Session, *, now: datetime | None = None) -> list[int]:
    """Delete every drill record past its retention (the housekeeping job); each deletion audited."""
    now = now or utcnow()
    purged = []
    for run in session.exec(select(DrillRun).where(DrillRun.retain_until <= now)):
        purged.append(stored_id(run))
        delete_run(session, run, actor="system:retention", now=now)
    session.flush()
    return purged
