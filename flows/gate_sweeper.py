"""The sweeper: escalation, expiry and retries are data, swept on a short schedule."""

from __future__ import annotations

from prefect import flow

from tasks.sweeper import escalate_overdue_gates, expire_overdue_gates, resume_decided_runs, retry_notifications


@flow(name="gate_sweeper", log_prints=True)
def gate_sweeper() -> dict:
    """Escalate overdue gates, expire gates past their deadline, resume decided runs, retry notifications."""
    escalated = escalate_overdue_gates()
    expired = expire_overdue_gates()
    resumed = resume_decided_runs()
    notifications = retry_notifications()
    summary = {"escalated": escalated, "expired": len(expired), "resumed": resumed, **notifications}
    print(f"sweep: {summary}")
    return summary
