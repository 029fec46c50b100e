"""The append-only audit log: who did what to which record, with before/after, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, Session, SQLModel

from models.core.clock import utcnow
from models.core.types import JSONDoc, UTCDateTime


class AuditEvent(SQLModel, table=True):
    """One state change. Updates are refused by a database trigger (see the first migration)."""

    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor: str = Field(max_length=120, index=True)  # "person:7", "flow:<run id>", "system"
    action: str = Field(max_length=80, index=True)
    record_type: str = Field(max_length=60, index=True)
    record_id: str = Field(max_length=60, index=True)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSONDoc)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSONDoc)
    detail: str | None = Field(default=None, max_length=2000)


class AuditEventPublic(SQLModel):
    id: int
    at: datetime
    actor: str
    action: str
    record_type: str
    record_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    detail: str | None


def record_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    record_type: str,
    record_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    detail: str | None = None,
) -> AuditEvent:
    """Add an audit event to `session`; it commits with the change it describes."""
    event = AuditEvent(
        at=utcnow(),  # given, not defaulted: pydantic inspects a default factory's signature on every call
        actor=actor,
        action=action,
        record_type=record_type,
        record_id=str(record_id),
        before=before,
        after=after,
        detail=detail,
    )
    session.add(event)
    return event
