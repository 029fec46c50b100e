"""The sweeper: escalation, expiry and retries are data, swept on a short schedule."""

from __future__ import annotations

from prefect import flow

from tasks.plan_approval import request_pending_plan_approvals
from tasks.reconcile import reconcile_runs
from tasks.sweeper import (
    dispatch_incidents,
    escalate_overdue_gates,
    expire_overdue_gates,
    flag_stalled_releases,
    record_sweep,
    restore_plan_schedules,
    resume_decided_runs,
    retry_notifications,
    sweep_sla_clocks,
)
from tasks.template_approval import request_pending_approvals


@flow(name="gate_sweeper", log_prints=True)
def gate_sweeper() -> dict:
    """Escalate/expire gates, resume and restart runs, SLA clocks, stalled releases, dead runs, schedules, beat."""
    escalated = escalate_overdue_gates()
    expired = expire_overdue_gates()
    resumed = resume_decided_runs()
    dispatched = dispatch_incidents()
    clocks = sweep_sla_clocks()
    stalled = flag_stalled_releases()
    recovered = reconcile_runs()  # after the stalled notice: a release's people hear of it before its retry
    schedules = restore_plan_schedules()
    notifications = retry_notifications()
    templates = request_pending_approvals() + request_pending_plan_approvals()
    summary = {"escalated": escalated, "expired": len(expired), "resumed": resumed, "dispatched": dispatched,
               "stalled_releases": stalled, **recovered, "plan_schedules_restored": schedules,
               "approvals_started": templates, **clocks, **notifications}
    print(f"sweep: {summary}")
    record_sweep(summary)
    return summary
