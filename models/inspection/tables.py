"""Routine inspection (例行操作, source 000 §4.1): plans as data, runs, and every probe's result.

A plan's definition (scope, cycle, check items with criteria and exception handling) is one
validated document (`models/inspection/plan.py::PlanSpec`) stored as JSON, so the same text lives
in git as YAML, in the API and in the database. Results are rows: one per CI × check × run.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.core.clock import utcnow
from models.core.types import EnumText, JSONDoc, UTCDateTime


class CheckStatus(StrEnum):
    """A probe's verdict. `error` means the check could not be made (timeout, bad credentials)."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    ERROR = "error"


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class InspectionPlan(SQLModel, table=True):
    __tablename__ = "inspection_plan"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True, index=True)
    spec: dict[str, Any] = Field(sa_type=JSONDoc)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # A plan whose checks run commands on CIs (ssh_command) runs unattended only once a second person
    # (a CAB member, not its author) approved this version (flows/plan_approval.py).
    version: int = 1
    approval_status: str = Field(default="approved", max_length=16)  # approved / pending / rejected
    submitted_by: int | None = Field(default=None, foreign_key="person.id")
    approval_flow_run_id: str | None = Field(default=None, max_length=64)
    approved_by: int | None = Field(default=None, foreign_key="person.id")
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class InspectionRun(SQLModel, table=True):
    __tablename__ = "inspection_run"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="inspection_plan.id", index=True)
    flow_run_id: str | None = Field(default=None, max_length=60)
    trigger: str = Field(default="schedule", max_length=20)
    status: RunStatus = Field(default=RunStatus.RUNNING, sa_type=EnumText(RunStatus, 16))
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    targets: int = 0
    checks: int = 0
    counts: dict[str, int] = Field(default_factory=dict, sa_type=JSONDoc)
    incidents_opened: list[int] = Field(default_factory=list, sa_type=JSONDoc)
    report_md: str = ""


class InspectionResult(SQLModel, table=True):
    __tablename__ = "inspection_result"
    __table_args__ = (
        Index("ix_inspection_result_history", "ci_id", "check_key", "checked_at"),
        Index("ix_inspection_result_run_status", "run_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="inspection_run.id", ondelete="CASCADE")
    ci_id: int = Field(foreign_key="configuration_item.id")
    check_key: str = Field(max_length=60)
    probe: str = Field(max_length=30)
    status: CheckStatus = Field(sa_type=EnumText(CheckStatus, 16))
    value: float | None = None
    threshold: str = Field(default="", max_length=120)
    message: str = Field(default="", max_length=1000)
    duration_ms: float = 0.0
    checked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
