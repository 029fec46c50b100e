"""Change requests and their release record (seeds 001 §3.2.5, 002 "变更管理", "发布管理").

A change request carries its own runbook: implementation steps, verification checks (the inspection
probes), rollback steps and the checks after a rollback. The step log keeps one row per step run,
so a re-executed flow can tell what already ran.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.core.clock import utcnow
from models.core.types import EnumText, JSONDoc, UTCDateTime


class ChangeType(StrEnum):
    """Change types: standard (pre-authorised), normal (CAB), major (manager + leader), emergency (ECAB)."""

    STANDARD = "standard"
    NORMAL = "normal"
    MAJOR = "major"
    EMERGENCY = "emergency"


class Risk(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ChangeStatus(StrEnum):
    """draft → submitted → (approved) → scheduled → implementing → an outcome; or rejected / window_missed."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    SCHEDULED = "scheduled"  # approved, waiting for its window as a scheduled flow run
    IMPLEMENTING = "implementing"
    SUCCEEDED = "succeeded"
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"
    WINDOW_MISSED = "window_missed"  # no open window before the requested window ended


FINAL = {ChangeStatus.REJECTED, ChangeStatus.SUCCEEDED, ChangeStatus.ROLLED_BACK, ChangeStatus.ROLLBACK_FAILED,
         ChangeStatus.WINDOW_MISSED}


class ChangeTemplate(SQLModel, table=True):
    """A standard change model (seed 002's pre-authorised list): a runbook authorised once by the change manager."""

    __tablename__ = "change_template"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    standard_kind: str = Field(max_length=60)
    description: str = Field(default="", max_length=4000)
    planned_minutes: int = 30
    steps: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONDoc)
    verification: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONDoc)
    rollback: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONDoc)
    rollback_verification: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONDoc)
    active: bool = True
    created_by: int = Field(foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # A runbook that will run unattended needs a second person: the CAB approves each version at a
    # gate (flows/template_approval.py) before a standard change may use it.
    version: int = 1
    approval_status: str = Field(default="pending", max_length=16)  # pending / approved / rejected
    submitted_by: int | None = Field(default=None, foreign_key="person.id")  # author of this version
    approval_flow_run_id: str | None = Field(default=None, max_length=64)
    approved_by: int | None = Field(default=None, foreign_key="person.id")
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ChangeRequest(SQLModel, table=True):
    """A change and its release: the plan as submitted, the approvals' result, what ran, the outcome."""

    __tablename__ = "change_request"
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=8000)
    change_type: ChangeType = Field(sa_type=EnumText(ChangeType, 16), index=True)
    risk: Risk = Field(default=Risk.MEDIUM, sa_type=EnumText(Risk, 16))
    impact: str = Field(default="", max_length=4000)
    standard_kind: str | None = Field(default=None, max_length=60)
    template_id: int | None = Field(default=None, foreign_key="change_template.id")
    characteristics: list[str] = Field(default_factory=list, sa_type=JSONDoc)
    ci_ids: list[int] = Field(default_factory=list, sa_type=JSONDoc)
    contract_id: int | None = Field(default=None, foreign_key="contract.id", index=True)
    window_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    window_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    planned_minutes: int = 60
    causes_outage: bool = False
    release_version: str | None = Field(default=None, max_length=80)
    ci_updates: dict[str, Any] = Field(default_factory=dict, sa_type=JSONDoc)
    steps: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONDoc)
    verification: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONDoc)
    rollback: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONDoc)
    rollback_verification: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONDoc)
    test_evidence: str = Field(default="", max_length=8000)
    requested_by: int = Field(foreign_key="person.id", index=True)
    status: ChangeStatus = Field(default=ChangeStatus.DRAFT, sa_type=EnumText(ChangeStatus, 20), index=True)
    flow_run_id: str | None = Field(default=None, max_length=64)
    scheduled_run_id: str | None = Field(default=None, max_length=64)
    approval_gate_ids: list[int] = Field(default_factory=list, sa_type=JSONDoc)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ran_outside_window: bool = False
    implement_until: datetime | None = Field(default=None, sa_type=UTCDateTime)  # end of the slot it runs in
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    outage_minutes: float = 0
    cmdb_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failure: str | None = Field(default=None, max_length=2000)
    incident_id: int | None = Field(default=None, foreign_key="incident.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class StepPhase(StrEnum):
    DEPLOY = "deploy"
    VERIFY = "verify"
    ROLLBACK = "rollback"
    ROLLBACK_VERIFY = "rollback_verify"


class StepStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # its process died mid-step: treated as failed, never re-run blindly


class ChangeStep(SQLModel, table=True):
    """One step (or verification check) of a change as it ran: exit code, masked output, times."""

    __tablename__ = "change_step"
    __table_args__ = (UniqueConstraint("change_id", "phase", "position"),)
    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="change_request.id", index=True, ondelete="CASCADE")
    phase: StepPhase = Field(sa_type=EnumText(StepPhase, 20))
    position: int
    name: str = Field(max_length=120)
    kind: str = Field(max_length=20)
    status: StepStatus = Field(default=StepStatus.RUNNING, sa_type=EnumText(StepStatus, 16))
    exit_code: int | None = None
    output: str = Field(default="", max_length=20000)
    flow_run_id: str | None = Field(default=None, max_length=64)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ChangeWindow(SQLModel, table=True):
    """A recurring window in which changes may run, e.g. weekdays 22:00–06:00 (end ≤ start crosses midnight)."""

    __tablename__ = "change_window"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    weekdays: list[int] = Field(sa_type=JSONDoc)  # ISO: 1 Monday … 7 Sunday
    start: str = Field(max_length=5)  # HH:MM local
    end: str = Field(max_length=5)
    timezone: str = Field(default="Asia/Shanghai", max_length=60)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ChangeFreeze(SQLModel, table=True):
    """A period with no changes but emergency ones (重大会议保障, year-end closing …)."""

    __tablename__ = "change_freeze"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    reason: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ChangeReview(SQLModel, table=True):
    """The post-implementation review item of a change (变更回顾): open until the change manager records it."""

    __tablename__ = "change_review"
    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="change_request.id", unique=True, ondelete="CASCADE")
    due_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default="open", max_length=16)
    goal_met: bool | None = None
    summary: str = Field(default="", max_length=4000)
    reviewed_by: int | None = Field(default=None, foreign_key="person.id")
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
