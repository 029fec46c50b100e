"""Tasks of a release's life cycle: bind the run, approvals by type, the window, the outcome, the CMDB,
the post-implementation review and the stakeholders' notifications. Each is safe to re-execute."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from functools import partial
from typing import Literal

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from prefect.states import Scheduled
from pydantic import BaseModel
from sqlmodel import select

from config.settings import get_settings
from itss.run_names import name_at_creation
from itss.runs import dispatch_incident
from models.changes.service import review_due, set_change_status, slot_for
from models.changes.tables import FINAL, ChangeRequest, ChangeReview, ChangeStatus, ChangeType
from models.cmdb.service import update_ci
from models.cmdb.tables import CIUpdate, ConfigurationItem
from models.core.audit import record_audit
from models.core.clock import utcnow
from models.core.db import session_scope
from models.core.rows import must_get, stored_id
from models.directory.roles import RoleKey
from models.gates.tables import EscalationStep, GateSpec
from models.incidents.service import record_alert
from models.incidents.tables import Source
from notifications.render import local_time
from tasks.gates import GateOutcome
from tasks.notify import announce

# A runner may start a scheduled run a few seconds early (it fetches runs ahead of time): the flow
# waits in-process for a slot that opens this soon; anything later becomes a scheduled flow run.
SHORT_WAIT = timedelta(seconds=15)
STAKEHOLDERS = [RoleKey.CHANGE_MANAGER, RoleKey.PROJECT_MANAGER, RoleKey.ENGINEER, RoleKey.CUSTOMER_REP]


class ChangePlan(BaseModel):
    """What the flow needs to know about its change."""

    change_id: int
    title: str
    change_type: ChangeType
    status: ChangeStatus
    requested_by: int
    contract_id: int | None
    details_md: str

    @property
    def needs_approval(self) -> bool:
        return self.status == ChangeStatus.SUBMITTED


class Slot(BaseModel):
    """Whether the change may run now, must wait for `start`, or has no window left."""

    when: Literal["now", "later", "never"]
    start: datetime | None = None
    end: datetime | None = None
    outside_window: bool = False


def _flow(flow_run_id: str) -> str:
    return f"flow:{flow_run_id}"


def _runbook_md(steps: list[dict]) -> str:
    """Each step with what it will run, so approvers decide on the commands, not only their names."""
    lines = []
    for index, step in enumerate(steps):
        kind = step.get("kind", "shell")
        what = step.get("command") or step.get("url") or ", ".join(step.get("paths") or []) or step.get("backup")
        where = f" on {step['host']}" if step.get("host") else ""
        shown = f": `` {' ⏎ '.join(str(what)[:600].splitlines())} ``" if what else ""
        lines.append(f"{index + 1}. {step['name']} ({kind}{where}){shown}")
    return "\n".join(lines) or "_none_"


def _details(change: ChangeRequest) -> str:
    steps, rollback = _runbook_md(change.steps), _runbook_md(change.rollback)
    window = (f"{local_time(change.window_start)} – {local_time(change.window_end)}" if change.window_start
              else "the next change window")
    text = (f"**{change.change_type.value}** change, risk **{change.risk.value}**, window {window}, "
            f"planned {change.planned_minutes} min.\n\n{change.description}\n\n**Impact:** {change.impact or '—'}\n\n"
            f"**Test evidence:** {change.test_evidence or '—'}\n\n**Steps**\n{steps}\n\n**Rollback**\n{rollback}")
    return text[:19_000]  # the gate's details column holds 20,000


@task(name="begin-change", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def begin_change(change_id: int, flow_run_id: str) -> ChangePlan:
    """Bind the change to this run; a submitted change is what the approvals start from."""
    with session_scope() as session:
        change = session.get(ChangeRequest, change_id)
        if change is None:
            raise ValueError(f"no change request {change_id}")
        if change.status == ChangeStatus.DRAFT:
            raise ValueError(f"change {change_id} is a draft: submit it (POST /changes/{change_id}/submit)")
        if change.status not in FINAL:
            change.flow_run_id = flow_run_id
            session.add(change)
        return ChangePlan(change_id=change_id, title=change.title, change_type=change.change_type,
                          status=change.status, requested_by=change.requested_by, contract_id=change.contract_id,
                          details_md=_details(change))


def approval_gates(plan: ChangePlan) -> list[GateSpec]:
    """The approvals a change type needs, in order (none for standard changes, which are pre-authorised)."""
    settings = get_settings()
    gate = partial(GateSpec, details_md=plan.details_md, requested_by=plan.requested_by, contract_id=plan.contract_id,
                   record_type="change_request", record_id=str(plan.change_id))
    subject = f"Change #{plan.change_id}: {plan.title}"
    if plan.change_type == ChangeType.NORMAL:
        return [gate(key="cab", subject=f"CAB: {subject}", eligible_roles=[RoleKey.CAB_MEMBER],
                     quorum=settings.cab_quorum)]
    if plan.change_type == ChangeType.MAJOR:  # both, in turn: the department manager, then the company leader
        return [gate(key="ops-manager", subject=f"Major change, department manager: {subject}",
                     eligible_roles=[RoleKey.OPS_MANAGER]),
                gate(key="leadership", subject=f"Major change, company leader: {subject}",
                     eligible_roles=[RoleKey.LEADERSHIP])]
    if plan.change_type == ChangeType.EMERGENCY:  # ECAB: both sides' leaders, fast
        return [gate(key="ecab", subject=f"ECAB (emergency): {subject}", eligible_roles=[RoleKey.LEADERSHIP],
                     quorum=settings.ecab_quorum, timeout_minutes=120,
                     escalation=[EscalationStep(role=RoleKey.OPS_MANAGER, after_minutes=30)])]
    return []


@task(name="record-approval", cache_policy=NO_CACHE)
def record_approval(change_id: int, outcomes: list[GateOutcome], flow_run_id: str) -> ChangeStatus:
    """Approved when every gate approved (pre-authorised when there were none); else rejected, with why."""
    with session_scope() as session:
        change = must_get(session, ChangeRequest, change_id)
        if change.status != ChangeStatus.SUBMITTED:
            return change.status
        refused = next((o for o in outcomes if not o.approved), None)
        if refused is not None:
            why = f"gate {refused.gate_id} {refused.outcome}: {'; '.join(refused.comments)}".strip()
            set_change_status(session, change, ChangeStatus.REJECTED, actor=_flow(flow_run_id), detail=why,
                              finished_at=utcnow(), failure=why)
            return change.status
        if not outcomes:
            record_audit(session, actor=_flow(flow_run_id), action="change.pre_authorised",
                         record_type="change_request", record_id=change_id,
                         detail=f"standard change ({change.standard_kind}): no approval needed")
        set_change_status(session, change, ChangeStatus.APPROVED, actor=_flow(flow_run_id),
                          approved_at=utcnow(), approval_gate_ids=[o.gate_id for o in outcomes])
        return change.status


@task(name="find-change-slot", cache_policy=NO_CACHE)
def find_slot(change_id: int) -> Slot:
    """Now, later (the next open window), or never; an emergency change runs now, noting when outside a window."""
    settings = get_settings()
    now = utcnow()
    with session_scope() as session:
        change = must_get(session, ChangeRequest, change_id)
        if change.status == ChangeStatus.IMPLEMENTING:  # re-executed mid-runbook: keep to the slot it started in
            return Slot(when="now", start=change.started_at, end=change.implement_until,
                        outside_window=change.ran_outside_window)
        slot = slot_for(session, change, now, zone=settings.tz, freeze_holidays=settings.freeze_statutory_holidays)
    if change.change_type == ChangeType.EMERGENCY:
        inside = slot is not None and slot[0] <= now
        return Slot(when="now", start=now, end=slot[1] if slot is not None and inside else None,
                    outside_window=not inside)
    if slot is None:
        return Slot(when="never")
    if slot[0] > now + SHORT_WAIT:
        return Slot(when="later", start=slot[0], end=slot[1])
    if slot[0] > now:
        get_run_logger().info("change %s: its window opens in %.1f s; waiting for it", change_id,
                              (slot[0] - now).total_seconds())
        time.sleep((slot[0] - now).total_seconds())
    return Slot(when="now", start=max(slot[0], utcnow()), end=slot[1])


@task(name="schedule-in-window", cache_policy=NO_CACHE)
def schedule_in_window(change_id: int, start: datetime, flow_run_id: str) -> str:
    """Create this deployment's flow run for the window's start (visible in the Prefect UI); this run ends."""
    context = FlowRunContext.get()
    deployment_id = context.flow_run.deployment_id if context and context.flow_run else None
    if deployment_id is None:
        raise RuntimeError("a change outside its window must run from the release_deployment deployment, "
                           "which schedules it for the window")
    with get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment(
            deployment_id, parameters={"change_id": change_id}, state=Scheduled(scheduled_time=start),
            name=name_at_creation("release_deployment", {"change_id": change_id}),  # not a random name till then
            idempotency_key=f"change-{change_id}-window-{start.isoformat()}")
    with session_scope() as session:
        change = must_get(session, ChangeRequest, change_id)
        set_change_status(session, change, ChangeStatus.SCHEDULED, actor=_flow(flow_run_id),
                          detail=f"waits for its window: flow run {run.id} at {local_time(start)}",
                          scheduled_run_id=str(run.id))
    get_run_logger().info("change %s scheduled for %s (flow run %s)", change_id, local_time(start), run.id)
    return str(run.id)


@task(name="start-implementation", cache_policy=NO_CACHE)
def start_implementation(change_id: int, slot: Slot, flow_run_id: str) -> None:
    """Mark the change implementing (once) with the slot it runs in."""
    with session_scope() as session:
        change = must_get(session, ChangeRequest, change_id)
        if change.status == ChangeStatus.IMPLEMENTING:
            return
        detail = "emergency change outside any change window (ECAB approved)" if slot.outside_window else None
        set_change_status(session, change, ChangeStatus.IMPLEMENTING, actor=_flow(flow_run_id), detail=detail,
                          started_at=utcnow(), implement_until=slot.end, ran_outside_window=slot.outside_window)


@task(name="finish-change", cache_policy=NO_CACHE)
def finish_change(change_id: int, status: ChangeStatus, failure: str | None, flow_run_id: str) -> None:
    """Record the outcome, when it ended and the outage (start to end, for changes that interrupt service)."""
    with session_scope() as session:
        change = must_get(session, ChangeRequest, change_id)
        if change.status in FINAL:
            return
        finished = utcnow()
        outage = (finished - change.started_at).total_seconds() / 60 if change.causes_outage and change.started_at \
            else 0.0
        set_change_status(session, change, status, actor=_flow(flow_run_id), detail=failure, finished_at=finished,
                          outage_minutes=round(outage, 4), failure=failure)


@task(name="update-cmdb", cache_policy=NO_CACHE)
def update_cmdb(change_id: int, flow_run_id: str) -> list[int]:
    """Record the release on the affected CIs (version and attributes) through the CI change log, once."""
    with session_scope() as session:
        change = must_get(session, ChangeRequest, change_id)
        if change.cmdb_updated_at is not None:
            return change.ci_ids
        for ci_id in change.ci_ids:
            ci = session.get(ConfigurationItem, ci_id)
            if ci is None:  # deleted since the change was requested: nothing to record on
                continue
            values = dict(change.ci_updates.get(str(ci_id), {}))  # only the fields the request set
            if change.release_version:
                values["attributes"] = {**ci.attributes, **(values.get("attributes") or {}),
                                        "version": change.release_version}
            update_ci(session, ci=ci, changes=CIUpdate.model_validate(values), actor=_flow(flow_run_id),
                      reason=f"change #{change_id}: {change.title}")
        change.cmdb_updated_at = utcnow()
        session.add(change)
        return change.ci_ids


@task(name="open-rollback-incident", cache_policy=NO_CACHE)
def open_rollback_incident(change_id: int, flow_run_id: str) -> int:
    """A failed rollback leaves service in an unknown state: a major incident through the alert path."""
    with session_scope() as session:
        change = must_get(session, ChangeRequest, change_id)
        names = [ci.name for ci in (session.get(ConfigurationItem, i) for i in change.ci_ids) if ci is not None]
        incident, created = record_alert(
            session, fingerprint=f"change:{change_id}:rollback", firing=True,
            title=f"Rollback failed: change #{change_id} {change.title}"[:300],
            symptom=(change.failure or "rollback failed")[:4000], ci_names=names, source=Source.CHANGE,
            actor=_flow(flow_run_id), major=True, starts_at=None)
        change.incident_id = incident.id
        session.add(change)
        incident_id = stored_id(incident)
    if created:
        dispatch_incident(incident_id)
    return incident_id


@task(name="open-change-review", cache_policy=NO_CACHE)
def open_review(change_id: int) -> int:
    """The post-implementation review item, due a week after the change ended; the change manager hears of it."""
    with session_scope() as session:
        change = must_get(session, ChangeRequest, change_id)
        review = session.exec(select(ChangeReview).where(ChangeReview.change_id == change_id)).first()
        if review is None:
            review = ChangeReview(change_id=change_id, due_at=review_due(change.finished_at or utcnow()))
            session.add(review)
            session.flush()
        review_id, due = stored_id(review), review.due_at
    announce(event="change.review", dedupe_prefix=f"change:{change_id}:review", roles=[RoleKey.CHANGE_MANAGER],
             title=f"Review change #{change_id} by {local_time(due)}",
             body=f"Record the post-implementation review: POST /changes/{change_id}/review")
    return review_id


@task(name="announce-change", cache_policy=NO_CACHE, retries=1)
def announce_change(change_id: int, event: str) -> int:
    """Tell the stakeholders that the change starts, ended, was scheduled or refused (once per event)."""
    with session_scope() as session:
        change = must_get(session, ChangeRequest, change_id)
        body = (f"{change.change_type.value} change, status **{change.status.value}**"
                + (f": {change.failure}" if change.failure else "")
                + (f"\nWindow: {local_time(change.window_start)} – {local_time(change.window_end)}"
                   if change.window_start else ""))
        roles = STAKEHOLDERS if change.change_type != ChangeType.STANDARD else [RoleKey.CHANGE_MANAGER]
        title, contract_id = f"[change #{change_id} {event}] {change.title}", change.contract_id
    return announce(event=f"change.{event}", dedupe_prefix=f"change:{change_id}:{event}", roles=roles, title=title,
                    body=body, contract_id=contract_id)
