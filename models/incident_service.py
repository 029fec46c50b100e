"""Incident services: intake, grading, the timeline, SLA clocks, pauses and recurrence."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from itss.settings import get_settings
from models.audit import record_audit
from models.business_time import BusinessCalendar, CalendarKind, parse_periods
from models.cmdb import ConfigurationItem
from models.contract_service import phase_on
from models.contracts import Contract, ContractCI, ContractStatus, Phase
from models.db import remembered, utcnow
from models.gates import ApprovalGate
from models.grading import ImpactFacts, Level, emergency_level, fault_class
from models.incidents import (
    Incident,
    IncidentCI,
    IncidentEvent,
    IncidentPause,
    IncidentPublic,
    IncidentStatus,
    Problem,
    Source,
    symptom_key,
)
from models.reference import default_policy_set_id
from models.sla import SlaPolicy
from models.sla_clock import WARN_AT, ClockState, Targets, clocks

RECURRENCE_WINDOW = timedelta(days=90)


@lru_cache
def calendars() -> dict[CalendarKind, BusinessCalendar]:
    """The two clocks in the configured timezone and business hours (parsed once per process)."""
    settings = get_settings()
    periods = parse_periods(settings.business_hours)
    return {kind: BusinessCalendar(kind, settings.tz, periods) for kind in CalendarKind}


def targets_for(session: Session, contract_id: int | None) -> Targets:
    """SLA targets of the contract's policy set (the default set without a contract)."""

    def read() -> Targets:
        contract = session.get(Contract, contract_id) if contract_id else None
        set_id = (contract.sla_policy_set_id if contract else None) or default_policy_set_id(session)
        rows = session.exec(select(SlaPolicy).where(SlaPolicy.policy_set_id == set_id))
        return {(r.fault_class, r.measure): (r.target_minutes, r.calendar) for r in rows}

    return remembered(session, ("sla_targets", contract_id), read)


def log_event(session: Session, incident_id: int, *, actor: str, kind: str, detail: str = "",
              data: dict[str, Any] | None = None, at: datetime | None = None) -> IncidentEvent:
    """Append a line to the incident's timeline."""
    event = IncidentEvent(incident_id=incident_id, actor=actor, kind=kind, detail=detail, data=data or {},
                          at=at or utcnow())
    session.add(event)
    return event


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
    ids, unknown = [], []
    for name in names:
        ci = remembered(session, ("ci_named", name), lambda name=name: session.exec(select(ConfigurationItem.id).where(
            (ConfigurationItem.name == name) | (ConfigurationItem.hostname == name) | (ConfigurationItem.ip == name)
        )).first())
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
        reported_at=reported, sla_applicable=phase != Phase.TRANSITION, breaches=[], warnings=[],
        **facts.model_dump(), **{k: v for k, v in contact.items() if v is not None},
    )
    # Due times at the report instant, before the INSERT (nothing can be breached yet): an imported
    # or back-dated report must not look breached before its later events are applied; the sweeper
    # and every status change refresh at the real now.
    refresh_clocks(session, incident, now=reported, pauses=[])
    session.flush()
    for ci_id in sorted(set(ci_ids)):
        session.add(IncidentCI(incident_id=incident.id, ci_id=ci_id))
    log_event(session, incident.id, actor=actor, kind="reported", at=reported,
              detail=f"{source.value}: {title}" + (f" (unknown CI: {', '.join(unknown_ci_names)})"
                                                    if unknown_ci_names else ""))
    log_event(session, incident.id, actor=actor, kind="graded", at=reported,
              detail=f"level {level.value}, {klass.value} fault", data={"level": level.value, "class": klass.value})
    record_audit(session, actor=actor, action="incident.reported", record_type="incident", record_id=incident.id,
                 after={"title": title, "level": level.value, "fault_class": klass.value, "source": source.value})
    return incident


def pauses_of(session: Session, incident_id: int) -> list[tuple[datetime, datetime]]:
    """The incident's paused intervals; an open pause runs to now."""
    now = utcnow()
    rows = session.exec(select(IncidentPause).where(IncidentPause.incident_id == incident_id))
    return [(p.started_at, p.ended_at or now) for p in rows]


def clock_states(session: Session, incident: Incident, now: datetime | None = None,
                 pauses: list[tuple[datetime, datetime]] | None = None) -> list[ClockState]:
    """The incident's three SLA clocks now (`pauses` when the caller knows them: a new incident has none)."""
    return clocks(targets=targets_for(session, incident.contract_id), fault_class=incident.fault_class,
                  reported_at=incident.reported_at, acknowledged_at=incident.acknowledged_at,
                  on_site_at=incident.on_site_at, resolved_at=incident.resolved_at,
                  pauses=pauses_of(session, incident.id) if pauses is None else pauses, now=now or utcnow(),
                  calendars=calendars())


def refresh_clocks(session: Session, incident: Incident, now: datetime | None = None,
                   pauses: list[tuple[datetime, datetime]] | None = None) -> list[str]:
    """Store due times and breaches; returns measures newly breached (each goes on the timeline once)."""
    return store_clocks(session, incident, clock_states(session, incident, now, pauses))


def store_clocks(session: Session, incident: Incident, clock_list: list[ClockState]) -> list[str]:
    """Store computed clocks on the incident; returns measures newly breached."""
    states = {s.measure.value: s for s in clock_list}
    incident.response_due = states["response"].due_at
    incident.on_site_due = states["on_site"].due_at
    incident.resolution_due = states["resolution"].due_at
    new = [m for m, s in states.items() if s.breached and m not in incident.breaches]
    if new:
        incident.breaches = sorted({*incident.breaches, *new})
        for measure in new:
            log_event(session, incident.id, actor="system:sla", kind="breach",
                      detail=f"{measure} target of {states[measure].target_minutes} min missed")
    session.add(incident)
    return new


def regrade(session: Session, incident: Incident, facts: ImpactFacts, *, actor: str, reason: str = "") -> Level:
    """Apply new impact facts; a level or class change goes on the timeline. Returns the old level."""
    old_level, old_class = incident.level, incident.fault_class
    for key, value in facts.model_dump().items():
        setattr(incident, key, value)
    incident.level = emergency_level(facts)
    incident.fault_class = fault_class(facts, incident.level)
    if (incident.level, incident.fault_class) != (old_level, old_class):
        log_event(session, incident.id, actor=actor, kind="regraded",
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
    log_event(session, incident.id, actor=actor, kind=kind, at=at, detail=detail, data=data)
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
            log_event(session, incident.id, actor=actor, kind="alert_refiring",
                      detail="the monitor reports the alert firing again after it resolved")
            incident.alert_resolved_at = None
            session.add(incident)
        return True
    if incident.alert_resolved_at is None:
        incident.alert_resolved_at = utcnow()
        session.add(incident)
        log_event(session, incident.id, actor=actor, kind="alert_resolved",
                  detail="the monitor reports the alert resolved; closing still needs the requester's consent")
    return False


def count_alerts(session: Session, incident: Incident, n: int) -> None:
    """Add `n` firings to the incident's alert count, in SQL (concurrent writers cannot lose one)."""
    if n:
        incident.alert_count = Incident.alert_count + n  # type: ignore[assignment]
        session.add(incident)


def record_alert(session: Session, *, fingerprint: str, firing: bool, title: str, symptom: str,
                 ci_names: list[str], source: Source, actor: str, major: bool,
                 starts_at: datetime | None) -> tuple[Incident | None, bool]:
    """Open or update the incident of an alert; returns (incident, created). Resolved alerts never open one."""
    existing = open_by_fingerprint(session, fingerprint)
    if existing is not None:
        count_alerts(session, existing, int(note_repeat(session, existing, firing=firing, actor=actor)))
        return existing, False
    if not firing:
        return None, False
    return open_alert_incident(session, fingerprint=fingerprint, title=title, symptom=symptom, ci_names=ci_names,
                               source=source, actor=actor, major=major, starts_at=starts_at)


def open_alert_incident(session: Session, *, fingerprint: str, title: str, symptom: str, ci_names: list[str],
                        source: Source, actor: str, major: bool,
                        starts_at: datetime | None) -> tuple[Incident, bool]:
    """Open the incident of a firing alert whose fingerprint has none open; (incident, created)."""
    ci_ids, unknown = resolve_cis(session, ci_names)
    try:
        with session.begin_nested():
            incident = create_incident(
                session, title=title, symptom=symptom, actor=actor, source=source, facts=ImpactFacts(),
                ci_ids=ci_ids, unknown_ci_names=unknown, fingerprint=fingerprint, reported_at=starts_at,
                minimum_class="major" if major else None)
    except IntegrityError:  # a concurrent writer opened it first: count this one on it
        found, _ = record_alert(session, fingerprint=fingerprint, firing=True, title=title, symptom=symptom,
                                ci_names=ci_names, source=source, actor=actor, major=major, starts_at=starts_at)
        return found, False  # type: ignore[return-value]  # firing: record_alert always returns one
    return incident, True


def check_recurrence(session: Session, incident: Incident) -> list[Problem]:
    """Open (or extend) a problem record for each CI whose symptom was seen in the 90 days before."""
    key = symptom_key(incident.symptom or incident.title)
    ci_ids = list(session.exec(select(IncidentCI.ci_id).where(IncidentCI.incident_id == incident.id)))
    problems = []
    for ci_id in ci_ids:
        earlier = session.exec(
            select(Incident).join(IncidentCI, IncidentCI.incident_id == Incident.id)
            .where(IncidentCI.ci_id == ci_id, Incident.id != incident.id,
                   Incident.reported_at >= incident.reported_at - RECURRENCE_WINDOW,
                   Incident.reported_at <= incident.reported_at)
        ).all()
        same = [i.id for i in earlier if symptom_key(i.symptom or i.title) == key]
        if not same:
            continue
        problem = session.exec(select(Problem).where(Problem.ci_id == ci_id, Problem.symptom_key == key)).first()
        if problem is None:
            problem = Problem(ci_id=ci_id, symptom_key=key, incident_ids=sorted({*same, incident.id}))
        else:
            problem.incident_ids = sorted({*problem.incident_ids, *same, incident.id})
        session.add(problem)
        problems.append(problem)
    session.flush()
    return problems


def incident_public(session: Session, incident: Incident) -> IncidentPublic:
    """An incident with its CI ids."""
    ci_ids = session.exec(select(IncidentCI.ci_id).where(IncidentCI.incident_id == incident.id))
    return IncidentPublic(**incident.model_dump(), ci_ids=sorted(ci_ids))


CLAIM_PREFIX = "claim:"
STALE_CLAIM = timedelta(minutes=2)


def claim_dispatch(session: Session, incident_id: int, *, holding: str | None = None) -> bool:
    """Reserve the right to start this incident's flow run: free, or a claim older than 2 min, or
    (`holding`) renew exactly that claim if it is still fresh — the sweeper may have taken it over."""
    now = utcnow()
    stale = f"{CLAIM_PREFIX}{(now - STALE_CLAIM).isoformat()}"
    if holding is not None:
        condition = (Incident.flow_run_id == holding) & (Incident.flow_run_id >= stale)
    else:
        condition = or_(col(Incident.flow_run_id).is_(None),
                        col(Incident.flow_run_id).startswith(CLAIM_PREFIX) & (Incident.flow_run_id < stale))
    result = session.exec(  # type: ignore[call-overload]
        update(Incident).where(Incident.id == incident_id, Incident.status != IncidentStatus.CLOSED, condition)
        .values(flow_run_id=f"{CLAIM_PREFIX}{now.isoformat()}", dispatch_attempts=Incident.dispatch_attempts + 1)
    )
    session.commit()
    return result.rowcount == 1


def claim_new(incident: Incident) -> str:
    """Claim a just-created incident's dispatch in the transaction that creates it, so the sweeper
    leaves it to the dispatcher; returns the claim for `claim_dispatch(holding=...)`."""
    incident.flow_run_id = f"{CLAIM_PREFIX}{utcnow().isoformat()}"
    return incident.flow_run_id


def finish_dispatch(session: Session, incident_id: int, flow_run_id: str | None) -> None:
    """Record the started run's id, or release the claim so the sweeper tries again."""
    incident = session.get(Incident, incident_id)
    if incident is not None and (incident.flow_run_id or "").startswith(CLAIM_PREFIX):
        incident.flow_run_id = flow_run_id
        session.add(incident)
        session.commit()


def undispatched(session: Session, limit: int = 100) -> list[int]:
    """Open incidents without a flow run (or with a stale claim), oldest first; imports never get one."""
    stale = f"{CLAIM_PREFIX}{(utcnow() - STALE_CLAIM).isoformat()}"
    return list(session.exec(
        select(Incident.id).where(
            Incident.status != IncidentStatus.CLOSED, Incident.source != Source.IMPORT,
            col(Incident.flow_run_id).is_(None)
            | (col(Incident.flow_run_id).startswith(CLAIM_PREFIX) & (Incident.flow_run_id < stale)))
        .order_by(Incident.id).limit(limit)))


def sweep_clocks(session: Session, now: datetime | None = None) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Record new breaches and warn once per measure at 80 % of a target; returns (warnings, breaches)."""
    now = now or utcnow()
    warned, breached = [], []
    for incident in session.exec(select(Incident).where(Incident.status != IncidentStatus.CLOSED,
                                                        Incident.sla_applicable == True)):  # noqa: E712
        states = clock_states(session, incident, now)  # once per incident: two queries each
        for measure in store_clocks(session, incident, states):
            breached.append((incident.id, measure))
        for state in states:
            name = state.measure.value
            if state.running and state.used >= WARN_AT and not state.breached and name not in incident.warnings:
                incident.warnings = sorted({*incident.warnings, name})
                log_event(session, incident.id, actor="system:sla", kind="sla_warning",
                          detail=f"{name}: {state.used:.0%} of {state.target_minutes} min used")
                warned.append((incident.id, name))
        session.add(incident)
    session.flush()
    return warned, breached


def response_time(session: Session, incident: Incident) -> datetime | None:
    """When the incident was acknowledged: recorded by the flow, or already decided at its gate."""
    if incident.acknowledged_at is not None:
        return incident.acknowledged_at
    gate = session.exec(select(ApprovalGate).where(
        ApprovalGate.record_type == "incident", ApprovalGate.record_id == str(incident.id),
        ApprovalGate.gate_key == "acknowledge", ApprovalGate.outcome == "acknowledge")).first()
    return gate.decided_at if gate is not None else None
