"""Problem records: a recurring or suspected fault, from logged to closed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, field_validator
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.core.clock import utcnow
from models.core.types import EnumText, Id, JSONDoc, UTCDateTime


class ProblemStatus(StrEnum):
    """logged → investigating → known_error → fix_scheduled (a change linked) → closed."""

    LOGGED = "logged"
    INVESTIGATING = "investigating"
    KNOWN_ERROR = "known_error"
    FIX_SCHEDULED = "fix_scheduled"
    CLOSED = "closed"


OPEN_STATUSES = (ProblemStatus.LOGGED, ProblemStatus.INVESTIGATING, ProblemStatus.KNOWN_ERROR,
                 ProblemStatus.FIX_SCHEDULED)


class ProblemSource(StrEnum):
    RECURRENCE = "recurrence"  # the same CI and symptom on repeated incidents
    INSPECTION = "inspection"  # an inspection check failing run after run
    MANUAL = "manual"


class Problem(SQLModel, table=True):
    """A recurring fault: the same CI and symptom seen again (or logged by hand)."""

    __table_args__ = (UniqueConstraint("ci_id", "symptom_key"),)
    id: int | None = Field(default=None, primary_key=True)
    ci_id: int | None = Field(default=None, foreign_key="configuration_item.id")
    symptom_key: str = Field(max_length=200)
    incident_ids: list[int] = Field(default_factory=list, sa_type=JSONDoc)
    status: ProblemStatus = Field(default=ProblemStatus.LOGGED, sa_type=EnumText(ProblemStatus, 16))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    title: str = Field(default="", max_length=300)
    description: str = Field(default="", max_length=4000)
    source: ProblemSource = Field(default=ProblemSource.RECURRENCE, sa_type=EnumText(ProblemSource, 16))
    owner_id: int | None = Field(default=None, foreign_key="person.id")
    root_cause: str = Field(default="", max_length=4000)
    workaround: str = Field(default="", max_length=4000)
    article_id: int | None = Field(default=None, foreign_key="knowledge_article.id")
    change_id: int | None = Field(default=None, foreign_key="change_request.id")
    known_error_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    fixed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # the fixing change succeeded
    last_recurrence_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ProblemCreate(BaseModel):
    """A problem logged by hand."""

    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=4000)
    ci_id: Id | None = None
    symptom: str = Field(min_length=1, max_length=300, description="the recurring symptom, as incidents report it")
    incident_ids: list[Id] = Field(default_factory=list, max_length=500)


class KnownError(BaseModel):
    """The root cause found and the workaround to publish."""

    root_cause: str = Field(min_length=1, max_length=4000)
    workaround: str = Field(min_length=1, max_length=4000)

    @field_validator("root_cause", "workaround")
    @classmethod
    def _said(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("only spaces: write what was found (it becomes the knowledge article)")
        return value


class FixLink(BaseModel):
    change_id: Id


class ProblemPublic(BaseModel):
    id: int
    title: str
    description: str
    ci_id: int | None
    symptom_key: str
    incident_ids: list[int]
    status: ProblemStatus
    source: ProblemSource
    owner_id: int | None
    root_cause: str
    workaround: str
    article_id: int | None
    change_id: int | None
    created_at: datetime
    known_error_at: datetime | None
    fixed_at: datetime | None
    last_recurrence_at: datetime | None
    closed_at: datetime | None
