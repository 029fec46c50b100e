"""The sweeper: escalation, expiry and retries are data, swept on a short schedule."""

from __future__ import annotations

from prefect import flow

from tasks.sweeper import (
    dispatch_incidents,
    escalate_overdue_gates,
    expire_overdue_gates,
    flag_stalled_releases,
    resume_decided_runs,
    retry_notifications,
    sweep_sla_clocks,
)


@flow(name="gate_sweeper", log_prints=True)
def gate_sweeper() -> dict:
    """Escalate and expire gates, resume decided runs, start lost runs, SLA warnings, stalled releases, retries."""
    escalated = escalate_overdue_gates()
    expired = expire_overdue_gates()
    resumed = resume_decided_runs()
    dispatched = dispatch_incidents()
    clocks = sweep_sla_clocks()
    stalled = flag_stalled_releases()
    notifications = retry_notifications()
    summary = {"escalated": escalated, "expired": len(expired), "resumed": resumed, "dispatched": dispatched,
               "stalled_releases": stalled, **clocks, **notifications}
    print(f"sweep: {summary}")
    return summary
