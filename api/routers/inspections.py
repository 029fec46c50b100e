"""/inspection-plans, /inspection-runs: plans as data, on-demand runs, results, history, CSV export."""

from __future__ import annotations

import csv
import io
import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Body, Depends, HTTPException, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, col, select

from api.deps import Caller, CurrentCaller, SessionDep, require_roles
from api.errors import FieldErrors
from itss import plan_schedules
from itss.runs import start_flow
from models.db import session_scope
from models.inspection import CheckStatus, InspectionPlan, InspectionResult, InspectionRun
from models.inspection_plan import PlanSpec, parse_yaml
from models.inspection_service import PlanError, plan_by_ref, save_plan, set_active
from models.roles import RoleKey

log = logging.getLogger(__name__)
router = APIRouter(tags=["inspection"])
Lead = Annotated[Caller, Depends(require_roles(RoleKey.ENGINEER, RoleKey.PROJECT_MANAGER, RoleKey.OPS_MANAGER))]
DEPLOYMENT = plan_schedules.DEPLOYMENT


class PlanPublic(BaseModel):
    id: int
    name: str
    active: bool
    spec: PlanSpec
    updated_at: datetime


class PlanActive(BaseModel):
    active: bool


def _sync_schedules() -> None:
    # After the response (a Prefect that is away retries for seconds): the plan is saved whatever
    # happens here, and `itss up` or `itss schedules sync` catches up later.
    try:
        with session_scope() as session:
            plan_schedules.sync(session)
    except Exception as exc:
        log.warning("inspection plan schedules not synced to Prefect: %s", type(exc).__name__)


def _save(session: Session, specs: list[PlanSpec], caller: Caller, tasks: BackgroundTasks) -> list[InspectionPlan]:
    try:
        plans = [save_plan(session, spec, actor=caller.actor) for spec in specs]
    except PlanError as exc:
        session.rollback()  # all plans of a file, or none
        raise FieldErrors([{"field": exc.field, "message": str(exc).split(": ", 1)[1]}]) from None
    session.commit()
    tasks.add_task(_sync_schedules)
    return plans


def _public(plan: InspectionPlan) -> PlanPublic:
    return PlanPublic(id=plan.id, name=plan.name, active=plan.active, spec=PlanSpec.model_validate(plan.spec),
                      updated_at=plan.updated_at)


@router.post("/inspection-plans", response_model=PlanPublic, status_code=201)
def put_plan(spec: PlanSpec, session: SessionDep, caller: Lead, tasks: BackgroundTasks) -> PlanPublic:
    """Create a plan, or replace the plan of the same name."""
    return _public(_save(session, [spec], caller, tasks)[0])


@router.post("/inspection-plans/import", response_model=list[PlanPublic], status_code=201)
async def import_plans(request: Request, session: SessionDep, caller: Lead, tasks: BackgroundTasks,
                       _body: Annotated[str, Body(media_type="application/yaml", description="plans as YAML")] = ""
                       ) -> list[PlanPublic]:
    """Load plans from a YAML file (as kept in git): every plan valid, or nothing stored."""
    text = (await request.body()).decode("utf-8", errors="replace")
    try:
        specs = parse_yaml(text)
    except ValidationError as exc:
        raise FieldErrors([{"field": ".".join(str(p) for p in e["loc"]) or "body",
                               "message": str(e["msg"]).removeprefix("Value error, ")} for e in exc.errors()]) from None
    except Exception as exc:  # not YAML at all
        raise FieldErrors([{"field": "body", "message": f"not valid YAML: {exc}"}]) from None
    if not specs:
        raise FieldErrors([{"field": "body", "message": "no plan in the file"}])
    return [_public(p) for p in _save(session, specs, caller, tasks)]


@router.get("/inspection-plans", response_model=list[PlanPublic])
def list_plans(session: SessionDep, _caller: CurrentCaller) -> list[PlanPublic]:
    """Every plan."""
    return [_public(p) for p in session.exec(select(InspectionPlan).order_by(InspectionPlan.name))]


def _plan(session: Session, ref: str) -> InspectionPlan:
    plan = plan_by_ref(session, ref)
    if plan is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no inspection plan {ref!r} (id or name)")
    return plan


@router.get("/inspection-plans/{ref}", response_model=PlanPublic)
def get_plan(ref: str, session: SessionDep, _caller: CurrentCaller) -> PlanPublic:
    """One plan, by id or name."""
    return _public(_plan(session, ref))


@router.patch("/inspection-plans/{ref}", response_model=PlanPublic)
def set_plan_active(ref: str, body: PlanActive, session: SessionDep, caller: Lead,
                    tasks: BackgroundTasks) -> PlanPublic:
    """Pause (`active: false`) or resume a plan's schedule; on-demand runs stay possible."""
    plan = set_active(session, _plan(session, ref), body.active, actor=caller.actor)
    session.commit()
    tasks.add_task(_sync_schedules)
    return _public(plan)


class RunStarted(BaseModel):
    plan: str
    flow_run_id: str


@router.post("/inspection-plans/{ref}/runs", response_model=RunStarted, status_code=202)
def run_now(ref: str, session: SessionDep, _caller: Lead) -> RunStarted:
    """Start the plan now (an on-demand run of the routine_inspection deployment)."""
    plan = _plan(session, ref)
    run_id = start_flow(DEPLOYMENT, {"plan": plan.name, "trigger": "manual"})
    if run_id is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            f"Prefect did not accept a run of {DEPLOYMENT}; is `itss up` (or a worker) running?")
    return RunStarted(plan=plan.name, flow_run_id=run_id)


@router.get("/inspection-runs", response_model=list[InspectionRun])
def list_runs(session: SessionDep, _caller: CurrentCaller, plan: str | None = None,
              limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[InspectionRun]:
    """Recent runs, newest first, optionally of one plan."""
    query = select(InspectionRun).order_by(col(InspectionRun.id).desc()).limit(limit)
    if plan is not None:
        query = query.where(InspectionRun.plan_id == _plan(session, plan).id)
    return list(session.exec(query))


def _run(session: Session, run_id: int) -> InspectionRun:
    run = session.get(InspectionRun, run_id)
    if run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no inspection run {run_id}")
    return run


@router.get("/inspection-runs/{run_id}", response_model=InspectionRun)
def get_run(run_id: int, session: SessionDep, _caller: CurrentCaller) -> InspectionRun:
    """One run with its counts and report."""
    return _run(session, run_id)


def _results(session: Session, run_id: int, status_: CheckStatus | None, ci_id: int | None, check: str | None,
             limit: int, offset: int):
    _run(session, run_id)  # 404 for an unknown run
    query = select(InspectionResult).where(InspectionResult.run_id == run_id)
    if status_ is not None:
        query = query.where(InspectionResult.status == status_)
    if ci_id is not None:
        query = query.where(InspectionResult.ci_id == ci_id)
    if check is not None:
        query = query.where(InspectionResult.check_key == check)
    return session.exec(query.order_by(InspectionResult.id).offset(offset).limit(limit))


@router.get("/inspection-runs/{run_id}/results", response_model=list[InspectionResult])
def run_results(run_id: int, session: SessionDep, _caller: CurrentCaller,
                status_: Annotated[CheckStatus | None, Query(alias="status")] = None,
                ci_id: int | None = None, check: str | None = None,
                limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
                offset: Annotated[int, Query(ge=0)] = 0) -> list[Any]:
    """A run's results, filtered by status, CI and check."""
    return list(_results(session, run_id, status_, ci_id, check, limit, offset))


CSV_COLUMNS = ["run_id", "ci_id", "check_key", "probe", "status", "value", "threshold", "message", "duration_ms",
               "checked_at"]


@router.get("/inspection-runs/{run_id}/results.csv")
def run_results_csv(run_id: int, session: SessionDep, _caller: CurrentCaller,
                    status_: Annotated[CheckStatus | None, Query(alias="status")] = None,
                    ci_id: int | None = None, check: str | None = None) -> Response:
    """The same results as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese text)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in _results(session, run_id, status_, ci_id, check, 1_000_000, 0):
        data = row.model_dump()
        writer.writerow([getattr(data[c], "value", data[c]) for c in CSV_COLUMNS])
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="inspection-run-{run_id}.csv"'})


@router.get("/cis/{ci_id}/checks/{check}/history", response_model=list[InspectionResult])
def check_history(ci_id: int, check: str, session: SessionDep, _caller: CurrentCaller,
                  since: datetime | None = None, limit: Annotated[int, Query(ge=1, le=10_000)] = 500) -> list[Any]:
    """One CI's results of one check over time, newest first."""
    query = select(InspectionResult).where(InspectionResult.ci_id == ci_id, InspectionResult.check_key == check)
    if since is not None:
        query = query.where(InspectionResult.checked_at >= since)
    return list(session.exec(query.order_by(col(InspectionResult.checked_at).desc()).limit(limit)))
