"""Tasks of the daily records housekeeping: inspection problems, quiet problems closed, drill retention."""

from __future__ import annotations

from prefect import task

from config.settings import get_settings
from models.core.db import session_scope
from models.drills.service import purge_expired
from models.problems.service import close_quiet, from_inspections


@task(name="problems-from-inspections")
def inspection_problems() -> list[int]:
    """Problems for inspection checks failing again and again on the same CI."""
    with session_scope() as session:
        return from_inspections(session)


@task(name="close-quiet-problems")
def close_problems() -> list[int]:
    """Close problems whose fix succeeded and stayed quiet for the configured period."""
    with session_scope() as session:
        return close_quiet(session, quiet_days=get_settings().problem_quiet_days)


@task(name="purge-drill-records")
def purge_drills() -> list[int]:
    """Delete drill records past their retention; each deletion is audited."""
    with session_scope() as session:
        return purge_expired(session)
