"""Customer feedback and the risk register: satisfaction scores per closed incident, complaints, risks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from sqlmodel import Session, col, select

from api.deps import Caller, CurrentCaller, SessionDep, load_visible, require_roles
from models.contracts.tables import Contract
from models.core.audit import record_audit
from models.core.clock import utcnow
from models.core.errors import FieldError
from models.core.types import Id
from models.directory.roles import RoleKey
from models.incidents.tables import Incident, IncidentStatus
from models.review.tables import Complaint, Risk, RiskStatus, Satisfaction
from models.tenancy import Scope, find, visible

router = APIRouter(tags=["feedback and risks"])
Customer = Annotated[Caller, Depends(require_roles(RoleKey.CUSTOMER_REP))]
Desk = Annotated[Caller, Depends(require_roles(RoleKey.SERVICE_DESK, RoleKey.PROJECT_MANAGER, RoleKey.CUSTOMER_REP))]
RiskOwner = Annotated[Caller, Depends(require_roles(RoleKey.PROJECT_MANAGER, RoleKey.OPS_MANAGER,
                                                    RoleKey.SERVICE_LEVEL_MANAGER))]


class Score(BaseModel):
    model_config = ConfigDict(extra="forbid")
    score: int = Field(ge=1, le=5, description="1 very dissatisfied … 5 very satisfied")
    comment: str = Field(default="", max_length=2000)


class ComplaintCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contract_id: Id | None = None
    subject: str = Field(min_length=1, max_length=300)
    detail: str = Field(default="", max_length=4000)
    received_at: datetime | None = None


class RiskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contract_id: Id | None = None
    title: str = Field(min_length=1, max_length=300)
    owner_role: RoleKey
    owner_id: Id | None = None
    mitigation: str = Field(default="", max_length=4000)
    mitigation_due: date | None = None


class RiskUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Typed without None where null is meaningless: left out keeps the value, null is a 422 naming the field.
    title: str = Field(default=None, min_length=1, max_length=300)  # type: ignore[assignment]  # why: omittable but never null; pydantic has no type for that
    owner_role: RoleKey = Field(default=None)  # type: ignore[assignment]  # why: omittable but never null; pydantic has no type for that
    owner_id: Id | None = None
    status: RiskStatus = Field(default=None)  # type: ignore[assignment]  # why: omittable but never null; pydantic has no type for that
    mitigation: str = Field(default=None, max_length=4000)  # type: ignore[assignment]  # why: omittable but never null; pydantic has no type for that
    mitigation_due: date | None = None
    mitigation_done: StrictBool = Field(default=None, description="true records the mitigation as implemented now")  # type: ignore[assignment]  # why: omittable but never null; pydantic has no type for that


def _contract(session: Session, contract_id: Id | None, scope: Scope) -> None:
    if contract_id is None and not scope.internal:
        raise FieldError("contract_id", "give the contract it is about; GET /contracts lists yours")
    if contract_id is not None and find(session, scope, Contract, contract_id) is None:
        raise FieldError("contract_id", f"no contract with id {contract_id}; GET /contracts lists them")


@router.post("/incidents/{incident_id}/satisfaction", status_code=status.HTTP_201_CREATED)
def rate_incident(incident_id: Id, data: Score, session: SessionDep, caller: Customer) -> dict[str, Any]:
    """The requester scores a closed incident, once."""
    incident = load_visible(session, caller, Incident, incident_id, "incident")
    if incident.status != IncidentStatus.CLOSED:
        raise HTTPException(status.HTTP_409_CONFLICT, f"incident {incident_id} is {incident.status.value}: "
                                                      "score it once it is closed")
    if session.exec(select(Satisfaction.id).where(Satisfaction.incident_id == incident_id)).first() is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"incident {incident_id} has been scored already")
    rating = Satisfaction(incident_id=incident_id, contract_id=incident.contract_id, score=data.score,
                          comment=data.comment, rated_by=caller.person_id, rated_at=utcnow())
    session.add(rating)
    record_audit(session, actor=caller.actor, action="incident.rated", record_type="incident", record_id=incident_id,
                 after={"score": data.score})
    session.commit()
    return rating.model_dump(mode="json")


@router.get("/complaints")
def list_complaints(session: SessionDep, caller: CurrentCaller, contract_id: Id | None = None) -> list[dict]:
    """Complaints, newest first."""
    query = select(Complaint).where(visible(caller.scope, Complaint)).order_by(col(Complaint.received_at).desc())
    if contract_id is not None:
        query = query.where(Complaint.contract_id == contract_id)
    return [c.model_dump(mode="json") for c in session.exec(query)]


@router.post("/complaints", status_code=status.HTTP_201_CREATED)
def post_complaint(data: ComplaintCreate, session: SessionDep, caller: Desk) -> dict[str, Any]:
    """Record a complaint (service desk, project manager or the customer)."""
    _contract(session, data.contract_id, caller.scope)
    if data.received_at is not None and data.received_at.tzinfo is None:
        raise FieldError("received_at", "give a timezone, e.g. 2026-11-23T10:00:00+08:00")
    complaint = Complaint(**data.model_dump(exclude={"received_at"}), received_at=data.received_at or utcnow(),
                          recorded_by=caller.person_id)
    session.add(complaint)
    session.flush()
    record_audit(session, actor=caller.actor, action="complaint.recorded", record_type="complaint",
                 record_id=complaint.id, after={"subject": complaint.subject})
    session.commit()
    return complaint.model_dump(mode="json")


@router.post("/complaints/{complaint_id}/close")
def close_complaint(complaint_id: Id, session: SessionDep, caller: RiskOwner) -> dict[str, Any]:
    """Close a complaint once it has been answered."""
    complaint = load_visible(session, caller, Complaint, complaint_id, "complaint")
    complaint.status, complaint.closed_at = "closed", utcnow()
    session.add(complaint)
    record_audit(session, actor=caller.actor, action="complaint.closed", record_type="complaint",
                 record_id=complaint_id)
    session.commit()
    return complaint.model_dump(mode="json")


@router.get("/risks")
def list_risks(session: SessionDep, caller: CurrentCaller, contract_id: Id | None = None,
               status_: Annotated[RiskStatus | None, Query(alias="status")] = None) -> list[dict[str, Any]]:
    """The risk register."""
    query = select(Risk).where(visible(caller.scope, Risk)).order_by(col(Risk.id))
    if contract_id is not None:
        query = query.where(Risk.contract_id == contract_id)
    if status_ is not None:
        query = query.where(Risk.status == status_)
    return [r.model_dump(mode="json") for r in session.exec(query)]


@router.post("/risks", status_code=status.HTTP_201_CREATED)
def post_risk(data: RiskCreate, session: SessionDep, caller: RiskOwner) -> dict[str, Any]:
    """Add a risk with its owner and planned mitigation."""
    _contract(session, data.contract_id, caller.scope)
    risk = Risk.model_validate(data.model_dump())
    session.add(risk)
    session.flush()
    record_audit(session, actor=caller.actor, action="risk.created", record_type="risk", record_id=risk.id,
                 after=data.model_dump(mode="json"))
    session.commit()
    return risk.model_dump(mode="json")


@router.patch("/risks/{risk_id}")
def patch_risk(risk_id: Id, changes: RiskUpdate, session: SessionDep, caller: RiskOwner) -> dict[str, Any]:
    """Update a risk: owner, status, mitigation, or record the mitigation as implemented."""
    risk = load_visible(session, caller, Risk, risk_id, "risk")
    values = changes.model_dump(exclude_unset=True)
    done = values.pop("mitigation_done", None)
    before = risk.model_dump(mode="json")
    for key, value in values.items():
        setattr(risk, key, value)
    if done is not None:
        risk.mitigation_done_at = utcnow() if done else None
    risk.updated_at = utcnow()
    session.add(risk)
    after = risk.model_dump(mode="json")
    record_audit(session, actor=caller.actor, action="risk.updated", record_type="risk", record_id=risk_id,
                 before={k: before[k] for k in after if after[k] != before[k]},
                 after={k: after[k] for k in after if after[k] != before[k]})
    session.commit()
    return after
