"""A small gated flow for the gate tests: a side effect, a gate, a branch per outcome."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task

from models.directory.roles import RoleKey
from models.gates.tables import GateSpec
from tasks.gates import request_approval


@task(persist_result=True)
def prepare(marker: str) -> str:
    """The side effect before the gate: must run once however often the run re-executes."""
    with Path(marker).open("a") as handle:
        handle.write("prepared\n")
    return "prepared"


@task
def record(marker: str, what: str) -> None:
    with Path(marker).open("a") as handle:
        handle.write(f"{what}\n")


@flow(name="gated_change")
def gated_change(marker: str, requested_by: int | None = None, quorum: int = 1, timeout_minutes: int | None = None,
                 wait: str = "auto") -> str:
    """Prepare, ask the CAB, then deploy on approve, stop on reject, escalate on expiry."""
    prepare(marker)
    outcome = request_approval(
        GateSpec(key="cab", subject="Deploy release 2.4 to app-srv-01", details_md="Rollback: restore 2.3.",
                 eligible_roles=[RoleKey.CAB_MEMBER], quorum=quorum, requested_by=requested_by,
                 timeout_minutes=timeout_minutes),
        wait=wait,
    )
    if outcome.outcome == "approve":
        record(marker, "deployed")
        return "deployed"
    if outcome.outcome == "reject":
        record(marker, "cancelled")
        return "cancelled"
    record(marker, "expired")
    return "expired"
