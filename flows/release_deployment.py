"""Release deployment (seeds 001 §3.2.5, 002 变更管理/发布管理): approved, in its window, rolled back on failure."""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run

from itss.run_names import run_name
from models.changes.tables import FINAL, ChangeStatus, StepPhase
from tasks.change_steps import confirm_gate, record_confirmation, run_steps, verify
from tasks.changes import (
    announce_change,
    approval_gates,
    begin_change,
    find_slot,
    finish_change,
    open_review,
    open_rollback_incident,
    record_approval,
    schedule_in_window,
    start_implementation,
    update_cmdb,
)
from tasks.gates import request_approval
from tasks.release_report import write_release_report


@flow(name="release_deployment", flow_run_name=run_name("release_deployment", "change-{change_id}"))
def release_deployment(change_id: int) -> str:
    """Approve by type, wait for the window, run the runbook, verify, roll back on failure, update the CMDB, report."""
    run_id = str(flow_run.get_id())
    plan = begin_change(change_id, run_id)
    if plan.status in FINAL:
        return plan.status.value

    if plan.needs_approval:
        outcomes = []
        for spec in approval_gates(plan):  # in turn: a refusal stops the change before the next gate
            outcomes.append(request_approval(spec))
            if not outcomes[-1].approved:
                break
        if record_approval(change_id, outcomes, run_id) == ChangeStatus.REJECTED:
            announce_change(change_id, "rejected")
            return ChangeStatus.REJECTED.value

    slot = find_slot(change_id)
    if slot.when == "never":
        finish_change(change_id, ChangeStatus.WINDOW_MISSED, "no open change window before the requested window "
                                                             "ended", run_id)
        announce_change(change_id, "window-missed")
        return ChangeStatus.WINDOW_MISSED.value
    if slot.when == "later":  # a scheduled run, not a sleeping process
        if slot.start is None:  # nothing has run yet: fail loudly rather than schedule for no time
            raise ValueError(f"change {change_id}: find_slot said 'later' without the window's start")
        schedule_in_window(change_id, slot.start, run_id)
        announce_change(change_id, "scheduled")
        return ChangeStatus.SCHEDULED.value

    start_implementation(change_id, slot, run_id)
    announce_change(change_id, "started")
    progress = run_steps(change_id, StepPhase.DEPLOY, run_id, slot.end)
    while progress.waiting_for is not None:  # a confirm step: a person says go on or abort
        # run_steps names the step it waits at; mid-runbook, a missing name must not stop the change half done.
        step_name = progress.step_name or f"step {progress.waiting_for + 1}"
        outcome = request_approval(confirm_gate(change_id, plan.title, progress.waiting_for, step_name,
                                                plan.contract_id))
        record_confirmation(change_id, progress.waiting_for, step_name, outcome)
        progress = run_steps(change_id, StepPhase.DEPLOY, run_id, slot.end)

    failure = progress.failure
    if progress.ok and not verify(change_id, StepPhase.VERIFY):
        failure = "verification failed after the deploy"
    if failure is None:
        update_cmdb(change_id, run_id)
        status = ChangeStatus.SUCCEEDED
    else:
        rollback = run_steps(change_id, StepPhase.ROLLBACK, run_id)
        restored = rollback.ok and verify(change_id, StepPhase.ROLLBACK_VERIFY)
        status = ChangeStatus.ROLLED_BACK if restored else ChangeStatus.ROLLBACK_FAILED
        if not restored:
            failure += f"; rollback failed: {rollback.failure or 'verification after rollback failed'}"
    finish_change(change_id, status, failure, run_id)
    if status == ChangeStatus.ROLLBACK_FAILED:
        open_rollback_incident(change_id, run_id)
    write_release_report(change_id)
    open_review(change_id)
    announce_change(change_id, "finished")
    return status.value
