"""Incident services: intake, grading, the timeline, SLA clocks, pauses and recurrence."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any, Literal, overload

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from config.settings import get_settings
from models.cmdb.tables import ConfigurationItem
from models.contracts.service import phase_on
from models.contracts.tables import Contract, ContractCI, ContractStatus, Phase
from models.core.audit import record_audit
from models.core.clock import utcnow
from models.core.memo import remembered
from models.core.rows import id_of, stored_id
from models.incidents.clocks import refresh_clocks
from models.incidents.grading import ImpactFacts, Level, emergency_level, fault_class
from models.incidents.tables import (
    Incident,
    IncidentCI,
    IncidentPublic,
    IncidentStatus,
    Source,
    log_event,
)


def _contract_for(session: Session, contract_id: int | None, ci_ids: list[int]) -> int | None:
    if contract_id is not None:
        return contract_id

    def find() -> int | None:
        if ci_ids:
            found = session.exec(select(ContractCI.contract_id).where(col(ContractCI.ci_id).in_(ci_ids))).first()
            if found is not None:
                return found
        active = session.exec(select(Contract.id).where(Contract.status == ContractStatus.ACTIVE)).all()
        return active[0] if len(active) == 1 else None

    return remembered(session, ("contract_for", tuple(sorted(ci_ids))), find)


def resolve_cis(session: Session, names: list[str]) -> tuple[list[int], list[str]]:
    """CI ids for names, hostnames or IPs; returns (ids, names not found)."""
    def named(name: str) -> int | None:
        return session.exec(select(id_of(ConfigurationItem)).where(
            (col(ConfigurationItem.name) == name) | (col(ConfigurationItem.hostname) == name)
            | (col(ConfigurationItem.ip) == name)
        )).first()

    ids: list[int] = []
    unknown: list[str] = []
    for name in names:
        ci = remembered(session, ("ci_named", name), partial(named, name))
        if ci is None:
            unknown.append(name)
        else:
            ids.append(ci)
    return ids, unknown


def create_incident(
    session: Session,
    *,
    title: str,
    actor: str,
    source: Source,
    facts: ImpactFacts,
    symptom: str = "",
    ci_ids: list[int] | None = None,
    unknown_ci_names: list[str] | None = None,
    contract_id: int | None = None,
    fingerprint: str | None = None,
    reported_at: datetime | None = None,
    occurred_at: datetime | None = None,
    minimum_class: str | None = None,
    **contact: Any,
) -> Incident:
    """Record a new incident, graded, with its response deadline and the first timeline lines."""
    ci_ids = ci_ids or []
    reported = reported_at or utcnow()
    contract = _contract_for(session, contract_id, ci_ids)
    level = emergency_level(facts)
    klass = fault_class(facts, level)
    if minimum_class == "major":
        klass = fault_class(facts.model_copy(update={"business_function_lost": True}), level)
    day = reported.astimezone(get_settings().tz).date()
    phase = remembered(session, ("phase_on", contract, day),
                       lambda: phase_on(session, contract_id=contract, day=day)) if contract else None
    incident = Incident(
        title=title, symptom=symptom, source=source, fingerprint=fingerprint, contract_id=contract,
        unknown_ci=bool(unknown_ci_names), unknown_ci_names=unknown_ci_names or [], level=level, fault_class=klass,
        reported_at=reported, occurred_at=occurred_at, sla_applicable=phase != Phase.TRANSITION, breaches=[],
        warnings=[],
        **facts.model_dump(), **{k: v for k, v in contact.items() if v is not None},
    )
    # Due times at the report instant, before the INSERT (nothing can be breached yet): an imported
    # or back-dated report must not look breached before its later events are applied; the sweeper
    # and every status change refresh at the real now.
    refresh_clocks(session, incident, now=reported, pauses=[])
    session.flush()
    for ci_id in sorted(set(ci_ids)):
        session.add(IncidentCI(incident_id=stored_id(incident), ci_id=ci_id))
    log_event(session, stored_id(incident), actor=actor, kind="reported", at=reported,
              detail=f"{source.value}: {title}" + (f" (unknown CI: {', '.join(unknown_ci_names)})"
                                                    if unknown_ci_names else ""))
    log_event(session, stored_id(incident), actor=actor, kind="graded", at=reported,
              detail=f"level {level.value}, {klass.value} fault", data={"level": level.value, "class": klass.value})
    record_audit(session, actor=actor, action="incident.reported", record_type="incident", record_id=incident.id,
                 after={"title": title, "level": level.value, "fault_class": klass.value, "source": source.value})
    return incident


def regrade(session: Session, incident: Incident, facts: ImpactFacts, *, actor: str, reason: str = "") -> Level:
    """Apply new impact facts; a level or class change goes on the timeline. Returns the old level."""
    old_level, old_class = incident.level, incident.fault_class
    for key, value in facts.model_dump().items():
        setattr(incident, key, value)
    incident.level = emergency_level(facts)
    incident.fault_class = fault_class(facts, incident.level)
    if (incident.level, incident.fault_class) != (old_level, old_class):
        log_event(session, stored_id(incident), actor=actor, kind="regraded",
                  detail=f"level {old_level.value} → {incident.level.value}, "
                         f"{old_class.value} → {incident.fault_class.value}" + (f": {reason}" if reason else ""),
                  data={"from": old_level.value, "to": incident.level.value})
        record_audit(session, actor=actor, action="incident.regraded", record_type="incident",
                     record_id=incident.id, before={"level": old_level.value, "fault_class": old_class.value},
                     after={"level": incident.level.value, "fault_class": incident.fault_class.value}, detail=reason)
    refresh_clocks(session, incident)
    return old_level


def set_status(session: Session, incident: Incident, *, status: IncidentStatus, actor: str, kind: str,
               at: datetime | None = None, detail: str = "", data: dict[str, Any] | None = None) -> None:
    """Move the incident along its life cycle, with a timeline line and an audit entry."""
    before = incident.status
    at = at or utcnow()
    incident.status = status
    if kind == "acknowledged":
        incident.acknowledged_at = incident.acknowledged_at or at
    elif kind == "resolved":
        incident.resolved_at = at
    elif kind == "closed":
        incident.closed_at = at
    elif kind == "reopened":
        incident.resolved_at = None
        incident.reopened += 1
    log_event(session, stored_id(incident), actor=actor, kind=kind, at=at, detail=detail, data=data)
    record_audit(session, actor=actor, action=f"incident.{kind}", record_type="incident", record_id=incident.id,
                 before={"status": before.value}, after={"status": status.value}, detail=detail or None)
    refresh_clocks(session, incident)


def open_by_fingerprint(session: Session, fingerprint: str) -> Incident | None:
    """The open incident an alert with this fingerprint belongs to."""
    return session.exec(select(Incident).where(Incident.fingerprint == fingerprint,
                                               Incident.status != IncidentStatus.CLOSED)).first()


def note_repeat(session: Session, incident: Incident, *, firing: bool, actor: str) -> bool:
    """An alert for an open incident: a resolve, or firing again after one, goes on the timeline;
    True when it counts as one more firing (the caller adds it to `alert_count` in SQL)."""
    if firing:
        # Monitors re-send a firing alert every few minutes: it is counted; only firing again after
        # a resolve goes on the timeline.
        if incident.alert_resolved_at is not None:
            log_event(session, stored_id(incident), actor=actor, kind="alert_refiring",
                      detail="the monitor reports the alert firing again after it resolved")
            incident.alert_resolved_at = None
            session.add(incident)
        return True
    if incident.alert_resolved_at is None:
        incident.alert_resolved_at = utcnow()
        session.add(incident)
        log_event(session, stored_id(incident), actor=actor, kind="alert_resolved",
                  detail="the monitor reports the alert resolved; closing still needs the requester's consent")
    return False


def count_alerts(session: Session, incident: Incident, n: int) -> None:
    """Add `n` firings to the incident's alert count, in SQL (concurrent writers cannot lose one)."""
    if n:
        incident.alert_count = Incident.alert_count + n  # type: ignore[assignment]
        session.add(incident)


@overload  # a firing alert always has an incident: the open one it repeats, or a new one
def record_alert(session: Session, *, fingerprint: str, firing: Literal[True], title: str, symptom: str,
                 ci_names: list[str], source: Source, actor: str, major: bool,
                 starts_at: datetime | None, received_at: datetime | None = None) -> tuple[Incident, bool]: ...


@overload
def record_alert(session: Session, *, fingerprint: str, firing: bool, title: str, symptom: str,
                 ci_names: list[str], source: Source, actor: str, major: bool,
                 starts_at: datetime | None, received_at: datetime | None = None) -> tuple[Incident | None, bool]: ...


def record_alert(session: Session, *, fingerprint: str, firing: bool, title: str, symptom: str,
                 ci_names: list[str], source: Source, actor: str, major: bool,
                 starts_at: datetime | None, received_at: datetime | None = None) -> tuple[Incident | None, bool]:
    """Open or update the incident of an alert; returns (incident, created). Resolved alerts never open one."""
    existing = open_by_fingerprint(session, fingerprint)
    if existing is not None:
        count_alerts(session, existing, int(note_repeat(session, existing, firing=firing, actor=actor)))
        return existing, False
    if not firing:
        return None, False
    return open_alert_incident(session, fingerprint=fingerprint, title=title, symptom=symptom, ci_names=ci_names,
                               source=source, actor=actor, major=major, starts_at=starts_at, received_at=received_at)


def open_alert_incident(session: Session, *, fingerprint: str, title: str, symptom: str, ci_names: list[str],
                        source: Source, actor: str, major: bool, starts_at: datetime | None,
                        received_at: datetime | None = None) -> tuple[Incident, bool]:
    """Open the incident of a firing alert whose fingerprint has none open; (incident, created). It is reported
    when it reached the desk (`received_at`, default now); the monitor's `starts_at` is kept as `occurred_at`, so
    a late or redelivered alert is not born with its response target missed."""
    ci_ids, unknown = resolve_cis(session, ci_names)
    try:
        with session.begin_nested():
            incident = create_incident(
                session, title=title, symptom=symptom, actor=actor, source=source, facts=ImpactFacts(),
                ci_ids=ci_ids, unknown_ci_names=unknown, fingerprint=fingerprint, reported_at=received_at,
                occurred_at=starts_at, minimum_class="major" if major else None)
    except IntegrityError:  # a concurrent writer opened it first: count this one on it
        found, _ = record_alert(session, fingerprint=fingerprint, firing=True, title=title, symptom=symptom,
                                ci_names=ci_names, source=source, actor=actor, major=major, starts_at=starts_at,
                                received_at=received_at)
        return found, False  # type: ignore[return-value]  # firing: record_alert always returns one
    return incident, True


def incident_public(session: Session, incident: Incident) -> IncidentPublic:
    """An incident with its CI ids."""
    ci_ids = session.exec(select(IncidentCI.ci_id).where(IncidentCI.incident_id == incident.id))
    return IncidentPublic(**incident.model_dump(), ci_ids=sorted(ci_ids))


