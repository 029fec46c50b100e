"""The flow the gate benchmark runs: a gate, then a task that stamps when it starts."""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow, task

from models.directory.roles import RoleKey
from models.gates.tables import GateSpec
from tasks.gates import request_approval


@task
def after_gate(stamp: str) -> None:
    """The next task: its first act is to record the time it started."""
    Path(stamp).write_text(repr(time.time()))


@flow(name="bench_gate")
def bench_gate(stamp: str, wait: str = "auto") -> None:
    """One gate, then the stamping task."""
    request_approval(GateSpec(key="bench", subject=f"benchmark {Path(stamp).name}",
                              eligible_roles=[RoleKey.CAB_MEMBER]), wait=wait)
    after_gate(stamp)
