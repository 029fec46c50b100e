"""/reviews: quarterly delivery checklists, their reports, improvement measures and archive access."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from api.deps import Caller, SessionDep, load_visible, require_roles
from itss.runs import start_flow
from models.contracts.tables import Contract
from models.core.audit import record_audit
from models.core.clock import utcnow
from models.core.errors import FieldError
from models.core.rows import stored_id
from models.core.types import Id
from models.directory.roles import RoleKey
from models.review.service import active_grant
from models.review.tables import ArchiveAccess, ImprovementMeasure, QuarterlyReview, ReviewStatus
from models.tenancy import find, visible

router = APIRouter(tags=["quarterly review"])
Reader = Annotated[Caller, Depends(require_roles(
    RoleKey.PROJECT_MANAGER, RoleKey.OPS_MANAGER, RoleKey.SERVICE_LEVEL_MANAGER, RoleKey.LEADERSHIP,
    RoleKey.CUSTOMER_REP))]
Manager = Annotated[Caller, Depends(require_roles(RoleKey.PROJECT_MANAGER, RoleKey.OPS_MANAGER,
                                                  RoleKey.SERVICE_LEVEL_MANAGER))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReviewPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    contract_id: Id
    year: int
    quarter: int
    status: ReviewStatus
    flow_run_id: str | None
    compiled_at: datetime
    archived_at: datetime | None


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contract_id: Id
    year: int = Field(ge=2000, le=2100)
    quarter: int = Field(ge=1, le=4)


class AccessRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500, description="why you need to read the archived report")


class MeasureUpdate(BaseModel):
    """Fields of an improvement measure to change; anything left out keeps its value."""

    model_config = ConfigDict(extra="forbid")
    measure: str = Field(default=None, min_length=1, max_length=2000)  # type: ignore[assignment]  # why: omittable but never null; pydantic has no type for that
    owner_role: RoleKey = Field(default=None)  # type: ignore[assignment]  # why: omittable but never null; pydantic has no type for that
    due_on: date | None = None
    status: str | None = Field(default=None, pattern=r"^(open|done)$")
    notes: str | None = Field(default=None, max_length=4000)


def _review(session: Session, review_id: Id, caller: Caller) -> QuarterlyReview:
    return load_visible(session, caller, QuarterlyReview, review_id, "quarterly review")


def _readable(session: Session, review: QuarterlyReview, caller: Caller, what: str) -> None:
    """An archived report is read only with the ops management department manager's approval; each read is audited."""
    if review.status != ReviewStatus.ARCHIVED:
        return
    if active_grant(session, stored_id(review), caller.person_id) is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"review {review.id} is archived: ask the ops management department manager first "
                            f"(POST /reviews/{review.id}/access-requests)")
    record_audit(session, actor=caller.actor, action="review.read", record_type="quarterly_review",
                 record_id=review.id, detail=what)
    session.commit()


@router.get("/reviews", response_model=list[ReviewPublic])
def list_reviews(session: SessionDep, caller: Reader, contract_id: Id | None = None) -> list[QuarterlyReview]:
    """Quarterly reviews, newest quarter first."""
    query = select(QuarterlyReview).where(visible(caller.scope, QuarterlyReview)).order_by(
        col(QuarterlyReview.year).desc(), col(QuarterlyReview.quarter).desc())
    if contract_id is not None:
        query = query.where(QuarterlyReview.contract_id == contract_id)
    return list(session.exec(query))


@router.post("/reviews", status_code=status.HTTP_202_ACCEPTED)
def post_review(data: ReviewRequest, session: SessionDep, caller: Manager) -> dict[str, Any]:
    """Review a contract's quarter now (the schedule does the previous quarter on the first day of each quarter):
    the review record exists when this answers, with its id; its run compiles it (status `requested` until then)."""
    if find(session, caller.scope, Contract, data.contract_id) is None:
        raise FieldError("contract_id", f"no contract with id {data.contract_id}; GET /contracts lists them")
    review = session.exec(select(QuarterlyReview).where(
        QuarterlyReview.contract_id == data.contract_id, QuarterlyReview.year == data.year,
        QuarterlyReview.quarter == data.quarter)).first()
    if review is not None and review.status == ReviewStatus.ARCHIVED:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{data.year} Q{data.quarter} of contract {data.contract_id} is "
                                                      f"archived (review {review.id}); it is never compiled again")
    if review is None:
        review = QuarterlyReview(contract_id=data.contract_id, year=data.year, quarter=data.quarter,
                                 status=ReviewStatus.REQUESTED)
        session.add(review)
        session.commit()  # before the run starts: its compile step finds this record and fills it
    run_id = start_flow("quarterly_review/quarterly_review", data.model_dump())
    if run_id is None:
        if review.status == ReviewStatus.REQUESTED:  # nothing will ever compile it: leave nothing half-made
            session.delete(review)
            session.commit()
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "the quarterly_review deployment could not be started (is `itss up` running?)")
    record_audit(session, actor=caller.actor, action="review.requested", record_type="quarterly_review",
                 record_id=review.id,
                 detail=f"contract {data.contract_id} {data.year} Q{data.quarter}: flow run {run_id}")
    session.commit()
    return {"id": review.id, "status": review.status.value, "flow_run_id": run_id,
            "links": {"review": f"/reviews/{review.id}", "report": f"/reviews/{review.id}/report.html"}}


@router.get("/reviews/{review_id}")
def get_review(review_id: Id, session: SessionDep, caller: Reader) -> dict[str, Any]:
    """One review with its figures, targets, trends and improvement measures."""
    review = _review(session, review_id, caller)
    _readable(session, review, caller, "figures")
    measures = session.exec(select(ImprovementMeasure).where(ImprovementMeasure.review_id == review_id)
                            .order_by(col(ImprovementMeasure.id)))
    return {"review": ReviewPublic.model_validate(review).model_dump(mode="json"), "metrics": review.metrics,
            "measures": [m.model_dump(mode="json") for m in measures]}


@router.get("/reviews/{review_id}/report.html", response_class=HTMLResponse)
def get_report_html(review_id: Id, session: SessionDep, caller: Reader) -> HTMLResponse:
    """The checklist as an HTML page with its charts."""
    review = _review(session, review_id, caller)
    _readable(session, review, caller, "report.html")
    return HTMLResponse(review.html)


@router.get("/reviews/{review_id}/report.xlsx")
def get_report_xlsx(review_id: Id, session: SessionDep, caller: Reader) -> Response:
    """The same figures as an Excel workbook."""
    review = _review(session, review_id, caller)
    _readable(session, review, caller, "report.xlsx")
    name = f"delivery-checklist-{review.contract_id}-{review.year}-Q{review.quarter}.xlsx"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(review.xlsx or b"", media_type=XLSX, headers=disposition)


@router.post("/reviews/{review_id}/access-requests", status_code=status.HTTP_202_ACCEPTED)
def request_access(review_id: Id, data: AccessRequest, session: SessionDep, caller: Reader) -> dict[str, Any]:
    """Ask to read an archived review: the ops management department manager decides at a gate."""
    review = _review(session, review_id, caller)
    if review.status != ReviewStatus.ARCHIVED:
        raise HTTPException(status.HTTP_409_CONFLICT, f"review {review_id} is not archived: read it directly")
    access = ArchiveAccess(review_id=review_id, person_id=caller.person_id, reason=data.reason)
    session.add(access)
    session.flush()
    record_audit(session, actor=caller.actor, action="review.access_requested", record_type="quarterly_review",
                 record_id=review_id, detail=data.reason)
    session.commit()
    run_id = start_flow("archive_access/archive_access", {"access_id": access.id})
    if run_id is None:
        session.delete(access)
        session.commit()
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "the archive_access deployment could not be started; nothing was requested, try again")
    return {"access_id": access.id, "flow_run_id": run_id, "status": access.status}


@router.get("/improvement-measures")
def list_measures(session: SessionDep, caller: Reader, review_id: Id | None = None,
                  status_: Annotated[str | None, Query(alias="status", pattern=r"^(open|done)$")] = None,
                  ) -> list[dict[str, Any]]:
    """Improvement measures (《交付改进措施表》), oldest first."""
    query = select(ImprovementMeasure).where(visible(caller.scope, ImprovementMeasure)).order_by(
        col(ImprovementMeasure.id))
    if review_id is not None:
        query = query.where(ImprovementMeasure.review_id == review_id)
    if status_ is not None:
        query = query.where(ImprovementMeasure.status == status_)
    return [m.model_dump(mode="json") for m in session.exec(query)]


@router.patch("/improvement-measures/{measure_id}")
def patch_measure(measure_id: Id, changes: MeasureUpdate, session: SessionDep, caller: Manager) -> dict[str, Any]:
    """Edit a measure: what will be done, by whom, by when, done or not (audited)."""
    measure = load_visible(session, caller, ImprovementMeasure, measure_id, "improvement measure")
    values = changes.model_dump(exclude_unset=True)
    before = {k: getattr(measure, k) for k in values}
    for key, value in values.items():
        setattr(measure, key, value)
    measure.updated_at = utcnow()
    session.add(measure)
    record_audit(session, actor=caller.actor, action="improvement_measure.updated", record_type="improvement_measure",
                 record_id=measure_id, before={k: str(v) for k, v in before.items()},
                 after={k: str(v) for k, v in values.items()})
    session.commit()
    return measure.model_dump(mode="json")
