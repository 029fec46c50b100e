"""Runbook and verification tasks of a release: each step runs once, recorded in `change_step`.

The step log is what makes re-execution safe: a run that re-executes after a gate (a suspended flow
resumes from the top) skips the steps already recorded as succeeded, and a step left `running` by
a dead process is marked interrupted and treated as failed rather than run a second time.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel
from sqlmodel import Session, col, select

from config.settings import get_settings
from models.changes.spec import RunbookStep, StepKind, VerifyCheck
from models.changes.tables import ChangeRequest, ChangeStep, StepPhase, StepStatus
from models.cmdb.tables import ConfigurationItem
from models.core.clock import utcnow
from models.core.db import session_scope
from models.core.rows import must_get, stored_id
from models.directory.roles import RoleKey
from models.gates.tables import GateSpec
from models.inspection.tables import CheckStatus
from tasks.gates import GateOutcome
from tasks.probes import PROBES, ProbeContext, Target, run_check
from tasks.runbook import StepContext, run_step

CONTINUE, ABORT = "continue", "abort"


class Progress(BaseModel):
    """Where a runbook stands: done, failed (with why), or waiting for a person at a confirm step."""

    ok: bool
    failure: str | None = None
    waiting_for: int | None = None  # position of the confirm step
    step_name: str | None = None


def _change(session: Session, change_id: int) -> ChangeRequest:
    change = session.get(ChangeRequest, change_id)
    if change is None:
        raise ValueError(f"no change request {change_id}")
    return change


def _hosts(session: Session, names: set[str]) -> dict[str, str]:
    """CI name → the address to reach it (IP, hostname)."""
    if not names:
        return {}
    rows = session.exec(select(ConfigurationItem).where(col(ConfigurationItem.name).in_(names)))
    return {ci.name: ci.ip or ci.hostname or ci.name for ci in rows}


def _steps(change: ChangeRequest, phase: StepPhase) -> list[RunbookStep]:
    source = change.steps if phase == StepPhase.DEPLOY else change.rollback
    return [RunbookStep.model_validate(step) for step in source]


def _rows(session: Session, change_id: int, phase: StepPhase) -> dict[int, ChangeStep]:
    rows = session.exec(select(ChangeStep).where(ChangeStep.change_id == change_id, ChangeStep.phase == phase))
    return {row.position: row for row in rows}


def _failed(step: RunbookStep, row: ChangeStep) -> Progress:
    return Progress(ok=False, step_name=step.name, failure=f"step {step.name!r} {row.status.value}: "
                                                           f"{row.output[-300:].strip()}")


@task(name="run-runbook", cache_policy=NO_CACHE)
def run_steps(change_id: int, phase: StepPhase, flow_run_id: str, until: datetime | None = None) -> Progress:
    """Run the phase's steps in order from the first not yet done; stop at a failure or a confirm step."""
    with session_scope() as session:
        change = _change(session, change_id)
        steps = _steps(change, phase)
        rows = _rows(session, change_id, phase)
        hosts = _hosts(session, {s.host for s in steps if s.host})
    ctx = StepContext(backup_dir=(get_settings().data_dir / "backups" / f"change-{change_id}").resolve(), hosts=hosts)
    for position, step in enumerate(steps):
        row = rows.get(position)
        if row is not None and row.status == StepStatus.SUCCEEDED:
            continue  # done by an earlier execution of this run, or of an earlier run
        if row is not None and row.status == StepStatus.RUNNING:
            _finish(stored_id(row), StepStatus.INTERRUPTED, None,
                    row.output + "\ninterrupted: its process ended mid-step; not run again")
            row.status = StepStatus.INTERRUPTED
        if row is not None:
            return _failed(step, row)
        if step.kind == StepKind.CONFIRM:
            return Progress(ok=True, waiting_for=position, step_name=step.name)
        if until is not None and utcnow() >= until:  # never start a deploy step once the window closed
            return Progress(ok=False, step_name=step.name,
                            failure=f"the change window closed before step {step.name!r} could start")
        step_id = _start(change_id, phase, position, step, flow_run_id)
        result = run_step(step, ctx)
        status = StepStatus.SUCCEEDED if result.ok else StepStatus.FAILED
        _finish(step_id, status, result.exit_code, result.output)
        if not result.ok:
            return Progress(ok=False, step_name=step.name,
                            failure=f"step {step.name!r} failed (exit {result.exit_code}): {result.output[-300:]}")
    return Progress(ok=True)


def _start(change_id: int, phase: StepPhase, position: int, step: RunbookStep, flow_run_id: str) -> int:
    # Committed before the step runs: a crash during it leaves `running`, never a silent re-run.
    with session_scope() as session:
        row = ChangeStep(change_id=change_id, phase=phase, position=position, name=step.name, kind=step.kind.value,
                         flow_run_id=flow_run_id, started_at=utcnow())
        session.add(row)
        session.flush()
        return stored_id(row)


def _finish(step_id: int, status: StepStatus, exit_code: int | None, output: str) -> None:
    with session_scope() as session:
        row = must_get(session, ChangeStep, step_id)
        row.status, row.exit_code, row.output, row.finished_at = status, exit_code, output[-20000:], utcnow()
        session.add(row)


def confirm_gate(change_id: int, title: str, position: int, step_name: str, contract_id: int | None) -> GateSpec:
    """A person confirms before the runbook goes on past a `confirm` step (abort rolls back)."""
    return GateSpec(key=f"confirm-{position}", subject=f"Change #{change_id}: confirm '{step_name}'",
                    details_md=f"The runbook of **{title}** waits at **{step_name}**. Choose **continue** to go on, "
                               "**abort** to roll back.",
                    eligible_roles=[RoleKey.ENGINEER, RoleKey.CHANGE_MANAGER], options=[CONTINUE, ABORT],
                    veto_options=[], contract_id=contract_id, record_type="change_request", record_id=str(change_id))


@task(name="record-confirmation", cache_policy=NO_CACHE)
def record_confirmation(change_id: int, position: int, step_name: str, outcome: GateOutcome) -> bool:
    """Log the decision at a confirm step as that step's result; True when the runbook may go on."""
    ok = outcome.outcome == CONTINUE
    with session_scope() as session:
        if _rows(session, change_id, StepPhase.DEPLOY).get(position) is None:
            status = StepStatus.SUCCEEDED if ok else StepStatus.FAILED
            session.add(ChangeStep(change_id=change_id, phase=StepPhase.DEPLOY, position=position, name=step_name,
                                   kind=StepKind.CONFIRM.value, status=status,
                                   output=f"{outcome.outcome} by {outcome.decider} (gate {outcome.gate_id}) "
                                          f"{'; '.join(outcome.comments)}".strip(),
                                   started_at=outcome.decided_at, finished_at=outcome.decided_at))
    return ok


@task(name="verify-change", cache_policy=NO_CACHE)
def verify(change_id: int, phase: StepPhase) -> bool:
    """Run the phase's verification checks (inspection probes); True when none is critical or error."""
    with session_scope() as session:
        change = _change(session, change_id)
        source = change.verification if phase == StepPhase.VERIFY else change.rollback_verification
        checks = [VerifyCheck.model_validate(c) for c in source]
        done = _rows(session, change_id, phase)
        hosts = _hosts(session, {c.target for c in checks})
    if done:  # verified by an earlier execution (its rows are written together): the verdict stands
        return all(row.status == StepStatus.SUCCEEDED for row in done.values())
    results = asyncio.run(_probe(checks, hosts))
    with session_scope() as session:
        for position, (check, (status, value, message, started)) in enumerate(zip(checks, results, strict=True)):
            session.add(ChangeStep(change_id=change_id, phase=phase, position=position, name=check.name,
                                   kind=check.probe, status=StepStatus.SUCCEEDED if _passes(status)
                                   else StepStatus.FAILED, output=f"{status}: {message}{_shown(value)}"[:2000],
                                   exit_code=None, started_at=started, finished_at=utcnow()))
    return all(_passes(status) for status, *_ in results)


def _shown(value: float | None) -> str:
    return "" if value is None else f" (value {value:g})"


def _passes(status: CheckStatus) -> bool:
    return status in (CheckStatus.OK, CheckStatus.WARNING)


async def _probe(checks: list[VerifyCheck], hosts: dict[str, str]) -> list[tuple[Any, ...]]:
    ctx = ProbeContext()
    try:
        return await asyncio.gather(*(_one(check, hosts, ctx) for check in checks))
    finally:
        await ctx.aclose()


async def _one(check: VerifyCheck, hosts: dict[str, str], ctx: ProbeContext) -> tuple[Any, ...]:
    kind = PROBES[check.probe]
    params = kind.params.model_validate(check.params)
    target = Target(ci_id=0, name=check.target, host=hosts.get(check.target, check.target))
    started = utcnow()
    for attempt in range(check.retries + 1):  # a service may need a moment to come up after a deploy
        result = await run_check(kind, params, target, ctx, timeout=check.timeout_seconds, warning=check.warning,
                                 critical=check.critical)
        if _passes(result.status) or attempt == check.retries:
            break
        await asyncio.sleep(check.retry_delay_seconds)
    return result.status, result.value, result.message, started
