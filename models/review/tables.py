"""The quarterly review (seeds 000 §3.3–3.4, §6; 003 §4.4; 004 §3.2) and the records it reads and writes:
satisfaction scores, complaints, the risk register, improvement measures, the report deliverable and
who may read it once archived."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.core.clock import utcnow
from models.core.types import EnumText, JSONDoc, UTCDateTime
from models.directory.roles import RoleKey


class Satisfaction(SQLModel, table=True):
    """The requester's score of a closed incident (1 very dissatisfied … 5 very satisfied)."""

    __tablename__ = "satisfaction"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", unique=True)
    contract_id: int | None = Field(default=None, foreign_key="contract.id", index=True)
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)
    rated_by: int | None = Field(default=None, foreign_key="person.id")
    rated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class Complaint(SQLModel, table=True):
    """A customer complaint about the service."""

    __tablename__ = "complaint"
    id: int | None = Field(default=None, primary_key=True)
    contract_id: int | None = Field(default=None, foreign_key="contract.id", index=True)
    subject: str = Field(max_length=300)
    detail: str = Field(default="", max_length=4000)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    status: str = Field(default="open", max_length=16)  # open / closed
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    recorded_by: int | None = Field(default=None, foreign_key="person.id")


class RiskStatus(StrEnum):
    OPEN = "open"
    MITIGATING = "mitigating"
    CLOSED = "closed"


class Risk(SQLModel, table=True):
    """One entry of the risk register (《风险规避计划》): owner, status, the planned mitigation and when it was done."""

    __tablename__ = "risk"
    id: int | None = Field(default=None, primary_key=True)
    contract_id: int | None = Field(default=None, foreign_key="contract.id", index=True)
    key: str | None = Field(default=None, max_length=120, unique=True)  # set on risks a review raised
    title: str = Field(max_length=300)
    owner_role: RoleKey = Field(sa_type=EnumText(RoleKey, 32))
    owner_id: int | None = Field(default=None, foreign_key="person.id")
    status: RiskStatus = Field(default=RiskStatus.OPEN, sa_type=EnumText(RiskStatus, 16), index=True)
    mitigation: str = Field(default="", max_length=4000)
    mitigation_due: date | None = None
    mitigation_done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReviewStatus(StrEnum):
    """The deliverable's life cycle (000 §6): compiled → PM review → submitted → customer review → archived."""

    REQUESTED = "requested"  # asked for through the API; its run has not compiled it yet
    COMPILED = "compiled"
    PM_REVIEW = "pm_review"
    SUBMITTED = "submitted"  # to the customer, who reviews it
    RETURNED = "returned"  # sent back by the PM or the customer, with their comments
    ARCHIVED = "archived"


# The forward path of a deliverable; a run re-executing after a gate never moves it back.
FORWARD = [ReviewStatus.COMPILED, ReviewStatus.PM_REVIEW, ReviewStatus.SUBMITTED, ReviewStatus.ARCHIVED]


def moves_forward(current: ReviewStatus, target: ReviewStatus) -> bool:
    """True when `target` is a step on from `current` (returned is a step on from anything but archived)."""
    if target == ReviewStatus.RETURNED:
        return current not in (ReviewStatus.RETURNED, ReviewStatus.ARCHIVED)
    return current in FORWARD and FORWARD.index(target) > FORWARD.index(current)


class QuarterlyReview(SQLModel, table=True):
    """The delivery implementation checklist (《交付实施检查表》) of one contract and quarter, as a deliverable."""

    __tablename__ = "quarterly_review"
    __table_args__ = (UniqueConstraint("contract_id", "year", "quarter"),)
    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    year: int
    quarter: int
    status: ReviewStatus = Field(default=ReviewStatus.COMPILED, sa_type=EnumText(ReviewStatus, 16), index=True)
    metrics: dict[str, Any] = Field(default_factory=dict, sa_type=JSONDoc)
    summary_md: str = ""
    html: str = ""
    xlsx: bytes | None = Field(default=None, sa_type=LargeBinary)
    flow_run_id: str | None = Field(default=None, max_length=64)
    compiled_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ImprovementMeasure(SQLModel, table=True):
    """One row of 《交付改进措施表》: an unmet target, what will be done, by whom and when; editable."""

    __tablename__ = "improvement_measure"
    __table_args__ = (UniqueConstraint("review_id", "target"),)
    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="quarterly_review.id", index=True, ondelete="CASCADE")
    contract_id: int = Field(foreign_key="contract.id", index=True)
    target: str = Field(max_length=60)  # the metric key, e.g. timely_response_rate
    finding: str = Field(max_length=1000)
    measure: str = Field(max_length=2000)
    owner_role: RoleKey = Field(sa_type=EnumText(RoleKey, 32))
    due_on: date
    status: str = Field(default="open", max_length=16)  # open / done
    notes: str = Field(default="", max_length=4000)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ArchiveAccess(SQLModel, table=True):
    """A person's approved access to an archived deliverable, for a limited time."""

    __tablename__ = "archive_access"
    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="quarterly_review.id", index=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", index=True)
    status: str = Field(default="pending", max_length=16)  # pending / granted / refused
    gate_id: int | None = Field(default=None, foreign_key="approval_gate.id")
    flow_run_id: str | None = Field(default=None, max_length=64)
    reason: str = Field(default="", max_length=500)
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
