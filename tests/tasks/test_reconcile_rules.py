"""The sweeper's rule for a dead run (pure: a FlowRun and the time); the recovery itself is proven on the real
`itss up` in tests/system/test_faults.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from prefect.client.schemas.objects import FlowRun, State, StateType

from tasks.reconcile import Tracked, diagnose

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def run(kind: StateType, name: str, age_s: float) -> FlowRun:
    return FlowRun(id=uuid4(), flow_id=uuid4(), state=State(type=kind, name=name, timestamp=NOW - timedelta(seconds=age_s)))


def incident(completed_is_dead: bool = True) -> Tracked:
    return Tracked("incident", 1, str(uuid4()), "d/d", {}, [], "incident #1", completed_is_dead=completed_is_dead)


@pytest.mark.parametrize(("kind", "name", "age", "found"), [
    (StateType.CRASHED, "Crashed", 1, "CRASHED"),
    (StateType.FAILED, "Failed", 1, "FAILED"),
    (StateType.CANCELLED, "Cancelled", 1, "CANCELLED"),
    (StateType.COMPLETED, "Completed", 1, "COMPLETED while open"),
    (StateType.PAUSED, "Suspended", 10_000, None),  # waiting at a gate: alive
    (StateType.SCHEDULED, "Late", 10_000, None),  # queued behind the runner's limit: alive
    (StateType.PENDING, "Submitting", 30, None),
    (StateType.PENDING, "Submitting", 600, "Submitting for 600 s"),
    (StateType.RUNNING, "Running", 30, None),
    (StateType.RUNNING, "Running", 600, "RUNNING without a heartbeat for 600 s"),
])
def test_which_runs_are_dead(kind: StateType, name: str, age: float, found: str | None) -> None:
    assert diagnose(run(kind, name, age), incident(), NOW, None) == found


def test_a_recent_heartbeat_keeps_a_long_run_alive() -> None:
    long_run = run(StateType.RUNNING, "Running", 3600)
    assert diagnose(long_run, incident(), NOW, NOW - timedelta(seconds=20)) is None
    assert diagnose(long_run, incident(), NOW, NOW - timedelta(seconds=900)).startswith("RUNNING without")


def test_a_deleted_run_and_a_review_whose_run_completed() -> None:
    assert diagnose(None, incident(), NOW, None) == "deleted"
    assert diagnose(run(StateType.COMPLETED, "Completed", 1), incident(completed_is_dead=False), NOW, None) is None
