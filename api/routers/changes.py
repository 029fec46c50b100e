"""/changes: change requests, their release runs, reviews and monthly metrics; change windows and freezes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import Session, col, select

from api.deps import Caller, CurrentCaller, SessionDep, load_visible, require_roles
from config.settings import get_settings
from itss.runs import start_flow
from models.changes.rules import MAJOR_CHARACTERISTICS, classify
from models.changes.service import change_metrics, create_change, month_bounds, set_change_status
from models.changes.spec import ChangeCreate
from models.changes.tables import (
    ChangeRequest,
    ChangeReview,
    ChangeStatus,
    ChangeStep,
    ChangeType,
)
from models.contracts.tables import Contract
from models.core.audit import record_audit
from models.core.clock import utcnow
from models.core.errors import FieldError
from models.core.types import Id
from models.directory.roles import RoleKey
from models.gates.tables import ApprovalGate
from models.incidents.tables import Document
from models.tenancy import find, visible

router = APIRouter(tags=["changes"])
RELEASE_DEPLOYMENT = "release_deployment/release_deployment"
Requester = Annotated[Caller, Depends(require_roles(RoleKey.CHANGE_MANAGER, RoleKey.ENGINEER,
                                                    RoleKey.PROJECT_MANAGER))]
ChangeManager = Annotated[Caller, Depends(require_roles(RoleKey.CHANGE_MANAGER))]
Reader = Annotated[Caller, Depends(require_roles(RoleKey.CHANGE_MANAGER, RoleKey.PROJECT_MANAGER,
                                                 RoleKey.OPS_MANAGER, RoleKey.LEADERSHIP,
                                                 RoleKey.SERVICE_LEVEL_MANAGER))]


class ChangePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    title: str
    description: str
    change_type: ChangeType
    risk: str
    impact: str
    standard_kind: str | None
    template_id: Id | None
    characteristics: list[str]
    ci_ids: list[Id]
    contract_id: Id | None
    window_start: datetime | None
    window_end: datetime | None
    planned_minutes: int
    causes_outage: bool
    release_version: str | None
    steps: list[dict[str, Any]]
    verification: list[dict[str, Any]]
    rollback: list[dict[str, Any]]
    rollback_verification: list[dict[str, Any]]
    test_evidence: str
    requested_by: int
    status: ChangeStatus
    flow_run_id: str | None
    scheduled_run_id: str | None
    approval_gate_ids: list[Id]
    approved_at: datetime | None
    ran_outside_window: bool
    submitted_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    outage_minutes: float
    cmdb_updated_at: datetime | None
    failure: str | None
    incident_id: Id | None
    created_at: datetime


class StepPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    phase: str
    position: int
    name: str
    kind: str
    status: str
    exit_code: int | None
    output: str
    started_at: datetime
    finished_at: datetime | None


class ReviewPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    due_at: datetime
    status: str
    goal_met: bool | None
    summary: str
    reviewed_by: int | None
    reviewed_at: datetime | None


class ChangeDetail(BaseModel):
    change: ChangePublic
    steps: list[StepPublic]
    gates: list[dict[str, Any]]
    review: ReviewPublic | None


class ReviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    goal_met: bool = Field(description="did the change reach its goal (monthly metric: changes that missed it)")
    summary: str = Field(min_length=1, max_length=4000)


class Classify(BaseModel):
    model_config = ConfigDict(extra="forbid")
    standard_kind: str | None = None
    characteristics: list[str] = []

    @field_validator("characteristics")
    @classmethod
    def _known_traits(cls, value: list[str]) -> list[str]:
        unknown = [t for t in value if t not in MAJOR_CHARACTERISTICS]
        if unknown:
            raise ValueError(f"unknown characteristic {unknown[0]!r}; known: {', '.join(MAJOR_CHARACTERISTICS)}")
        return value
    from_version: str | None = None
    to_version: str | None = None


def _get(session: Session, change_id: Id, caller: Caller) -> ChangeRequest:
    return load_visible(session, caller, ChangeRequest, change_id, "change request")


@router.post("/changes", response_model=ChangePublic, status_code=status.HTTP_201_CREATED)
def post_change(data: ChangeCreate, session: SessionDep, caller: Requester) -> ChangeRequest:
    """Store a change request as a draft (checked against the CMDB and the classification rules)."""
    if data.contract_id is not None and find(session, caller.scope, Contract, data.contract_id) is None:
        raise FieldError("contract_id", f"no contract with id {data.contract_id}; GET /contracts lists them")
    change = create_change(session, data=data, requested_by=caller.person_id, actor=caller.actor)
    session.commit()
    session.refresh(change)  # as stored: times in UTC, as every other answer gives them (not the request's +08:00)
    return change


@router.post("/changes/classify")
def post_classify(data: Classify, _caller: CurrentCaller) -> dict[str, Any]:
    """The least type the rules allow for a change, and why."""
    rules = classify(standard_kind=data.standard_kind, characteristics=data.characteristics,
                     from_version=data.from_version, to_version=data.to_version)
    return {"minimum_type": rules.minimum.value, "reasons": rules.reasons}


@router.post("/changes/{change_id}/submit", response_model=ChangePublic)
def submit_change(change_id: Id, session: SessionDep, caller: Requester) -> ChangeRequest:
    """Submit a draft: its release-deployment flow run starts (approvals, window, runbook)."""
    change = _get(session, change_id, caller)
    if change.status != ChangeStatus.DRAFT:
        raise HTTPException(status.HTTP_409_CONFLICT, f"change {change_id} is {change.status.value}, not a draft")
    if change.requested_by != caller.person_id and not caller.has(RoleKey.CHANGE_MANAGER, RoleKey.ADMIN):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the requester or a change manager submits a change")
    set_change_status(session, change, ChangeStatus.SUBMITTED, actor=caller.actor, submitted_at=utcnow())
    session.commit()
    run_id = start_flow(RELEASE_DEPLOYMENT, {"change_id": change_id})
    if run_id is None:  # nothing half-done: back to a draft the requester can submit again
        set_change_status(session, change, ChangeStatus.DRAFT, actor="system", detail="flow run could not start",
                          submitted_at=None)
        session.commit()
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "the release_deployment deployment could not be started (is `itss up` running?); "
                            "the change is still a draft, submit it again")
    change.flow_run_id = run_id
    session.add(change)
    session.commit()
    return change


@router.get("/changes", response_model=list[ChangePublic])
def list_changes(session: SessionDep, caller: CurrentCaller, status_: Annotated[
        ChangeStatus | None, Query(alias="status")] = None, change_type: ChangeType | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[ChangeRequest]:
    """Change requests, newest first."""
    query = select(ChangeRequest).where(visible(caller.scope, ChangeRequest)).order_by(
        col(ChangeRequest.id).desc()).limit(limit)
    if status_ is not None:
        query = query.where(ChangeRequest.status == status_)
    if change_type is not None:
        query = query.where(ChangeRequest.change_type == change_type)
    return list(session.exec(query))


@router.get("/changes/metrics")
def get_metrics(session: SessionDep, caller: Reader,
                month: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", examples=["2026-11"])]) -> dict[str, Any]:
    """Monthly change metrics: count per type, outage minutes, major changes on time, changes that missed their goal."""
    start, end = month_bounds(month, get_settings().tz)
    return {"month": month, **change_metrics(session, start, end, caller.scope)}


@router.get("/changes/{change_id}", response_model=ChangeDetail)
def get_change(change_id: Id, session: SessionDep, caller: CurrentCaller) -> ChangeDetail:
    """One change with its step log, its gates and its review."""
    change = _get(session, change_id, caller)
    steps = session.exec(select(ChangeStep).where(ChangeStep.change_id == change_id)
                         .order_by(col(ChangeStep.id)))
    gates = session.exec(select(ApprovalGate).where(ApprovalGate.record_type == "change_request",
                                                    col(ApprovalGate.record_id) == str(change_id))
                         .order_by(col(ApprovalGate.id)))
    review = session.exec(select(ChangeReview).where(ChangeReview.change_id == change_id)).first()
    return ChangeDetail(change=ChangePublic.model_validate(change),
                        steps=[StepPublic.model_validate(s) for s in steps],
                        gates=[{"id": g.id, "gate_key": g.gate_key, "status": g.status.value, "outcome": g.outcome,
                                "decided_at": g.decided_at} for g in gates],
                        review=ReviewPublic.model_validate(review) if review else None)


@router.get("/changes/{change_id}/report")
def get_report(change_id: Id, session: SessionDep, caller: CurrentCaller) -> dict[str, str]:
    """The release report (Markdown), once the change has run."""
    _get(session, change_id, caller)
    document = session.exec(select(Document).where(Document.kind == "release_report",
                                                   Document.record_id == str(change_id))).first()
    if document is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"change {change_id} has no release report yet")
    return {"title": document.title, "markdown": document.body_md}


@router.post("/changes/{change_id}/review", response_model=ReviewPublic)
def post_review(change_id: Id, data: ReviewCreate, session: SessionDep, caller: ChangeManager) -> ChangeReview:
    """Record the post-implementation review (change manager)."""
    _get(session, change_id, caller)
    review = session.exec(select(ChangeReview).where(ChangeReview.change_id == change_id)).first()
    if review is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"change {change_id} has not run yet: nothing to review")
    review.goal_met, review.summary, review.status = data.goal_met, data.summary, "done"
    review.reviewed_by, review.reviewed_at = caller.person_id, utcnow()
    session.add(review)
    record_audit(session, actor=caller.actor, action="change.reviewed", record_type="change_request",
                 record_id=change_id, after={"goal_met": data.goal_met}, detail=data.summary[:2000])
    session.commit()
    return review
