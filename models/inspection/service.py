"""Inspection plans and runs in the database: save a plan, open a run, store results in bulk."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, insert
from sqlmodel import Session, select

from models.core.audit import record_audit
from models.core.clock import utcnow
from models.core.errors import FieldError
from models.core.rows import stored_id
from models.inspection.plan import PlanSpec, targets_of
from models.inspection.tables import InspectionPlan, InspectionResult, InspectionRun, RunStatus


class PlanError(FieldError):
    """A plan that validates as a document but not against the data (a scope matching no CI)."""


COMMAND_PROBES = {"ssh_command"}  # probes that run commands on the CIs


def runs_commands(spec: dict[str, Any]) -> bool:
    """True when a check of the plan runs commands on CIs: a second person must approve it."""
    return any(check.get("probe") in COMMAND_PROBES for check in spec.get("checks", []))


def save_plan(session: Session, spec: PlanSpec, *, actor: str, author: int | None = None) -> InspectionPlan:
    """Create or replace the plan named `spec.name`; its scope must match at least one CI.

    A new or changed plan that runs commands on CIs waits for approval (another person's)."""
    if not targets_of(session, spec):
        raise PlanError("scope", "matches no configuration item; widen ci_types, locations, criticality, "
                                 "tags or names (GET /cis lists the inventory)")
    plan = session.exec(select(InspectionPlan).where(InspectionPlan.name == spec.name)).first()
    before = dict(plan.spec) if plan else None
    if plan is None:
        plan = InspectionPlan(name=spec.name, spec=spec.model_dump(mode="json"))
    elif plan.spec != spec.model_dump(mode="json"):
        plan.spec, plan.updated_at, plan.version = spec.model_dump(mode="json"), utcnow(), plan.version + 1
        plan.approved_by = plan.approved_at = plan.approval_flow_run_id = None
    if plan.approval_flow_run_id is None and plan.approved_at is None:
        plan.approval_status = "pending" if runs_commands(plan.spec) else "approved"
        plan.submitted_by = author
    session.add(plan)
    session.flush()
    record_audit(session, actor=actor, action="inspection_plan.saved", record_type="inspection_plan",
                 record_id=plan.id, before=before, after=plan.spec)
    return plan


def set_active(session: Session, plan: InspectionPlan, active: bool, *, actor: str) -> InspectionPlan:
    """Pause or resume a plan's schedule (audited)."""
    if plan.active != active:
        before, plan.active, plan.updated_at = plan.active, active, utcnow()
        session.add(plan)
        session.flush()
        record_audit(session, actor=actor, action="inspection_plan.resumed" if active else "inspection_plan.paused",
                     record_type="inspection_plan", record_id=plan.id, before={"active": before},
                     after={"active": active})
    return plan


def plan_by_ref(session: Session, ref: str | int) -> InspectionPlan | None:
    """A plan by id or by name."""
    if isinstance(ref, int) or str(ref).isdigit():
        return session.get(InspectionPlan, int(ref))
    return session.exec(select(InspectionPlan).where(InspectionPlan.name == ref)).first()


def open_run(session: Session, plan: InspectionPlan, *, trigger: str, flow_run_id: str | None) -> InspectionRun:
    """Start recording a run of `plan`."""
    run = InspectionRun(plan_id=stored_id(plan), trigger=trigger, flow_run_id=flow_run_id)
    session.add(run)
    session.flush()
    return run


def store_results(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert result rows in one executemany (thousands per run: never one ORM object each)."""
    if rows:
        session.execute(insert(InspectionResult), rows)


def close_run(session: Session, run_id: int, *, status: RunStatus, report_md: str = "",
              incidents_opened: list[int] | None = None) -> InspectionRun:
    """Finish a run with counts computed in SQL from its stored results."""
    run = session.get(InspectionRun, run_id)
    assert run is not None
    counts = dict(session.exec(select(InspectionResult.status, func.count()).where(InspectionResult.run_id == run_id)
                               .group_by(InspectionResult.status)).all())
    run.counts = {str(getattr(k, "value", k)): int(v) for k, v in counts.items()}
    run.checks = sum(run.counts.values())
    run.status, run.finished_at, run.report_md = status, utcnow(), report_md
    run.incidents_opened = incidents_opened or []
    session.add(run)
    return run
