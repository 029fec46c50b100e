"""/incidents: desk intake, the ticket, SLA clocks, timeline, impact changes, on-site, pauses, report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from api.deps import Caller, CurrentCaller, SessionDep, load_visible, require_roles
from api.limits import too_large
from config.settings import get_settings
from itss.runs import dispatch_soon
from models.cmdb.tables import ConfigurationItem
from models.contracts.tables import Contract
from models.core.clock import utcnow
from models.core.rows import stored_id
from models.core.types import Id
from models.directory.roles import RoleKey
from models.incidents.clocks import clock_states, refresh_clocks, response_time
from models.incidents.grading import ImpactFacts
from models.incidents.importer import ImportError_, ImportInterrupted, import_in_chunks, parse, validate
from models.incidents.service import create_incident, incident_public, regrade
from models.incidents.tables import (
    Document,
    ImpactUpdate,
    Incident,
    IncidentCreate,
    IncidentEvent,
    IncidentEventPublic,
    IncidentPause,
    IncidentPublic,
    IncidentStatus,
    Source,
    log_event,
)
from models.tenancy import Scope, find, visible
from models.tenancy import timeline as timeline_of

router = APIRouter(prefix="/incidents", tags=["incidents"])
Desk = Annotated[Caller, Depends(require_roles(RoleKey.SERVICE_DESK, RoleKey.ENGINEER))]
Worker = Annotated[Caller, Depends(require_roles(RoleKey.ENGINEER, RoleKey.PROJECT_MANAGER,
                                                 RoleKey.TECHNICAL_SUPPORT, RoleKey.SERVICE_DESK))]


class ClockPublic(BaseModel):
    measure: str
    target_minutes: int
    calendar: str
    started_at: datetime | None
    stopped_at: datetime | None
    due_at: datetime | None
    elapsed_minutes: float
    used: float
    breached: bool
    running: bool
    error: str | None
    verdict: str  # met, missed, running, not_started, n/a: the one verdict the breaches and the review use
    provisional: bool  # counted on a provisional statutory calendar (a year nobody entered)
    provisional_years: list[int]


class IncidentDetail(BaseModel):
    incident: IncidentPublic
    clocks: list[ClockPublic]
    paused: bool


class Notes(BaseModel):
    cause: str | None = Field(default=None, max_length=4000)
    actions: str | None = Field(default=None, max_length=4000)
    improvements: str | None = Field(default=None, max_length=4000)


class PauseRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="what the customer is to provide")


def load(session: Session, incident_id: Id, caller: Caller) -> Incident:
    """The incident, or 404 (also when it belongs to a contract the caller does not see)."""
    return load_visible(session, caller, Incident, incident_id, "incident")


def detail(session: Session, incident: Incident) -> IncidentDetail:
    """The incident with its clocks."""
    clocks = [ClockPublic(measure=c.measure.value, target_minutes=c.target_minutes, calendar=c.calendar.value,
                          started_at=c.started_at, stopped_at=c.stopped_at, due_at=c.due_at,
                          elapsed_minutes=c.elapsed_minutes, used=round(c.used, 4), breached=c.breached,
                          running=c.running, error=c.error, verdict=c.verdict.value, provisional=c.provisional,
                          provisional_years=list(c.provisional_years)) for c in clock_states(session, incident)]
    paused = session.exec(select(IncidentPause.id).where(IncidentPause.incident_id == incident.id,
                                                         col(IncidentPause.ended_at).is_(None))).first()
    return IncidentDetail(incident=incident_public(session, incident), clocks=clocks, paused=paused is not None)


@router.post("", response_model=IncidentDetail, status_code=status.HTTP_201_CREATED)
def report_incident(data: IncidentCreate, session: SessionDep, caller: Desk) -> IncidentDetail:
    """The service desk records a report; grading, deadlines and the emergency run follow."""
    known = set(session.exec(select(ConfigurationItem.id).where(col(ConfigurationItem.id).in_(data.ci_ids),
                                                                visible(caller.scope, ConfigurationItem))))
    if data.contract_id is not None and find(session, caller.scope, Contract, data.contract_id) is None:
        raise HTTPException(422, f"contract_id: no contract with id {data.contract_id}; GET /contracts lists them")
    if set(data.ci_ids) - known:
        raise HTTPException(422, f"ci_ids: unknown configuration items {sorted(set(data.ci_ids) - known)}")
    incident = create_incident(
        session, title=data.title, symptom=data.symptom, actor=caller.actor, source=Source.DESK,
        facts=ImpactFacts.model_validate(data.model_dump()), ci_ids=data.ci_ids, contract_id=data.contract_id,
        reporting_org=data.reporting_org, contact=data.contact, phone=data.phone)
    session.commit()
    dispatch_soon(stored_id(incident))  # off the request path; the sweeper starts it if this fails
    return detail(session, incident)


@router.get("", response_model=list[IncidentPublic])
def list_incidents(session: SessionDep, caller: CurrentCaller, status_: Annotated[
        IncidentStatus | None, Query(alias="status")] = None, limit: Annotated[int, Query(ge=1, le=1000)] = 200
                   ) -> list[IncidentPublic]:
    """Incidents, newest first."""
    query = select(Incident).where(visible(caller.scope, Incident)).order_by(col(Incident.id).desc()).limit(limit)
    if status_ is not None:
        query = query.where(Incident.status == status_)
    return [incident_public(session, i) for i in session.exec(query)]


@router.get("/{incident_id}", response_model=IncidentDetail)
def get_incident(incident_id: Id, session: SessionDep, caller: CurrentCaller) -> IncidentDetail:
    """One incident with its SLA clocks (due, elapsed, share used, breached)."""
    return detail(session, load(session, incident_id, caller))


@router.get("/{incident_id}/timeline", response_model=list[IncidentEventPublic])
def timeline(incident_id: Id, session: SessionDep, caller: CurrentCaller) -> list[IncidentEvent]:
    """Every event with actor and time, oldest first."""
    load(session, incident_id, caller)
    return timeline_of(session, caller.scope, incident_id)


@router.patch("/{incident_id}/impact", response_model=IncidentDetail)
def change_impact(incident_id: Id, data: ImpactUpdate, session: SessionDep, caller: Worker) -> IncidentDetail:
    """New impact facts: graded again; a level change goes on the timeline."""
    incident = load(session, incident_id, caller)
    if incident.status == IncidentStatus.CLOSED:
        raise HTTPException(409, "the incident is closed; reopen it by reporting a new incident")
    regrade(session, incident, ImpactFacts.model_validate(data.model_dump()), actor=caller.actor, reason=data.reason)
    session.commit()
    return detail(session, incident)


@router.post("/{incident_id}/on-site", response_model=IncidentDetail)
def on_site(incident_id: Id, session: SessionDep, caller: Worker) -> IncidentDetail:
    """The engineer arrived: stops the on-site clock."""
    incident = load(session, incident_id, caller)
    acknowledged = response_time(session, incident)
    if acknowledged is None:
        raise HTTPException(409, "acknowledge the incident first (its on-site clock starts at the response)")
    if incident.on_site_at is None:
        # The flow may not have recorded the acknowledgement yet; its gate already decided it.
        incident.acknowledged_at = acknowledged
        incident.on_site_at = utcnow()
        log_event(session, incident_id, actor=caller.actor, kind="on_site", detail="engineer on site")
        refresh_clocks(session, incident)
        session.commit()
    return detail(session, incident)


@router.post("/{incident_id}/pause", response_model=IncidentDetail)
def pause(incident_id: Id, data: PauseRequest, session: SessionDep, caller: Worker) -> IncidentDetail:
    """Stop the SLA clocks while the incident waits on the customer."""
    incident = load(session, incident_id, caller)
    if detail(session, incident).paused:
        raise HTTPException(409, "the clock is already paused")
    session.add(IncidentPause(incident_id=incident_id, started_at=utcnow(), reason=data.reason))
    log_event(session, incident_id, actor=caller.actor, kind="paused", detail=f"waiting on customer: {data.reason}")
    session.commit()
    return detail(session, incident)


@router.post("/{incident_id}/resume-clock", response_model=IncidentDetail)
def resume_clock(incident_id: Id, session: SessionDep, caller: Worker) -> IncidentDetail:
    """Restart the SLA clocks; the paused time is excluded from every measure."""
    incident = load(session, incident_id, caller)
    open_pause = session.exec(select(IncidentPause).where(IncidentPause.incident_id == incident_id,
                                                          col(IncidentPause.ended_at).is_(None))).first()
    if open_pause is None:
        raise HTTPException(409, "the clock is not paused")
    open_pause.ended_at = utcnow()
    session.add(open_pause)
    log_event(session, incident_id, actor=caller.actor, kind="clock_resumed")
    refresh_clocks(session, incident)
    session.commit()
    return detail(session, incident)


@router.patch("/{incident_id}/notes", response_model=IncidentDetail)
def notes(incident_id: Id, data: Notes, session: SessionDep, caller: Worker) -> IncidentDetail:
    """Cause, actions and improvements for the summary report."""
    incident = load(session, incident_id, caller)
    for key, value in data.model_dump(exclude_none=True).items():
        setattr(incident, key, value)
    session.add(incident)
    log_event(session, incident_id, actor=caller.actor, kind="notes", detail=", ".join(data.model_dump(
        exclude_none=True)))
    session.commit()
    return detail(session, incident)


@router.get("/{incident_id}/report")
def report(incident_id: Id, session: SessionDep, caller: CurrentCaller) -> dict:
    """The stored emergency response summary report (after closing) and the knowledge-base draft."""
    load(session, incident_id, caller)
    docs = session.exec(select(Document).where(Document.record_type == "incident",
                                               Document.record_id == str(incident_id)))
    found = {d.kind: {"title": d.title, "status": d.status, "markdown": d.body_md} for d in docs}
    if "emergency_summary" not in found:
        raise HTTPException(404, "no summary yet: it is written when the incident closes")
    return found


class ImportResult(BaseModel):
    imported: int
    incident_ids: list[Id]


@router.post("/import", response_model=ImportResult, status_code=201)
async def import_incidents(request: Request, session: SessionDep, caller: Desk,
                           format_: Annotated[Literal["csv", "json"], Query(alias="format")] = "csv") -> ImportResult:
    """Historical incidents with their own timestamps (CSV with a header row, or a JSON list); one bad row: none."""
    settings = get_settings()
    content = bytearray()
    async for chunk in request.stream():  # a body without Content-Length is counted as it arrives
        content += chunk
        if len(content) > settings.max_import_bytes:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, too_large(
                "body", settings.max_import_bytes, "bytes", IMPORT_FIX)["detail"])
    # Parsing, validating and writing thousands of rows is synchronous work: off the event loop, so
    # alerts and the approval page keep answering while it runs.
    return await run_in_threadpool(_import, bytes(content), format_, session, caller.actor, caller.scope)


IMPORT_FIX = "split the file into several imports, or raise ITSS_MAX_IMPORT_BYTES / ITSS_MAX_IMPORT_ROWS"


def _import(content: bytes, format_: str, session: Session, actor: str, scope: Scope) -> ImportResult:
    try:
        rows = parse(content, format_)
        most = get_settings().max_import_rows
        if len(rows) > most:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, too_large(
                f"rows ({len(rows)})", most, "rows", IMPORT_FIX)["detail"])
        valid = validate(session, rows, tenancy=scope)
        session.rollback()  # end the read: the rows are written in short transactions of their own
        ids = import_in_chunks(valid, actor=actor)
    except ImportInterrupted as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, {"message": str(exc), "imported": exc.ids}) from None
    except ImportError_ as exc:
        session.rollback()
        raise HTTPException(422, {"message": str(exc), "errors": exc.errors}) from None
    except (ValueError, UnicodeDecodeError) as exc:
        session.rollback()
        raise HTTPException(422, f"body: cannot read it as {format_}: {exc}") from None
    return ImportResult(imported=len(ids), incident_ids=ids)
