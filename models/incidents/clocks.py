"""Incident SLA clocks: targets and calendars, due times, warnings at 80 %, breaches, recomputation."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import or_
from sqlmodel import Session, col, select

from config.settings import get_settings
from models.contracts.tables import Contract
from models.core.audit import record_audit
from models.core.clock import utcnow
from models.core.memo import remembered
from models.core.rows import stored_id
from models.directory.reference import default_policy_set_id
from models.gates.tables import ApprovalGate
from models.incidents.tables import Incident, IncidentPause, IncidentStatus, log_event
from models.sla.business_time import BusinessCalendar, CalendarKind, parse_periods
from models.sla.policies import SlaPolicy
from models.sla.sla_clock import WARN_AT, ClockState, Targets, Verdict, clocks
from models.sla.statutory import statutory_calendar


@lru_cache
def _periods() -> tuple:
    return parse_periods(get_settings().business_hours)


def calendars(session: Session | None = None) -> dict[CalendarKind, BusinessCalendar]:
    """The two clocks in the configured timezone and business hours, on the statutory calendar of the
    database (`session`; the library's alone without one)."""
    settings = get_settings()
    if session is None:
        return {kind: BusinessCalendar(kind, settings.tz, _periods()) for kind in CalendarKind}
    statutory = statutory_calendar(session)
    return {kind: BusinessCalendar(kind, settings.tz, _periods(), statutory) for kind in CalendarKind}


def targets_for(session: Session, contract_id: int | None) -> Targets:
    """SLA targets of the contract's policy set (the default set without a contract)."""

    def read() -> Targets:
        contract = session.get(Contract, contract_id) if contract_id else None
        set_id = (contract.sla_policy_set_id if contract else None) or default_policy_set_id(session)
        rows = session.exec(select(SlaPolicy).where(SlaPolicy.policy_set_id == set_id))
        return {(r.fault_class, r.measure): (r.target_minutes, r.calendar) for r in rows}

    return remembered(session, ("sla_targets", contract_id), read)


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
                  pauses=pauses_of(session, stored_id(incident)) if pauses is None else pauses, now=now or utcnow(),
                  calendars=calendars(session), applicable=incident.sla_applicable)


def refresh_clocks(session: Session, incident: Incident, now: datetime | None = None,
                   pauses: list[tuple[datetime, datetime]] | None = None) -> list[str]:
    """Store due times and breaches; returns measures newly breached (each goes on the timeline once)."""
    return store_clocks(session, incident, clock_states(session, incident, now, pauses))


def store_clocks(session: Session, incident: Incident, clock_list: list[ClockState]) -> list[str]:
    """Store computed clocks on the incident: due times, verdicts, and breaches exactly as the verdicts say;
    returns measures newly breached (each goes on the timeline once, at the instant its target passed)."""
    states = {s.measure.value: s for s in clock_list}
    incident.response_due = states["response"].due_at
    incident.on_site_due = states["on_site"].due_at
    incident.resolution_due = states["resolution"].due_at
    incident.response_verdict = states["response"].verdict.value
    incident.on_site_verdict = states["on_site"].verdict.value
    incident.resolution_verdict = states["resolution"].verdict.value
    missed = sorted(m for m, s in states.items() if s.verdict is Verdict.MISSED)
    new = [m for m in missed if m not in incident.breaches]
    for measure in new:
        log_event(session, stored_id(incident), actor="system:sla", kind="breach", at=states[measure].due_at,
                  detail=f"{measure} target of {states[measure].target_minutes} min missed")
    if set(missed) != set(incident.breaches):  # a regrade or reopen can also take a breach away
        incident.breaches = missed
    provisional = sorted({y for s in clock_list for y in s.provisional_years})
    if provisional and not incident.sla_provisional and incident.id is not None:
        years = ", ".join(map(str, provisional))
        log_event(session, incident.id, actor="system:sla", kind="sla_provisional",
                  detail=f"no statutory calendar entered for {years}: due times are provisional (weekdays and "
                         "festival dates, no make-up days) and are recomputed once the year is entered",
                  data={"years": provisional})
        record_audit(session, actor="system:sla", action="incident.sla_provisional", record_type="incident",
                     record_id=incident.id, detail=f"provisional statutory calendar for {years}")
    incident.sla_provisional = bool(provisional)
    session.add(incident)
    return new


def sweep_clocks(session: Session, now: datetime | None = None) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Record new breaches and warn once per measure at 80 % of a target; returns (warnings, breaches)."""
    now = now or utcnow()
    warned, breached = [], []
    for incident in session.exec(select(Incident).where(Incident.status != IncidentStatus.CLOSED,
                                                        Incident.sla_applicable == True)):  # noqa: E712
        states = clock_states(session, incident, now)  # once per incident: two queries each
        for measure in store_clocks(session, incident, states):
            breached.append((stored_id(incident), measure))
        for state in states:
            name = state.measure.value
            if state.verdict is Verdict.RUNNING and state.used >= WARN_AT and name not in incident.warnings:
                incident.warnings = sorted({*incident.warnings, name})
                log_event(session, stored_id(incident), actor="system:sla", kind="sla_warning",
                          detail=f"{name}: {state.used:.0%} of {state.target_minutes} min used")
                warned.append((stored_id(incident), name))
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


def settle_clocks(session: Session, start: datetime, end: datetime, now: datetime) -> int:
    """Bring the verdicts of incidents reported in [start, end) up to `now` where they can still change
    (running, not started, or never computed), so the review counts what the clocks say; returns how many."""
    undecided = [None, Verdict.RUNNING.value, Verdict.NOT_STARTED.value]
    rows = session.exec(select(Incident).where(
        col(Incident.reported_at) >= start, col(Incident.reported_at) < end,
        or_(col(Incident.response_verdict).is_(None), col(Incident.response_verdict).in_(undecided[1:]),
            col(Incident.on_site_verdict).in_(undecided[1:]), col(Incident.resolution_verdict).in_(undecided[1:]))))
    count = 0
    for incident in rows:
        store_clocks(session, incident, clock_states(session, incident, now))
        count += 1
    session.flush()
    return count


def recompute_open_clocks(session: Session, now: datetime | None = None) -> list[int]:
    """Recompute every open incident's clocks (after the statutory calendar changed); returns their ids."""
    ids = []
    for incident in session.exec(select(Incident).where(Incident.status != IncidentStatus.CLOSED)):
        store_clocks(session, incident, clock_states(session, incident, now))
        ids.append(stored_id(incident))
    session.flush()
    return ids
