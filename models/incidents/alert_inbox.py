"""The alert inbox: every monitoring alert as received, stored before it is answered, processed after.

A webhook request only validates, authenticates and inserts its alerts here (one INSERT for a whole
batch of requests), so its latency does not depend on what an alert does to incidents. The alert
processor (`api/alert_processor.py`) then turns pending rows, in arrival order, into incident
updates. A row records its outcome: the incident it landed on, or the error that stopped it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from models.core.clock import utcnow
from models.core.types import EnumText, JSONDoc, UTCDateTime
from models.incidents.tables import Source


class AlertStatus(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"


class InboxAlert(SQLModel, table=True):
    __tablename__ = "alert_inbox"
    __table_args__ = (Index("ix_alert_inbox_status_id", "status", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str = Field(max_length=200, description="the authenticated monitor that posted it")
    source: Source = Field(sa_type=EnumText(Source, 20))
    fingerprint: str = Field(max_length=200, index=True)
    firing: bool
    alert: dict[str, Any] = Field(sa_type=JSONDoc, description="title, symptom, ci_names, major, starts_at")
    status: AlertStatus = Field(default=AlertStatus.PENDING, sa_type=EnumText(AlertStatus, 12))
    incident_id: int | None = Field(default=None, foreign_key="incident.id")
    created: bool = Field(default=False, description="this alert opened the incident")
    error: str | None = Field(default=None, max_length=2000)
    truncated: int = Field(default=0, description="alerts of its group the monitor left out (max_alerts) and "
                                                  "that could not be fetched from it")
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
