"""What a versioned record's approval (an inspection plan, a standard change template) does around its gate.

Each version is decided on its own gate by the CAB, never by its author: the settle step records the
outcome on that version only (an edit while the CAB looked starts a new approval), once (a re-executed
run finds it settled), with the audit trail; the sweeper's step starts the approval runs whose start was
lost (Prefect away, the runner not yet serving).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from models.core.audit import record_audit
from models.core.clock import utcnow
from models.core.db import session_scope
from tasks.gates import GateOutcome


def settle(session: Session, record: Any, version: int, outcome: GateOutcome, *, record_type: str) -> str:
    """Record the gate's outcome on this version of `record` and audit it; the status it now has."""
    if record.version != version:
        return "superseded"  # edited while the CAB looked at it: the new version has its own approval
    if record.approval_status != "pending":
        return record.approval_status  # a re-executed run: already settled
    record.approval_status = "approved" if outcome.approved else "rejected"
    if outcome.approved:
        record.approved_by = outcome.voters[-1] if outcome.voters else None
        record.approved_at = outcome.decided_at or utcnow()
    session.add(record)
    record_audit(session, actor=outcome.decider, action=f"{record_type}.{record.approval_status}",
                 record_type=record_type, record_id=record.id,
                 after={"version": version, "gate_id": outcome.gate_id, "voters": outcome.voters},
                 detail="; ".join(outcome.comments) or None)
    return record.approval_status


def start_lost_approvals(model: Any, deployment: str, id_parameter: str, *where: Any) -> int:
    """Start the approval run of every pending version of `model` without one; how many were started."""
    from itss.runs import start_flow

    with session_scope() as session:
        waiting = [(r.id, r.version) for r in session.exec(select(model).where(
            model.approval_status == "pending", col(model.approval_flow_run_id).is_(None), *where))]
    started = 0
    for record_id, version in waiting:
        run_id = start_flow(deployment, {id_parameter: record_id, "version": version})
        if run_id is not None:
            with session_scope() as session:
                record = session.get(model, record_id)
                # Deleted or edited since the query above: skip it rather than fail the sweep for the others.
                if record is not None and record.version == version and record.approval_flow_run_id is None:
                    record.approval_flow_run_id = run_id
                    session.add(record)
            started += 1
    return started
