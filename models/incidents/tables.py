"""Incidents (the emergency ticket 《应急事件单》), their timeline, clock pauses and problem records."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, text
from sqlmodel import Field, Session, SQLModel

from models.core.clock import utcnow
from models.core.types import EnumText, JSONDoc, UTCDateTime
from models.incidents.grading import ImpactFacts, Level, Scope
from models.sla.policies import FaultClass


class IncidentStatus(StrEnum):
    """The life cycle: reported → acknowledged → (on site) → resolved → closed; reopened goes back."""

    REPORTED = "reported"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Source(StrEnum):
    DESK = "desk"
    ALERTMANAGER = "alertmanager"
    WEBHOOK = "webhook"
    INSPECTION = "inspection"
    IMPORT = "import"
    CHANGE = "change"  # a change whose rollback failed


class IncidentBase(SQLModel):
    title: str = Field(min_length=1, max_length=300)
    symptom: str = Field(default="", max_length=4000)
    reporting_org: str | None = Field(default=None, max_length=200)
    contact: str | None = Field(default=None, max_length=120)
    phone: str | None = Field(default=None, max_length=40)


class Incident(IncidentBase, table=True):
    # At most one open incident per alert fingerprint, enforced by the database so concurrent
    # deliveries of the same alert cannot open two.
    __table_args__ = (Index("uq_incident_open_fingerprint", "fingerprint", unique=True,
                            sqlite_where=text("status != 'closed' AND fingerprint IS NOT NULL"),
                            postgresql_where=text("status != 'closed' AND fingerprint IS NOT NULL")),)
    id: int | None = Field(default=None, primary_key=True)
    contract_id: int | None = Field(default=None, foreign_key="contract.id", index=True)
    source: Source = Field(default=Source.DESK, sa_type=EnumText(Source, 16))
    fingerprint: str | None = Field(default=None, max_length=200)  # alert dedupe key
    alert_count: int = 1
    alert_resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    unknown_ci: bool = False
    unknown_ci_names: list[str] = Field(default_factory=list, sa_type=JSONDoc)
    status: IncidentStatus = Field(default=IncidentStatus.REPORTED, sa_type=EnumText(IncidentStatus, 16), index=True)
    level: Level = Field(default=Level.ORDINARY, sa_type=EnumText(Level, 16), index=True)
    fault_class: FaultClass = Field(default=FaultClass.GENERAL, sa_type=EnumText(FaultClass, 16))
    core_unavailable_pct: float = 0
    expected_recovery_hours: float = 0
    scope: Scope = Field(default=Scope.LOCAL, sa_type=EnumText(Scope, 16))
    business_function_lost: bool = False
    sla_applicable: bool = True  # False when reported in the contract's transition phase
    reported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    on_site_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consented: bool = False
    escalated: bool = False
    reopened: int = 0
    response_due: datetime | None = Field(default=None, sa_type=UTCDateTime)
    on_site_due: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolution_due: datetime | None = Field(default=None, sa_type=UTCDateTime)
    breaches: list[str] = Field(default_factory=list, sa_type=JSONDoc)  # measures that missed
    # The clock verdicts (models/sla_clock.Verdict) as last computed: the review counts these.
    response_verdict: str | None = Field(default=None, max_length=12)
    on_site_verdict: str | None = Field(default=None, max_length=12)
    resolution_verdict: str | None = Field(default=None, max_length=12)
    sla_provisional: bool = False  # a clock ran on a provisional statutory calendar
    occurred_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # the monitor's startsAt
    alerts_truncated: int = 0  # alerts of its group the monitor left out and that could not be fetched
    warnings: list[str] = Field(default_factory=list, sa_type=JSONDoc)  # measures warned at 80 %
    flow_run_id: str | None = Field(default=None, max_length=64)
    dispatch_attempts: int = 0
    cause: str | None = Field(default=None, max_length=4000)
    actions: str | None = Field(default=None, max_length=4000)
    improvements: str | None = Field(default=None, max_length=4000)

    def facts(self) -> ImpactFacts:
        """The impact facts as the grading rules take them."""
        return ImpactFacts(core_unavailable_pct=self.core_unavailable_pct,
                           expected_recovery_hours=self.expected_recovery_hours, scope=self.scope,
                           business_function_lost=self.business_function_lost)


class IncidentCreate(IncidentBase, ImpactFacts):
    """A report to the service desk."""

    contract_id: int | None = None
    ci_ids: list[int] = Field(default_factory=list)


class ImpactUpdate(ImpactFacts):
    """New impact facts: the incident is graded again and the change goes on the timeline."""

    reason: str = Field(default="", max_length=500)


class IncidentPublic(IncidentBase):
    id: int
    contract_id: int | None
    source: Source
    fingerprint: str | None
    alert_count: int
    unknown_ci: bool
    unknown_ci_names: list[str]
    status: IncidentStatus
    level: Level
    fault_class: FaultClass
    core_unavailable_pct: float
    expected_recovery_hours: float
    scope: Scope
    business_function_lost: bool
    sla_applicable: bool
    reported_at: datetime
    acknowledged_at: datetime | None
    on_site_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    consented: bool
    escalated: bool
    reopened: int
    response_due: datetime | None
    on_site_due: datetime | None
    resolution_due: datetime | None
    breaches: list[str]
    response_verdict: str | None
    on_site_verdict: str | None
    resolution_verdict: str | None
    sla_provisional: bool
    occurred_at: datetime | None
    alerts_truncated: int
    flow_run_id: str | None
    ci_ids: list[int] = []


class IncidentCI(SQLModel, table=True):
    __tablename__ = "incident_ci"
    incident_id: int = Field(foreign_key="incident.id", primary_key=True, ondelete="CASCADE")
    ci_id: int = Field(foreign_key="configuration_item.id", primary_key=True)


class IncidentEvent(SQLModel, table=True):
    """One line of the timeline: who did what, when."""

    __tablename__ = "incident_event"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True, ondelete="CASCADE")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str = Field(max_length=120)
    kind: str = Field(max_length=40)
    detail: str = Field(default="", max_length=4000)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONDoc)


class IncidentEventPublic(SQLModel):
    at: datetime
    actor: str
    kind: str
    detail: str
    data: dict[str, Any]


class IncidentPause(SQLModel, table=True):
    """The SLA clock stops while the incident waits on the customer."""

    __tablename__ = "incident_pause"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True, ondelete="CASCADE")
    started_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str = Field(default="", max_length=500)


class Document(SQLModel, table=True):
    """A stored report or draft (summary reports, knowledge-base drafts, release reports)."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40, index=True)  # emergency_summary, kb_draft, …
    record_type: str = Field(max_length=60)
    record_id: str = Field(max_length=60, index=True)
    title: str = Field(max_length=300)
    body_md: str
    status: str = Field(default="final", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def symptom_key(text: str) -> str:
    """A normalised symptom for recurrence matching (case, spacing and digits ignored)."""
    lowered = "".join(" " if ch.isdigit() else ch for ch in text.lower())
    return " ".join(lowered.split())[:200]



def log_event(session: Session, incident_id: int, *, actor: str, kind: str, detail: str = "",
              data: dict[str, Any] | None = None, at: datetime | None = None) -> IncidentEvent:
    """Append a line to the incident's timeline."""
    event = IncidentEvent(incident_id=incident_id, actor=actor, kind=kind, detail=detail, data=data or {},
                          at=at or utcnow())
    session.add(event)
    return event
