"""Every open record has a live run: the sweeper finds records whose flow run died and brings it back.

A run is dead when Prefect says Crashed, Failed or Cancelled, Completed while its record is still
open, does not know it (deleted), left it Pending past ITSS_RUN_STUCK_SECONDS (a runner took it and
never started its process), or Running without a heartbeat for ITSS_RUN_HEARTBEAT_TIMEOUT_SECONDS
(the engine of a run sends one every PREFECT_FLOWS_HEARTBEAT_FREQUENCY seconds; a host or process
that vanished sends none). Scheduled runs are queued work (the runner's limit) and are left alone.

Recovery re-schedules the same run (Prefect's Retry): the flows are idempotent and gates are found
again by (run, gate key), so nothing is opened, voted or notified twice. A deleted run is replaced by
a new one of the same deployment, and the record's open gates move to it first. Each recovery is
audited (`run.recovered`, with the state found) and the record's roles are told once per run.
A release run that died mid-step re-runs under today's rule: its interrupted step is rolled back or
left to a person. Cancelling an incident's run in Prefect is a bypass: stopping an incident is a
decision made through the API, so it is audited as such and the run restored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from prefect import task
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventResourceFilter
from prefect.states import Scheduled
from sqlalchemy import func, update
from sqlmodel import Session, col, select

from config.settings import get_settings
from itss.runs import start_flow
from models.changes.tables import ChangeRequest, ChangeStatus
from models.core.audit import AuditEvent, record_audit
from models.core.clock import utcnow
from models.core.db import session_scope
from models.core.rows import id_of, must_get, stored_id
from models.directory.roles import RoleKey
from models.gates.tables import ApprovalGate
from models.incidents.dispatch import CLAIM_PREFIX
from models.incidents.tables import Incident, IncidentStatus, Source
from models.review.tables import ArchiveAccess, QuarterlyReview, ReviewStatus
from tasks.notify import announce

log = logging.getLogger(__name__)
HEARTBEAT_EVENT = "prefect.flow-run.heartbeat"
BATCH = 200  # runs read from Prefect per request
MAX_RETRIES = 5  # recoveries of one run before the sweeper leaves it to a person


@dataclass
class Tracked:
    """An open record and the run that should be carrying it."""

    kind: str  # audit record type
    record_id: int
    run_id: str
    deployment: str
    parameters: dict
    roles: list[RoleKey]
    title: str
    completed_is_dead: bool = True  # a run that Completed while the record is open left it unattended
    extra: dict = field(default_factory=dict)


def tracked_records(session: Session) -> list[Tracked]:
    """Open incidents, releases in progress, reviews in progress and pending access requests with a run."""
    # Each query asks for rows with a flow_run_id: the `is None` checks below never skip one; they narrow the type.
    found: list[Tracked] = []
    for row in session.exec(select(id_of(Incident), Incident.flow_run_id, Incident.title).where(
            Incident.status != IncidentStatus.CLOSED, Incident.source != Source.IMPORT,
            col(Incident.flow_run_id).is_not(None), col(Incident.flow_run_id).not_like(f"{CLAIM_PREFIX}%"))):
        if row[1] is None:
            continue
        found.append(Tracked("incident", row[0], row[1], "emergency_response/emergency_response",
                             {"incident_id": row[0]}, [RoleKey.ENGINEER, RoleKey.PROJECT_MANAGER],
                             f"incident #{row[0]} {row[2]}"))
    for row in session.exec(select(id_of(ChangeRequest), ChangeRequest.flow_run_id, ChangeRequest.title).where(
            ChangeRequest.status == ChangeStatus.IMPLEMENTING, col(ChangeRequest.flow_run_id).is_not(None))):
        if row[1] is None:
            continue
        found.append(Tracked("change_request", row[0], row[1], "release_deployment/release_deployment",
                             {"change_id": row[0]}, [RoleKey.CHANGE_MANAGER, RoleKey.ENGINEER],
                             f"change #{row[0]} {row[2]}"))
    for review in session.exec(select(QuarterlyReview).where(
            QuarterlyReview.status != ReviewStatus.ARCHIVED, col(QuarterlyReview.flow_run_id).is_not(None))):
        if review.flow_run_id is None:
            continue
        # A review's run may end while the customer still holds it: only a run that died counts.
        found.append(Tracked("quarterly_review", stored_id(review), review.flow_run_id,
                             "quarterly_review/quarterly_review",
                             {"contract_id": review.contract_id, "year": review.year, "quarter": review.quarter},
                             [RoleKey.PROJECT_MANAGER], f"quarterly review {review.year} Q{review.quarter}",
                             completed_is_dead=False))
    for access in session.exec(select(id_of(ArchiveAccess), ArchiveAccess.flow_run_id).where(
            ArchiveAccess.status == "pending", col(ArchiveAccess.flow_run_id).is_not(None))):
        if access[1] is None:
            continue
        found.append(Tracked("archive_access", access[0], access[1], "archive_access/archive_access",
                             {"access_id": access[0]}, [RoleKey.ADMIN], f"archive access request #{access[0]}"))
    return found


def diagnose(run: FlowRun | None, tracked: Tracked, now: datetime, last_beat: datetime | None) -> str | None:
    """Why this run cannot carry its record (the state found), or None when it is alive or queued."""
    if run is None:
        return "deleted"
    state = run.state
    kind = state.type if state is not None else run.state_type
    if kind in (StateType.CRASHED, StateType.FAILED, StateType.CANCELLED):
        return kind.value
    if kind == StateType.COMPLETED:
        return "COMPLETED while open" if tracked.completed_is_dead else None
    since = state.timestamp if state is not None and state.timestamp else now
    settings = get_settings()
    if kind == StateType.PENDING and now - since > timedelta(seconds=settings.run_stuck_seconds):
        return f"{(state.name if state is not None else None) or 'Pending'} for {(now - since).total_seconds():.0f} s"
    if kind == StateType.RUNNING:
        seen = max(since, last_beat) if last_beat else since
        if now - seen > timedelta(seconds=settings.run_heartbeat_timeout_seconds):
            return f"RUNNING without a heartbeat for {(now - seen).total_seconds():.0f} s"
    return None


def _read_runs(client: SyncPrefectClient, ids: list[str]) -> dict[str, FlowRun]:
    runs: dict[str, FlowRun] = {}
    for start in range(0, len(ids), BATCH):
        chunk = [UUID(i) for i in ids[start:start + BATCH]]
        for run in client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=chunk)),
                                         limit=len(chunk)):
            runs[str(run.id)] = run
    return runs


def _last_heartbeat(client: SyncPrefectClient, run: FlowRun, now: datetime) -> datetime | None:
    since = (run.state.timestamp if run.state and run.state.timestamp else now) - timedelta(minutes=1)
    page = client.read_events(EventFilter(
        occurred=EventOccurredFilter(since=since, until=now + timedelta(minutes=1)),  # type: ignore[arg-type]  # why: prefect types these as pendulum's DateTime on 3.11; its pydantic model converts a datetime
        event=EventNameFilter(name=[HEARTBEAT_EVENT]),
        resource=EventResourceFilter(id=[f"prefect.flow-run.{run.id}"])), limit=50)
    return max((event.occurred for event in page.events), default=None)


def _valid_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


@task(name="reconcile-runs")
def reconcile_runs() -> dict[str, int]:
    """Bring back the run of every open record whose run is dead, stuck or gone; audit and tell its roles."""
    with session_scope() as session:
        tracked = [t for t in tracked_records(session) if _valid_uuid(t.run_id)]
    if not tracked:
        return {"recovered": 0}
    recovered = 0
    with get_client(sync_client=True) as client:
        try:
            runs = _read_runs(client, [t.run_id for t in tracked])
        except Exception as exc:  # Prefect unreadable now: the rest of the sweep still runs; next sweep retries
            log.warning("flow runs unreadable: %s", type(exc).__name__)
            return {"recovered": 0}
        now = utcnow()
        for item in tracked:
            run = runs.get(item.run_id)
            beat = None
            if run is not None and run.state is not None and run.state.type == StateType.RUNNING:
                try:
                    beat = _last_heartbeat(client, run, now)
                except Exception as exc:  # events unreadable now: judge by the state's age alone next time
                    log.warning("heartbeats of %s unreadable: %s", run.id, type(exc).__name__)
                    continue
            found = diagnose(run, item, now, beat)
            if found is None:
                continue
            try:
                recovered += int(recover(client, item, found))
            except Exception:  # one record's failure must not stop the others; the next sweep tries again
                log.exception("could not recover the run of %s %s", item.kind, item.record_id)
    return {"recovered": recovered}


def _still_open(session: Session, item: Tracked) -> bool:
    if item.kind == "incident":
        incident = session.get(Incident, item.record_id)
        return incident is not None and incident.status != IncidentStatus.CLOSED and incident.flow_run_id == item.run_id
    if item.kind == "change_request":
        change = session.get(ChangeRequest, item.record_id)
        return change is not None and change.status == ChangeStatus.IMPLEMENTING and change.flow_run_id == item.run_id
    if item.kind == "quarterly_review":
        review = session.get(QuarterlyReview, item.record_id)
        return review is not None and review.status != ReviewStatus.ARCHIVED and review.flow_run_id == item.run_id
    access = session.get(ArchiveAccess, item.record_id)
    return access is not None and access.status == "pending" and access.flow_run_id == item.run_id


def _set_run(session: Session, item: Tracked, run_id: str) -> None:
    models: dict[str, type[Incident] | type[ChangeRequest] | type[QuarterlyReview] | type[ArchiveAccess]] = {
        "incident": Incident, "change_request": ChangeRequest, "quarterly_review": QuarterlyReview,
        "archive_access": ArchiveAccess}
    row = must_get(session, models[item.kind], item.record_id)  # _still_open saw it in this transaction
    row.flow_run_id = run_id
    session.add(row)


def recover(client: SyncPrefectClient, item: Tracked, found: str) -> bool:
    """Retry the run (or start a new one if it is gone), audit `run.recovered` and tell the roles once."""
    with session_scope() as session:
        if not _still_open(session, item):  # closed or re-dispatched since we looked
            return False
        tries = session.exec(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "run.recovered", AuditEvent.record_type == item.kind,
            AuditEvent.record_id == str(item.record_id),
            col(AuditEvent.detail).startswith(f"run {item.run_id} "))).one()
    if tries >= MAX_RETRIES:  # a run that dies every time needs a person, not a retry every sweep
        announce(event="run.given_up", dedupe_prefix=f"{item.kind}:{item.record_id}:run:{item.run_id}:given-up",
                 roles=item.roles, title=f"Run keeps dying: {item.title}",
                 body=f"The flow run {item.run_id} of {item.title} was retried {tries} times and was found {found} "
                      "again; the sweeper stopped retrying it. Read its logs in Prefect and retry it there.")
        return False
    if found == "deleted":
        new_id = start_flow(item.deployment, item.parameters, client=client)
        if new_id is None:
            return False  # Prefect refused or is away: the next sweep tries again
        with session_scope() as session:
            # The new run finds the old run's gates (and their votes) under its own id.
            session.exec(update(ApprovalGate).where(col(ApprovalGate.flow_run_id) == item.run_id)  # type: ignore[call-overload]
                         .values(flow_run_id=new_id))
            _set_run(session, item, new_id)
        action = f"started new run {new_id}"
    else:
        client.set_flow_run_state(UUID(item.run_id), Scheduled(
            name="AwaitingRetry", message=f"ITSS sweeper: the run was {found} while its {item.kind} is open"),
            force=True)
        action = "retried"
    bypass = item.kind == "incident" and found == StateType.CANCELLED.value
    with session_scope() as session:
        if bypass:
            record_audit(session, actor="system:sweeper", action="run.cancel_bypassed", record_type=item.kind,
                         record_id=item.record_id,
                         detail=f"run {item.run_id} cancelled in Prefect; an incident is stopped through the API")
        record_audit(session, actor="system:sweeper", action="run.recovered", record_type=item.kind,
                     record_id=item.record_id, detail=f"run {item.run_id} found {found}; {action}")
    why = ("was cancelled in Prefect — stopping an incident is a decision made in ITSS, so it was restored"
           if bypass else f"was found {found}")
    announce(event="run.recovered", dedupe_prefix=f"{item.kind}:{item.record_id}:run:{item.run_id}:recovered",
             roles=item.roles, title=f"Run recovered: {item.title}",
             body=f"The flow run {item.run_id} of {item.title} {why}; the sweeper {action}. Completed steps are "
                  "skipped and open approvals stay as they are.")
    log.warning("recovered %s %s: run %s %s; %s", item.kind, item.record_id, item.run_id, found, action)
    return True
