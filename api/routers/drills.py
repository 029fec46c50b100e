"""/drills: drill plans approved by the PM and scheduled, the runs' step log, evaluation, report, retention."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlmodel import Session, col, select

from api.deps import Caller, CurrentCaller, InternalRecords, SessionDep, require_roles
from itss import drill_schedules
from itss.runs import resume, start_flow
from models.core.audit import record_audit
from models.core.db import session_scope
from models.core.types import Id
from models.directory.roles import RoleKey
from models.drills import service
from models.drills.service import DrillStateError
from models.drills.tables import (
    DrillEvaluation,
    DrillPlan,
    DrillPlanCreate,
    DrillRun,
    DrillStep,
    EvaluationCreate,
    PlanStatus,
    StepCreate,
)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/drills", tags=["drills"], dependencies=[InternalRecords])
Planner = Annotated[Caller, Depends(require_roles(RoleKey.PROJECT_MANAGER, RoleKey.ENGINEER,
                                                  RoleKey.TECHNICAL_SUPPORT))]
Manager = Annotated[Caller, Depends(require_roles(RoleKey.PROJECT_MANAGER))]
Participant = Annotated[Caller, Depends(require_roles(*[r for r in RoleKey if r != RoleKey.CUSTOMER_REP]))]


class RunDetail(BaseModel):
    run: dict
    steps: list[dict]
    evaluation: dict | None


def _plan(session: Session, plan_id: Id) -> DrillPlan:
    plan = session.get(DrillPlan, plan_id)
    if plan is None:
        raise HTTPException(404, f"no drill plan with id {plan_id}")
    return plan


def _run(session: Session, run_id: Id) -> DrillRun:
    run = session.get(DrillRun, run_id)
    if run is None:
        raise HTTPException(404, f"no drill run with id {run_id}")
    return run


def _conflict(exc: DrillStateError) -> HTTPException:
    return HTTPException(409, str(exc))


def _sync_schedules() -> None:
    # After the response: the approval is saved whatever happens here; `itss up` applies the
    # schedules when it serves the deployment.
    try:
        with session_scope() as session:
            drill_schedules.sync(session)
    except Exception as exc:
        log.warning("drill schedules not synced to Prefect: %s", type(exc).__name__)


@router.post("/plans", response_model=DrillPlan, status_code=201)
def create_plan(data: DrillPlanCreate, session: SessionDep, caller: Planner) -> DrillPlan:
    """A draft drill plan (scenario, scope CIs, the emergency plan, participants by role, cron)."""
    plan = service.create_plan(session, data=data, created_by=caller.person_id, actor=caller.actor)
    session.commit()
    return plan


@router.get("/plans", response_model=list[DrillPlan])
def list_plans(session: SessionDep, _caller: CurrentCaller) -> list[DrillPlan]:
    """Every drill plan."""
    return list(session.exec(select(DrillPlan).order_by(col(DrillPlan.id))))


@router.post("/plans/{plan_id}/approve", response_model=DrillPlan)
def approve_plan(plan_id: Id, session: SessionDep, caller: Manager, tasks: BackgroundTasks) -> DrillPlan:
    """The project manager approves a plan (not their own); it is scheduled on its cron at once."""
    plan = _plan(session, plan_id)
    try:
        service.approve_plan(session, plan, person_id=caller.person_id, actor=caller.actor)
    except DrillStateError as exc:
        raise _conflict(exc) from None
    session.commit()
    tasks.add_task(_sync_schedules)
    return plan


@router.post("/plans/{plan_id}/retire", response_model=DrillPlan)
def retire_plan(plan_id: Id, session: SessionDep, caller: Manager, tasks: BackgroundTasks) -> DrillPlan:
    """Stop scheduling a plan (its drill records are kept)."""
    plan = _plan(session, plan_id)
    try:
        service.retire_plan(session, plan, actor=caller.actor)
    except DrillStateError as exc:
        raise _conflict(exc) from None
    session.commit()
    tasks.add_task(_sync_schedules)
    return plan


@router.post("/plans/{plan_id}/run", status_code=202)
def run_now(plan_id: Id, session: SessionDep, caller: Manager) -> dict:
    """Start an approved plan's drill now, outside its schedule; returns the Prefect flow run id."""
    plan = _plan(session, plan_id)
    if plan.status != PlanStatus.APPROVED:
        raise HTTPException(409, f"plan {plan_id} is {plan.status.value}; the project manager approves it first")
    flow_run_id = start_flow(drill_schedules.DEPLOYMENT, {"plan_id": plan_id})
    if flow_run_id is None:
        raise HTTPException(503, "the drill flow could not be started (is Prefect running?); try again")
    record_audit(session, actor=caller.actor, action="drill.requested", record_type="drill_plan", record_id=plan_id,
                 after={"flow_run_id": flow_run_id})
    session.commit()
    return {"flow_run_id": flow_run_id}


@router.get("/runs", response_model=list[DrillRun])
def list_runs(session: SessionDep, _caller: CurrentCaller, plan_id: Id | None = None) -> list[DrillRun]:
    """Drill runs, newest first."""
    query = select(DrillRun).order_by(col(DrillRun.id).desc()).limit(500)
    if plan_id is not None:
        query = query.where(DrillRun.plan_id == plan_id)
    return list(session.exec(query))


@router.get("/runs/{run_id}", response_model=RunDetail)
def get_run(run_id: Id, session: SessionDep, _caller: CurrentCaller) -> RunDetail:
    """A drill run with its step log (who did what, when) and its evaluation."""
    run = _run(session, run_id)
    steps = session.exec(select(DrillStep).where(col(DrillStep.run_id) == run_id)
                         .order_by(col(DrillStep.at), col(DrillStep.id)))
    evaluation = session.exec(select(DrillEvaluation).where(DrillEvaluation.run_id == run_id)).first()
    return RunDetail(run=run.model_dump(mode="json", exclude={"summary_html"}),
                     steps=[s.model_dump(mode="json") for s in steps],
                     evaluation=evaluation.model_dump(mode="json") if evaluation else None)


@router.post("/runs/{run_id}/steps", status_code=201)
def add_step(run_id: Id, data: StepCreate, session: SessionDep, caller: Participant) -> dict:
    """A participant records a step they performed."""
    run = _run(session, run_id)
    try:
        step = service.add_step(session, run, actor=caller.actor, detail=data.detail)
    except DrillStateError as exc:
        raise _conflict(exc) from None
    session.commit()
    return step.model_dump(mode="json")


@router.post("/runs/{run_id}/evaluation", status_code=201)
def evaluate(run_id: Id, data: EvaluationCreate, session: SessionDep, caller: Planner) -> dict:
    """The scenario's evaluation form (《应急演练评估表》); the flow then writes the summary for sign-off."""
    run = _run(session, run_id)
    try:
        evaluation, gate = service.evaluate(session, run, data=data, evaluator_id=caller.person_id,
                                            actor=caller.actor)
    except DrillStateError as exc:
        raise _conflict(exc) from None
    session.commit()
    if gate is not None:  # if Prefect misses this, the sweeper resumes decided gates
        resume(gate.flow_run_id, {"gate_id": gate.id, "token": gate.decision_token})
    return evaluation.model_dump(mode="json")


@router.get("/runs/{run_id}/report", response_class=HTMLResponse)
def report(run_id: Id, session: SessionDep, _caller: CurrentCaller) -> HTMLResponse:
    """The summary report (HTML, every value escaped)."""
    run = _run(session, run_id)
    if not run.summary_html:
        raise HTTPException(404, "no summary yet: it is written after the evaluation (or the termination)")
    return HTMLResponse(run.summary_html, headers={"Content-Security-Policy": "default-src 'none'; style-src "
                                                                              "'unsafe-inline'"})


@router.delete("/runs/{run_id}", status_code=204)
def delete_run(run_id: Id, session: SessionDep, caller: Manager) -> None:
    """Refused for six years (the retention setting); afterwards the record is deleted, audited."""
    run = _run(session, run_id)
    try:
        service.delete_run(session, run, actor=caller.actor)
    except DrillStateError as exc:
        raise _conflict(exc) from None
    session.commit()
