"""Approval gates: the record behind every human decision in a flow, its votes, and the pure rules.

A gate is decided when one option collects `quorum` votes; a veto option ("reject" by default)
decides at its first vote, so one CAB member's rejection stops a change.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, field_validator, model_validator
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.core.clock import utcnow
from models.core.types import EnumText, JSONDoc, UTCDateTime
from models.directory.roles import RoleKey

APPROVE, REJECT, EXPIRED = "approve", "reject", "expired"


class GateStatus(StrEnum):
    """Where a gate stands; only `pending` gates take votes."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    DECIDED = "decided"  # a custom option won
    EXPIRED = "expired"
    CANCELLED = "cancelled"


def status_for(outcome: str) -> GateStatus:
    """The status a gate takes when `outcome` wins."""
    return {APPROVE: GateStatus.APPROVED, REJECT: GateStatus.REJECTED, EXPIRED: GateStatus.EXPIRED}.get(
        outcome, GateStatus.DECIDED
    )


class EscalationStep(BaseModel):
    """After `after_minutes` from the gate's creation, `role` may decide too (and is notified)."""

    role: RoleKey
    after_minutes: int

    @field_validator("after_minutes")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("after_minutes must be positive")
        return value


class GateSpec(BaseModel):
    """What a flow asks for when it opens a gate."""

    key: str
    subject: str
    details_md: str = ""
    eligible_roles: list[RoleKey]
    quorum: int = 1
    options: list[str] = [APPROVE, REJECT]
    veto_options: list[str] = [REJECT]
    timeout_minutes: int | None = None  # final deadline; None = waits until decided
    escalation: list[EscalationStep] = []
    requested_by: int | None = None  # person id; they may never decide this gate
    contract_id: int | None = None
    record_type: str | None = None  # the gated thing, e.g. "change_request"
    record_id: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> GateSpec:
        if not self.eligible_roles:
            raise ValueError("eligible_roles: give at least one role that may decide")
        if self.quorum < 1:
            raise ValueError("quorum must be at least 1")
        if len(set(self.options)) != len(self.options) or len(self.options) < 2:
            raise ValueError("options: give at least two distinct options")
        if EXPIRED in self.options:
            raise ValueError("options: 'expired' is reserved for gates past their deadline")
        if not set(self.veto_options) <= set(self.options):
            raise ValueError("veto_options must be among options")
        minutes = [step.after_minutes for step in self.escalation]
        if minutes != sorted(minutes):
            raise ValueError("escalation steps must be in increasing after_minutes")
        if self.timeout_minutes is not None and minutes and minutes[-1] >= self.timeout_minutes:
            raise ValueError("escalation steps must come before timeout_minutes")
        return self


class ApprovalGate(SQLModel, table=True):
    """One gate of one flow run; (flow_run_id, gate_key) is unique so re-execution finds it again."""

    __tablename__ = "approval_gate"
    __table_args__ = (UniqueConstraint("flow_run_id", "gate_key"),)
    id: int | None = Field(default=None, primary_key=True)
    flow_run_id: str = Field(max_length=64, index=True)
    gate_key: str = Field(max_length=120)
    subject: str = Field(max_length=300)
    details_md: str = Field(default="", max_length=20000)
    eligible_roles: list[str] = Field(sa_type=JSONDoc)  # grows as the gate escalates
    quorum: int = 1
    options: list[str] = Field(sa_type=JSONDoc)
    veto_options: list[str] = Field(default_factory=list, sa_type=JSONDoc)
    escalation: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONDoc)
    escalation_level: int = 0
    next_escalation_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    deadline: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    status: GateStatus = Field(default=GateStatus.PENDING, sa_type=EnumText(GateStatus, 16), index=True)
    outcome: str | None = Field(default=None, max_length=40)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_token: str | None = Field(default=None, max_length=64)
    requested_by: int | None = Field(default=None, foreign_key="person.id")
    contract_id: int | None = Field(default=None, foreign_key="contract.id")
    record_type: str | None = Field(default=None, max_length=60)
    record_id: str | None = Field(default=None, max_length=60)
    resumed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = 0  # bumped by every vote: the row lock that serialises concurrent deciders


class ApprovalVote(SQLModel, table=True):
    """One person's vote on a gate; one vote per person."""

    __tablename__ = "approval_vote"
    __table_args__ = (UniqueConstraint("gate_id", "person_id"),)
    id: int | None = Field(default=None, primary_key=True)
    gate_id: int = Field(foreign_key="approval_gate.id", index=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id")
    option: str = Field(max_length=40)
    comment: str = Field(default="", max_length=2000)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class VotePublic(SQLModel):
    person_id: int
    option: str
    comment: str
    at: datetime


class GatePublic(SQLModel):
    id: int
    flow_run_id: str
    gate_key: str
    subject: str
    details_md: str
    eligible_roles: list[str]
    quorum: int
    options: list[str]
    escalation_level: int
    deadline: datetime | None
    next_escalation_at: datetime | None
    status: GateStatus
    outcome: str | None
    decided_at: datetime | None
    requested_by: int | None
    contract_id: int | None
    record_type: str | None
    record_id: str | None
    created_at: datetime
    votes: list[VotePublic] = []


class Decision(SQLModel):
    """A person's decision on a gate."""

    decision: str = Field(min_length=1, max_length=40, description="one of the gate's options, e.g. approve")
    comment: str = Field(default="", max_length=2000)


def tally(votes: list[str], quorum: int, veto_options: list[str]) -> str | None:
    """The winning option, if any: a veto at its first vote, otherwise the first to reach quorum."""
    for option in votes:
        if option in veto_options:
            return option
    counts = Counter(votes)
    for option in votes:  # earliest-voted option wins a tie of simultaneous quorums
        if counts[option] >= quorum:
            return option
    return None


def escalation_times(created_at: datetime, steps: list[dict[str, Any]]) -> list[datetime]:
    """When each escalation step falls due."""
    return [created_at + timedelta(minutes=int(step["after_minutes"])) for step in steps]
