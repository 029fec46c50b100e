"""SQL expressions that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session


def minutes_between(session: Session, start: Any, end: Any) -> Any:
    """SQL for the minutes from `start` to `end` (timestamp columns), on SQLite and PostgreSQL alike."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 1440.0
    return func.extract("epoch", end - start) / 60.0
