"""Heartbeats of the unattended parts (the scheduled sweeper) and the rule that judges their age.

The sweeper writes a beat when a sweep completes; the API, which does not depend on Prefect's
scheduler, reads it to say whether the system still runs by itself (a dead-man's switch).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Field, Session, SQLModel

from models.core.clock import utcnow
from models.core.types import JSONDoc, UTCDateTime

SWEEPER = "gate_sweeper"
# The sweep is "late" after this many intervals without a completed sweep.
LATE_AFTER_INTERVALS = 3


class Heartbeat(SQLModel, table=True):
    """The last time a named component reported in, and what it said."""

    __tablename__ = "heartbeat"
    name: str = Field(primary_key=True, max_length=60)
    beat_at: datetime = Field(sa_type=UTCDateTime)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSONDoc)


def beat(session: Session, name: str, detail: dict[str, Any] | None = None, at: datetime | None = None) -> None:
    """Record that `name` completed a pass now."""
    row = session.get(Heartbeat, name) or Heartbeat(name=name, beat_at=at or utcnow())
    row.beat_at = at or utcnow()
    row.detail = detail or {}
    session.add(row)


def last_beat(session: Session, name: str) -> Heartbeat | None:
    """The last beat of `name`, if it ever beat."""
    return session.get(Heartbeat, name)


@dataclass(frozen=True)
class SweepVerdict:
    """Whether the sweeper is keeping its schedule, and why not."""

    healthy: bool
    reason: str
    age_seconds: float | None


def judge_sweep(last: datetime | None, now: datetime, interval_seconds: float,
                watching_since: datetime) -> SweepVerdict:
    """Late when no sweep completed within LATE_AFTER_INTERVALS intervals (counted from the last sweep, or
    from when we started watching if there never was one)."""
    limit = timedelta(seconds=interval_seconds * LATE_AFTER_INTERVALS)
    if last is None:
        waited = now - watching_since
        if waited <= limit:
            return SweepVerdict(True, "no sweep completed yet (starting)", None)
        return SweepVerdict(False, f"no sweep has completed in {waited.total_seconds():.0f} s "
                                   f"(expected every {interval_seconds:.0f} s): is the runner or a worker running?",
                            None)
    age = (now - last).total_seconds()
    if now - last <= limit:
        return SweepVerdict(True, "ok", age)
    return SweepVerdict(False, f"last sweep completed {age:.0f} s ago (expected every {interval_seconds:.0f} s): "
                               "is the runner or a worker running?", age)
