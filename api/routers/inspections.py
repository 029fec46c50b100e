"""/inspection-plans, /inspection-runs: plans as data, on-demand runs, results, history, CSV export."""

from __future__ import annotations

import csv
import io
import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Body, Depends, HTTPException, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError
from sqlmodel import Session, col, select

from api.deps import Caller, CurrentCaller, SessionDep, load_visible, require_roles
from api.errors import FieldErrors
from itss import plan_schedules
from itss.runs import start_flow
from models.cmdb.tables import ConfigurationItem
from models.core.db import session_scope
from models.core.rows import stored_id
from models.core.types import Id
from models.directory.roles import RoleKey
from models.inspection.plan import PlanSpec, parse_yaml
from models.inspection.service import PlanError, open_run, plan_by_ref, save_plan, set_active
from models.inspection.tables import CheckStatus, InspectionPlan, InspectionResult, InspectionRun
from models.tenancy import Scope, visible

log = logging.getLogger(__name__)
router = APIRouter(tags=["inspection"])
Lead = Annotated[Caller, Depends(require_roles(RoleKey.ENGINEER, RoleKey.PROJECT_MANAGER, RoleKey.OPS_MANAGER))]
DEPLOYMENT = plan_schedules.DEPLOYMENT
PLAN_APPROVAL = "plan_approval/plan_approval"


class PlanPublic(BaseModel):
    id: int
    name: str
    active: bool
    spec: PlanSpec
    updated_at: datetime
    version: int
    approval_status: str


class PlanActive(BaseModel):
    active: StrictBool


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
        plans = [save_plan(session, spec, actor=caller.actor, author=caller.person_id) for spec in specs]
    except PlanError as exc:
        session.rollback()  # all plans of a file, or none
        raise FieldErrors([{"field": exc.field, "message": str(exc).split(": ", 1)[1]}]) from None
    session.commit()
    for plan in plans:
        if plan.approval_status == "pending" and plan.approval_flow_run_id is None:
            # A second person approves commands before they run; the sweeper retries a lost start.
            run_id = start_flow(PLAN_APPROVAL, {"plan_id": plan.id, "version": plan.version})
            if run_id is not None:
                plan.approval_flow_run_id = run_id
                session.add(plan)
                session.commit()
    tasks.add_task(_sync_schedules)
    return plans


def _public(plan: InspectionPlan) -> PlanPublic:
    return PlanPublic(id=stored_id(plan), name=plan.name, active=plan.active, spec=PlanSpec.model_validate(plan.spec),
                      updated_at=plan.updated_at, version=plan.version, approval_status=plan.approval_status)


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
def list_plans(session: SessionDep, caller: CurrentCaller) -> list[PlanPublic]:
    """Every plan (provider staff only: plans are internal, README "Tenancy")."""
    query = select(InspectionPlan).where(visible(caller.scope, InspectionPlan)).order_by(InspectionPlan.name)
    return [_public(p) for p in session.exec(query)]


def _plan(session: Session, ref: str, scope: Scope) -> InspectionPlan:
    plan = plan_by_ref(session, ref)
    if plan is None or not scope.internal:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no inspection plan {ref!r} (id or name)")
    return plan


@router.get("/inspection-plans/{ref}", response_model=PlanPublic)
def get_plan(ref: str, session: SessionDep, caller: CurrentCaller) -> PlanPublic:
    """One plan, by id or name."""
    return _public(_plan(session, ref, caller.scope))


@router.patch("/inspection-plans/{ref}", response_model=PlanPublic)
def set_plan_active(ref: str, body: PlanActive, session: SessionDep, caller: Lead,
                    tasks: BackgroundTasks) -> PlanPublic:
    """Pause (`active: false`) or resume a plan's schedule; on-demand runs stay possible."""
    plan = set_active(session, _plan(session, ref, caller.scope), body.active, actor=caller.actor)
    session.commit()
    tasks.add_task(_sync_schedules)
    return _public(plan)


class RunStarted(BaseModel):
    plan: str
    run_id: int = Field(description="the inspection run: GET /inspection-runs/{run_id}")
    flow_run_id: str = Field(description="its Prefect flow run")
    url: str


@router.post("/inspection-plans/{ref}/runs", response_model=RunStarted, status_code=202)
def run_now(ref: str, session: SessionDep, caller: Lead) -> RunStarted:
    """Start the plan now (an on-demand run of the routine_inspection deployment); answers the inspection run's id."""
    plan = _plan(session, ref, caller.scope)
    if plan.approval_status != "approved":
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"plan {plan.name!r} v{plan.version} runs commands on CIs (ssh_command) and is "
                            f"{plan.approval_status}: a CAB member other than its author approves it first "
                            "(GET /approvals)")
    # The run record first, so its id can be answered now; the flow adopts it instead of opening another.
    run = open_run(session, plan, trigger="manual", flow_run_id=None)
    session.commit()
    flow_run_id = start_flow(DEPLOYMENT, {"plan": plan.name, "trigger": "manual", "run_id": run.id})
    if flow_run_id is None:
        session.delete(run)  # nothing half-written: no run record for a run that never started
        session.commit()
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            f"Prefect did not accept a run of {DEPLOYMENT}; is `itss up` (or a worker) running?")
    run.flow_run_id = flow_run_id
    session.add(run)
    session.commit()
    return RunStarted(plan=plan.name, run_id=stored_id(run), flow_run_id=flow_run_id, url=f"/inspection-runs/{run.id}")


class RunSummary(BaseModel):
    """A run in a list: its counts without the report (GET /inspection-runs/{id} has it)."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    plan_id: int
    flow_run_id: str | None
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    targets: int
    checks: int
    counts: dict[str, int]
    incidents_opened: list[int]


@router.get("/inspection-runs", response_model=list[RunSummary])
def list_runs(session: SessionDep, caller: CurrentCaller, plan: str | None = None,
              limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[InspectionRun]:
    """Recent runs, newest first, optionally of one plan (without their reports)."""
    query = select(InspectionRun).where(visible(caller.scope, InspectionRun)).order_by(
        col(InspectionRun.id).desc()).limit(limit)
    if plan is not None:
        query = query.where(InspectionRun.plan_id == _plan(session, plan, caller.scope).id)
    return list(session.exec(query))


def _run(session: Session, run_id: Id, caller: Caller) -> InspectionRun:
    return load_visible(session, caller, InspectionRun, run_id, "inspection run")


@router.get("/inspection-runs/{run_id}", response_model=InspectionRun)
def get_run(run_id: Id, session: SessionDep, caller: CurrentCaller) -> InspectionRun:
    """One run with its counts and report."""
    return _run(session, run_id, caller)


def _results(session: Session, caller: Caller, run_id: Id, status_: CheckStatus | None, ci_id: Id | None,
             check: str | None, limit: int, offset: int):
    _run(session, run_id, caller)  # 404 for an unknown run
    query = select(InspectionResult).where(InspectionResult.run_id == run_id)
    if status_ is not None:
        query = query.where(InspectionResult.status == status_)
    if ci_id is not None:
        query = query.where(InspectionResult.ci_id == ci_id)
    if check is not None:
        query = query.where(InspectionResult.check_key == check)
    rows = list(session.exec(query.order_by(col(InspectionResult.id)).offset(offset).limit(limit)))
    ids = {r.ci_id for r in rows}
    names = dict(session.exec(select(ConfigurationItem.id, ConfigurationItem.name)
                              .where(col(ConfigurationItem.id).in_(ids))).all()) if ids else {}
    return [ResultPublic(**r.model_dump(), ci_name=names.get(r.ci_id, "")) for r in rows]


class ResultPublic(BaseModel):
    """One result with its CI's name beside its id."""

    id: int
    run_id: Id
    ci_id: Id
    ci_name: str
    check_key: str
    probe: str
    status: CheckStatus
    value: float | None
    threshold: str
    message: str
    duration_ms: float
    checked_at: datetime


@router.get("/inspection-runs/{run_id}/results", response_model=list[ResultPublic])
def run_results(run_id: Id, session: SessionDep, caller: CurrentCaller,
                status_: Annotated[CheckStatus | None, Query(alias="status")] = None,
                ci_id: Id | None = None, check: str | None = None,
                limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
                offset: Annotated[int, Query(ge=0)] = 0) -> list[Any]:
    """A run's results, filtered by status, CI and check."""
    return list(_results(session, caller, run_id, status_, ci_id, check, limit, offset))


CSV_COLUMNS = ["run_id", "ci_id", "ci_name", "check_key", "probe", "status", "value", "threshold", "message",
               "duration_ms", "checked_at"]


@router.get("/inspection-runs/{run_id}/results.csv")
def run_results_csv(run_id: Id, session: SessionDep, caller: CurrentCaller,
                    status_: Annotated[CheckStatus | None, Query(alias="status")] = None,
                    ci_id: Id | None = None, check: str | None = None) -> Response:
    """The same results as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese text)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in _results(session, caller, run_id, status_, ci_id, check, 1_000_000, 0):
        data = row.model_dump()
        writer.writerow([getattr(data[c], "value", data[c]) for c in CSV_COLUMNS])
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="inspection-run-{run_id}.csv"'})


@router.get("/cis/{ci_id}/checks/{check}/history", response_model=list[InspectionResult])
def check_history(ci_id: Id, check: str, session: SessionDep, caller: CurrentCaller,
                  since: datetime | None = None, limit: Annotated[int, Query(ge=1, le=10_000)] = 500) -> list[Any]:
    """One CI's results of one check over time, newest first."""
    load_visible(session, caller, ConfigurationItem, ci_id, "configuration item")
    query = select(InspectionResult).where(InspectionResult.ci_id == ci_id, InspectionResult.check_key == check,
                                           visible(caller.scope, InspectionResult))
    if since is not None:
        query = query.where(InspectionResult.checked_at >= since)
    return list(session.exec(query.order_by(col(InspectionResult.checked_at).desc()).limit(limit)))
