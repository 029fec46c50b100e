"""What a gate is about, for the approval page: the incident, change or review it gates, and its urgency.

An on-call engineer at 3 a.m. decides from the page alone: the symptom, the CIs and where they
are, who reported it and how to call them, and how long is left on each SLA clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from models.changes.tables import ChangeRequest
from models.cmdb.tables import ConfigurationItem
from models.core.clock import utcnow
from models.gates.tables import ApprovalGate
from models.incidents.clocks import clock_states
from models.incidents.tables import Incident, IncidentCI, IncidentEvent
from models.review.tables import QuarterlyReview
from models.tenancy import EVERYTHING, Scope, timeline

# Options that stop, refuse or widen something: shown in the destructive colour and confirmed first.
DESTRUCTIVE = {"reject", "decline", "escalate", "relapsed", "refuse", "rollback", "abort", "deny", "veto"}
MEASURES = {"response": "响应 Response", "on_site": "到场 On site", "resolution": "恢复 Resolution"}


@dataclass
class Clock:
    """One SLA clock as the page shows it."""

    label: str
    due_at: datetime | None
    target_minutes: int
    running: bool
    stopped_at: datetime | None
    breached: bool


@dataclass
class Subject:
    """The gated record: kind ('incident', 'change', 'review' or None) and what the template shows."""

    kind: str | None = None
    incident: Incident | None = None
    cis: list[ConfigurationItem] = field(default_factory=list)
    clocks: list[Clock] = field(default_factory=list)
    timeline: list[IncidentEvent] = field(default_factory=list)
    change: ChangeRequest | None = None
    review: QuarterlyReview | None = None

    @property
    def due(self) -> datetime | None:
        """The nearest running deadline of the record (the next SLA clock due)."""
        running = [c.due_at for c in self.clocks if c.running and c.due_at is not None]
        return min(running) if running else None


def _incident(session: Session, incident_id: int, scope: Scope = EVERYTHING) -> Subject:
    incident = session.get(Incident, incident_id)
    if incident is None:
        return Subject()
    ci_ids = list(session.exec(select(IncidentCI.ci_id).where(IncidentCI.incident_id == incident_id)))
    cis = list(session.exec(select(ConfigurationItem).where(col(ConfigurationItem.id).in_(ci_ids)))) if ci_ids else []
    clocks = [Clock(label=MEASURES.get(c.measure.value, c.measure.value), due_at=c.due_at,
                    target_minutes=c.target_minutes, running=c.running, stopped_at=c.stopped_at, breached=c.breached)
              for c in clock_states(session, incident)]
    events = timeline(session, scope, incident_id, latest=5)
    return Subject(kind="incident", incident=incident, cis=cis, clocks=clocks, timeline=events)


def subject_of(session: Session, gate: ApprovalGate, scope: Scope = EVERYTHING) -> Subject:
    """The record a gate gates, loaded for the page; an empty Subject for gates on nothing known."""
    if not gate.record_id or not gate.record_id.isdigit():
        return Subject()
    record_id = int(gate.record_id)
    if gate.record_type == "incident":
        return _incident(session, record_id, scope)
    if gate.record_type == "change_request":
        change = session.get(ChangeRequest, record_id)
        return Subject(kind="change", change=change) if change else Subject()
    if gate.record_type == "quarterly_review":
        review = session.get(QuarterlyReview, record_id)
        return Subject(kind="review", review=review) if review else Subject()
    return Subject()


def urgency(gate: ApprovalGate, subject: Subject | None = None) -> datetime | None:
    """When the gate next costs something: its deadline, its next escalation, or its record's SLA clock."""
    moments = [m for m in (gate.deadline, gate.next_escalation_at, subject.due if subject else None) if m]
    return min(moments) if moments else None


def by_urgency(session: Session, gates: list[ApprovalGate]) -> list[dict[str, Any]]:
    """The pending list: most urgent first (then oldest), each with its age and time left."""
    now = utcnow()
    rows = []
    for gate in gates:
        due = urgency(gate, subject_of(session, gate) if gate.record_type == "incident" else None)
        age = max(0, int((now - gate.created_at).total_seconds() // 60))
        rows.append({"gate": gate, "due": due, "age_minutes": age})
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(rows, key=lambda r: (r["due"] or far, r["gate"].created_at))
