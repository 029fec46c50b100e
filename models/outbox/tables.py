"""The notification outbox: every message is a row before anything is sent, so none is lost.

A row names its recipient (a person, or an Apprise config tag) — never the Apprise URL itself,
which may carry secrets and is resolved only at send time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Field, SQLModel

from models.core.clock import utcnow
from models.core.types import EnumText, UTCDateTime

MAX_ATTEMPTS = 20
# A row left "sending" this long was claimed by a process that died mid-send: claim it again.
STALE_CLAIM = timedelta(minutes=5)


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # will be retried at next_attempt_at
    DEAD = "dead"  # gave up after MAX_ATTEMPTS; visible in GET /notifications


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=200, unique=True)  # e.g. gate:12:requested:person:7
    event: str = Field(max_length=60, index=True)
    recipient: str = Field(max_length=80)  # "person:7" or "tag:engineer"
    role: str | None = Field(default=None, max_length=40)
    title: str = Field(max_length=300)
    body: str = Field(max_length=20000)
    gate_id: int | None = Field(default=None, index=True)
    status: NotificationStatus = Field(
        default=NotificationStatus.PENDING, sa_type=EnumText(NotificationStatus, 16), index=True
    )
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=2000)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NotificationPublic(SQLModel):
    id: int
    event: str
    recipient: str
    role: str | None
    title: str
    gate_id: int | None
    status: NotificationStatus
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None


def backoff(attempts: int) -> timedelta:
    """Wait before retry `attempts`: 15 s, 30 s, 1 min … capped at 30 min."""
    return timedelta(seconds=min(15 * 2 ** max(attempts - 1, 0), 1800))
