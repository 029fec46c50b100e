"""Change request services: create (checked against the CMDB and the classification rules), status moves,
the windows in force, and the monthly change metrics computed in SQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from models.changes.rules import allowed, classify
from models.changes.spec import ChangeCreate, TemplateCreate
from models.changes.tables import (
    ChangeFreeze,
    ChangeRequest,
    ChangeReview,
    ChangeStatus,
    ChangeTemplate,
    ChangeType,
    ChangeWindow,
)
from models.changes.windows import Interval, WindowRule, next_slot, parse_hhmm
from models.cmdb.tables import CIType, ConfigurationItem
from models.contracts.scope import EVERYTHING, Scope, contract_clause
from models.contracts.tables import Contract
from models.core.audit import record_audit
from models.core.errors import FieldError
from models.core.sql import minutes_between
from models.directory.service import DuplicateError
from models.sla.business_time import is_statutory_holiday


def create_change(session: Session, *, data: ChangeCreate, requested_by: int, actor: str) -> ChangeRequest:
    """Store a change request as a draft; unknown CIs, a missing contract or too low a type are refused."""
    found = session.exec(select(ConfigurationItem).where(col(ConfigurationItem.id).in_(data.ci_ids)))
    cis = {ci.id: ci for ci in found}
    for position, ci_id in enumerate(data.ci_ids):
        if ci_id not in cis:
            raise FieldError(f"ci_ids.{position}", f"no configuration item with id {ci_id}; GET /cis lists them")
    if data.contract_id is not None and session.get(Contract, data.contract_id) is None:
        raise FieldError("contract_id", f"no contract with id {data.contract_id}; GET /contracts lists them")
    template = None
    if data.template is not None:
        template = session.exec(select(ChangeTemplate).where(ChangeTemplate.name == data.template,
                                                             ChangeTemplate.active == True)).first()  # noqa: E712
        if template is None:
            raise FieldError("template", f"no active change template {data.template!r}; GET /change-templates "
                                         "lists them")
        if template.approval_status != "approved":
            raise FieldError("template", f"template {template.name!r} (version {template.version}) is "
                                         f"{template.approval_status}, not approved: a standard change runs only a "
                                         "runbook the CAB approved (its gate is in GET /approvals)")
        if data.standard_kind not in (None, template.standard_kind):
            raise FieldError("standard_kind", f"template {template.name!r} is for {template.standard_kind}")
    standard_kind = template.standard_kind if template else data.standard_kind
    rules = classify(standard_kind=standard_kind, characteristics=data.characteristics,
                     from_version=data.from_version, to_version=data.release_version,
                     facility_ci=any(ci.ci_type == CIType.FACILITY for ci in cis.values()))
    if not allowed(data.change_type, rules):
        raise FieldError("change_type", f"this change must be at least {rules.minimum.value}: "
                                        f"{'; '.join(rules.reasons)}")
    values = data.model_dump(mode="json", exclude={"from_version", "ci_updates", "window_start", "window_end",
                                                   "template"})
    if template is not None and not data.steps:  # the template's runbook, copied: later edits do not reach it
        values |= {"steps": template.steps, "verification": template.verification, "rollback": template.rollback,
                   "rollback_verification": template.rollback_verification, "standard_kind": standard_kind,
                   "template_id": template.id}
    if template is not None and "planned_minutes" not in data.model_fields_set:
        values["planned_minutes"] = template.planned_minutes
    change = ChangeRequest.model_validate({
        **values, "window_start": data.window_start, "window_end": data.window_end, "requested_by": requested_by,
        "ci_updates": {str(k): v.model_dump(mode="json", exclude_unset=True) for k, v in data.ci_updates.items()},
        "status": ChangeStatus.DRAFT})
    session.add(change)
    session.flush()
    record_audit(session, actor=actor, action="change.created", record_type="change_request", record_id=change.id,
                 after={"title": change.title, "type": change.change_type.value, "classification": rules.reasons})
    return change


def create_template(session: Session, *, data: TemplateCreate, created_by: int, actor: str) -> ChangeTemplate:
    """Pre-authorise a standard change model (change manager); a taken name is a 409."""
    if session.exec(select(ChangeTemplate.id).where(ChangeTemplate.name == data.name)).first() is not None:
        raise DuplicateError("name", data.name, "template names are unique; retire the old one or pick another")
    template = ChangeTemplate(name=data.name, standard_kind=data.standard_kind, description=data.description,
                              planned_minutes=data.planned_minutes, created_by=created_by, submitted_by=created_by,
                              **data.runbook())
    session.add(template)
    session.flush()
    record_audit(session, actor=actor, action="change_template.created", record_type="change_template",
                 record_id=template.id, after={"name": data.name, "standard_kind": data.standard_kind,
                                               **data.runbook()})
    return template


def edit_template(session: Session, template: ChangeTemplate, *, data: TemplateCreate, edited_by: int,
                  actor: str) -> ChangeTemplate:
    """A new version of a template's runbook: unusable again until the CAB approves it."""
    if data.name != template.name:
        raise FieldError("name", f"a template keeps its name ({template.name!r}); create a new one to rename it")
    before = {"version": template.version, "approval_status": template.approval_status,
              "standard_kind": template.standard_kind, "planned_minutes": template.planned_minutes,
              "steps": template.steps, "verification": template.verification, "rollback": template.rollback,
              "rollback_verification": template.rollback_verification}
    for key, value in {"standard_kind": data.standard_kind, "description": data.description,
                       "planned_minutes": data.planned_minutes, **data.runbook()}.items():
        setattr(template, key, value)
    template.version += 1
    template.approval_status, template.submitted_by = "pending", edited_by
    template.approved_by = template.approved_at = template.approval_flow_run_id = None
    session.add(template)
    record_audit(session, actor=actor, action="change_template.edited", record_type="change_template",
                 record_id=template.id, before=before, after={"version": template.version, "approval_status": "pending",
                                                              **data.runbook()})
    return template


def set_change_status(session: Session, change: ChangeRequest, status: ChangeStatus, *, actor: str,
                      detail: str | None = None, **fields: Any) -> None:
    """Move a change to `status` (and set `fields`), audited; a move to the status it has changes nothing."""
    if change.status == status and not fields:
        return
    before = change.status.value
    for name, value in fields.items():
        setattr(change, name, value)
    change.status = status
    session.add(change)
    record_audit(session, actor=actor, action=f"change.{status.value}", record_type="change_request",
                 record_id=change.id, before={"status": before}, after={"status": status.value}, detail=detail)


def window_rules(session: Session) -> list[WindowRule]:
    """The active change windows."""
    rows = session.exec(select(ChangeWindow).where(ChangeWindow.active == True))  # noqa: E712
    return [WindowRule(frozenset(w.weekdays), parse_hhmm(w.start), parse_hhmm(w.end), ZoneInfo(w.timezone))
            for w in rows]


def freezes(session: Session, since: datetime) -> list[Interval]:
    """Freeze periods not over by `since`."""
    rows = session.exec(select(ChangeFreeze).where(ChangeFreeze.ends_at > since))
    return [(f.starts_at, f.ends_at) for f in rows]


def slot_for(session: Session, change: ChangeRequest, now: datetime, *, zone: ZoneInfo,
             freeze_holidays: bool) -> Interval | None:
    """The first interval from `now` in which `change` may run, by its window, the change windows and freezes."""
    requested = (change.window_start, change.window_end) if change.window_start and change.window_end else None
    return next_slot(now, minutes=change.planned_minutes, requested=requested, windows=window_rules(session),
                     freezes=freezes(session, now), zone=zone,
                     is_holiday=is_statutory_holiday if freeze_holidays else None)


def month_bounds(month: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """'2026-11' → the local month's first instant and the next month's first instant."""
    try:
        year, number = (int(part) for part in month.split("-"))
        if not 1900 <= year <= 9998:  # beyond, the local month's instants overflow a datetime in UTC
            raise ValueError(year)
        start = datetime(year, number, 1, tzinfo=zone)
    except ValueError:
        raise FieldError("month", f"{month!r} is not a month from 1900-01 to 9998-12; write YYYY-MM, e.g. 2026-11"
                         ) from None
    following = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return start, following


def change_metrics(session: Session, start: datetime, end: datetime, scope: Scope = EVERYTHING) -> dict[str, Any]:
    """Change metrics of the changes finished in [start, end): per type, outage, major changes on time, missed goals."""
    finished = ((col(ChangeRequest.finished_at) >= start) & (col(ChangeRequest.finished_at) < end)
                & contract_clause(scope, ChangeRequest.contract_id))
    by_type = dict(session.exec(select(ChangeRequest.change_type, func.count()).where(finished)
                                .group_by(ChangeRequest.change_type)).all())
    duration = func.coalesce(minutes_between(session, ChangeRequest.started_at, ChangeRequest.finished_at), 0)
    on_time = case((duration <= ChangeRequest.planned_minutes, 1), else_=0)
    # A change missed its goal when it did not succeed, or when its review says so.
    goal_missed = ((col(ChangeRequest.status) != ChangeStatus.SUCCEEDED.value)
                   | (col(ChangeReview.goal_met) == False))  # noqa: E712
    missed = case((goal_missed, 1), else_=0)
    row = session.exec(select(  # type: ignore[call-overload]  # why: sqlmodel types select() for at most 4 columns
        func.count(), func.coalesce(func.sum(ChangeRequest.outage_minutes), 0.0),
        func.coalesce(func.sum(case((col(ChangeRequest.change_type) == ChangeType.MAJOR.value, 1), else_=0)), 0),
        func.coalesce(func.sum(case((col(ChangeRequest.change_type) == ChangeType.MAJOR.value, on_time), else_=0)), 0),
        func.coalesce(func.sum(missed), 0),
    ).select_from(ChangeRequest).outerjoin(ChangeReview, ChangeReview.change_id == ChangeRequest.id)
        .where(finished)).one()
    total, outage, majors, majors_on_time, missed_goal = row
    return {
        "changes": int(total),
        "by_type": {t.value: int(by_type.get(t, by_type.get(t.value, 0))) for t in ChangeType},
        "outage_minutes": round(float(outage), 2),
        "major_changes": int(majors),
        "major_on_time_rate": round(int(majors_on_time) / int(majors), 4) if majors else None,
        "missed_goal": int(missed_goal),
        "missed_goal_ids": list(session.exec(select(ChangeRequest.id).outerjoin(
            ChangeReview, col(ChangeReview.change_id) == col(ChangeRequest.id)).where(finished, goal_missed)
            .order_by(col(ChangeRequest.id)))),
    }


def review_due(finished: datetime) -> datetime:
    """The post-implementation review is due a week after the change finished."""
    return finished + timedelta(days=7)

