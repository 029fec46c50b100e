"""Tasks of the emergency response: the ticket, notifications by level, gate results, the report."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact
from pydantic import BaseModel
from sqlmodel import select

from models.core.db import session_scope
from models.core.rows import stored_id
from models.directory.roles import RoleKey
from models.gates.tables import EscalationStep, GateSpec
from models.incidents.clocks import targets_for
from models.incidents.documents import store_document
from models.incidents.grading import Level
from models.incidents.service import set_status
from models.incidents.tables import Document, Incident, IncidentEvent, IncidentStatus, log_event
from models.knowledge.service import draft_from_incident
from models.problems.service import check_recurrence, note_recurrence
from models.sla.policies import SlaMeasure
from notifications.outbox import enqueue
from notifications.render import render
from notifications.sender import deliver
from tasks.gates import GateOutcome
from tasks.incident_report import summary_markdown


class Ticket(BaseModel):
    """What the flow needs to know about its incident."""

    incident_id: int
    title: str
    level: Level
    fault_class: str
    contract_id: int | None
    response_minutes: int


def _incident(session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise ValueError(f"no incident {incident_id}")
    return incident


@task(name="open-emergency-ticket", retries=3, retry_delay_seconds=2)
def open_ticket(incident_id: int, flow_run_id: str) -> Ticket:
    """Bind the incident to this run and record the ticket (《应急事件单》) once."""
    with session_scope() as session:
        incident = _incident(session, incident_id)
        incident.flow_run_id = flow_run_id
        session.add(incident)
        opened = session.exec(select(IncidentEvent.id).where(IncidentEvent.incident_id == incident_id,
                                                             IncidentEvent.kind == "ticket_opened")).first()
        if opened is None:
            log_event(session, incident_id, actor=f"flow:{flow_run_id}", kind="ticket_opened",
                      detail=f"emergency ticket opened, level {incident.level.value}")
        minutes, _ = targets_for(session, incident.contract_id)[(incident.fault_class, SlaMeasure.RESPONSE)]
        return Ticket(incident_id=incident_id, title=incident.title, level=incident.level,
                      fault_class=incident.fault_class.value, contract_id=incident.contract_id,
                      response_minutes=minutes)


def audience(level: Level) -> list[RoleKey]:
    """Who is told of an incident: on call always; the PM from Level III; leadership for I and II."""
    roles = [RoleKey.ENGINEER, RoleKey.SERVICE_DESK]
    if level != Level.ORDINARY:
        roles.append(RoleKey.PROJECT_MANAGER)
    if level in (Level.I, Level.II):
        roles.append(RoleKey.LEADERSHIP)
    return roles


@task(name="notify-by-level", retries=2, retry_delay_seconds=2)
def notify_by_level(incident_id: int, event: str = "reported") -> list[str]:
    """Tell the roles the level calls for (once per incident, level and event)."""
    with session_scope() as session:
        incident = _incident(session, incident_id)
        roles = audience(incident.level)
        title, body = render("generic", title=f"[{incident.level.value}] {incident.title}",
                             body=f"{incident.fault_class.value} fault · {incident.symptom}", link=None)
        rows = enqueue(session, event=f"incident.{event}", title=title, body=body, roles=roles,
                       dedupe_prefix=f"incident:{incident_id}:{event}:{incident.level.value}",
                       contract_id=incident.contract_id)
        if rows:
            log_event(session, incident_id, actor="system:notify", kind="notified",
                      detail=f"{', '.join(r.value for r in roles)} ({len(rows)} recipients)")
        ids = [stored_id(r) for r in rows]
    deliver(ids)
    return [r.value for r in roles]


def ack_gate(ticket: Ticket, hints: str = "") -> GateSpec:
    """On call acknowledges; unanswered, the PM at the response target, leadership at twice it.

    `hints`: known-error workarounds and matching knowledge articles (tasks/knowledge.py)."""
    return GateSpec(key="acknowledge", subject=f"Acknowledge: {ticket.title}",
                    details_md=f"Level **{ticket.level.value}**, {ticket.fault_class} fault. Respond within "
                               f"{ticket.response_minutes} min." + (f"\n\n{hints}" if hints else ""),
                    eligible_roles=[RoleKey.ENGINEER], options=["acknowledge", "decline"], veto_options=[],
                    escalation=[EscalationStep(role=RoleKey.PROJECT_MANAGER, after_minutes=ticket.response_minutes),
                                EscalationStep(role=RoleKey.LEADERSHIP, after_minutes=2 * ticket.response_minutes)],
                    contract_id=ticket.contract_id, record_type="incident", record_id=str(ticket.incident_id))


def work_gate(ticket: Ticket, round_: int) -> GateSpec:
    """The engineer reports service restored, or asks for escalation (third line, vendor, higher level)."""
    return GateSpec(key=f"restore-{round_}", subject=f"Restore service: {ticket.title}",
                    details_md="Choose **resolved** when service is restored, **escalate** to ask for "
                               "third-line or vendor help (《应急事件升级审批表》).",
                    eligible_roles=[RoleKey.ENGINEER], options=["resolved", "escalate"], veto_options=[],
                    contract_id=ticket.contract_id, record_type="incident", record_id=str(ticket.incident_id))


def escalation_gate(ticket: Ticket, round_: int, requested_by: int | None) -> GateSpec:
    """The escalation approval form: the PM approves (leadership too for Level I and II); unanswered, the ops
    manager may decide after one response target, and it expires (refused) after three."""
    roles = [RoleKey.PROJECT_MANAGER] + ([RoleKey.LEADERSHIP] if ticket.level in (Level.I, Level.II) else [])
    return GateSpec(key=f"escalate-{round_}", subject=f"Escalation approval: {ticket.title}",
                    details_md="Approve bringing in third-line / vendor support.", eligible_roles=roles,
                    escalation=[EscalationStep(role=RoleKey.OPS_MANAGER, after_minutes=ticket.response_minutes)],
                    requested_by=requested_by, timeout_minutes=3 * ticket.response_minutes,
                    contract_id=ticket.contract_id, record_type="incident", record_id=str(ticket.incident_id))


def continuity_gate(ticket: Ticket, round_: int) -> GateSpec:
    """After recovery the engineer evaluates continued service: an input to closing."""
    return GateSpec(key=f"continuity-{round_}", subject=f"Continuity check: {ticket.title}",
                    details_md="Has service stayed normal since recovery?", eligible_roles=[RoleKey.ENGINEER],
                    options=["stable", "relapsed"], veto_options=[], contract_id=ticket.contract_id,
                    record_type="incident", record_id=str(ticket.incident_id))


def closing_gate(ticket: Ticket, round_: str) -> GateSpec:
    """Support closes only with the requester's consent (seed 000 §4.2)."""
    return GateSpec(key=f"consent-{round_}", subject=f"May we close: {ticket.title}",
                    details_md="Service is restored and stable. Do you agree to close this incident?",
                    eligible_roles=[RoleKey.CUSTOMER_REP], options=["consent", "refuse"], veto_options=[],
                    timeout_minutes=7 * 24 * 60, contract_id=ticket.contract_id, record_type="incident",
                    record_id=str(ticket.incident_id))


@task(name="record-gate-result")
def record_step(incident_id: int, kind: str, outcome: GateOutcome, status: IncidentStatus | None = None) -> None:
    """Put a decided gate on the timeline (and move the status) once, however often the run re-executes."""
    with session_scope() as session:
        incident = _incident(session, incident_id)
        key = f"gate:{outcome.gate_id}:{kind}"
        events = session.exec(select(IncidentEvent).where(IncidentEvent.incident_id == incident_id))
        if any(e.data.get("gate") == key for e in events):
            return
        data = {"gate": key, "outcome": outcome.outcome}
        detail = "; ".join(outcome.comments)
        if status is not None:
            set_status(session, incident, status=status, actor=outcome.decider, kind=kind, at=outcome.decided_at,
                       detail=detail, data=data)
        else:
            log_event(session, incident_id, actor=outcome.decider, kind=kind, at=outcome.decided_at,
                      detail=detail, data=data)
        if kind == "escalated":
            incident.escalated = True
        if kind == "consented":
            incident.consented = True
        session.add(incident)


@task(name="write-summary-report")
def write_summary(incident_id: int) -> str:
    """The emergency response summary report (《应急响应工作总结报告》): stored and published as an artifact."""
    with session_scope() as session:
        body = summary_markdown(session, incident_id)
        store_document(session, kind="emergency_summary", record_type="incident", record_id=incident_id,
                       title=f"应急响应工作总结报告 — incident {incident_id}", body_md=body)
    create_markdown_artifact(markdown=body, key=f"incident-{incident_id}-summary",
                             description=f"Emergency response summary, incident {incident_id}")
    return body


@task(name="draft-knowledge-entry")
def draft_knowledge(incident_id: int) -> None:
    """A knowledge-base draft from the symptom, cause and actions, for an engineer to polish."""
    with session_scope() as session:
        incident = _incident(session, incident_id)
        if session.exec(select(Document.id).where(Document.kind == "kb_draft",
                                                  Document.record_id == str(incident_id))).first():
            return
        body = (f"## Symptom\n{incident.symptom or incident.title}\n\n## Cause\n{incident.cause or '(to fill)'}\n\n"
                f"## Resolution\n{incident.actions or '(to fill)'}\n")
        session.add(Document(kind="kb_draft", record_type="incident", record_id=str(incident_id),
                             title=f"KB draft: {incident.title}", body_md=body, status="draft"))
        # The article an engineer polishes and sends to review (POST /knowledge/{id}/submit).
        draft_from_incident(session, incident, actor="system:knowledge")


@task(name="record-problems")
def record_problems(incident_id: int) -> list[int]:
    """Open a problem record when the same CI and symptom recur."""
    with session_scope() as session:
        incident = _incident(session, incident_id)
        problems = check_recurrence(session, incident)
        for problem in problems:
            note_recurrence(session, problem, incident, actor="system:problem")
            log_event(session, incident_id, actor="system:problem", kind="problem_recorded",
                      detail=f"problem {problem.id}: recurring on CI {problem.ci_id}")
        return [stored_id(p) for p in problems]
