"""Tasks of an access request to an archived deliverable: the ops management department manager decides."""

from __future__ import annotations

from datetime import timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE

from models.core.audit import record_audit
from models.core.db import session_scope
from models.core.rows import must_get
from models.directory.roles import RoleKey
from models.gates.tables import GateSpec
from models.review.tables import ArchiveAccess, QuarterlyReview
from tasks.gates import GateOutcome

ACCESS_DAYS = 7


@task(name="open-access-request", cache_policy=NO_CACHE)
def access_gate(access_id: int, flow_run_id: str) -> GateSpec:
    """Bind the request to this run; the gate the ops management department manager decides."""
    with session_scope() as session:
        access = must_get(session, ArchiveAccess, access_id)
        review = must_get(session, QuarterlyReview, access.review_id)
        access.flow_run_id = flow_run_id
        session.add(access)
        return GateSpec(key="archive-access", subject=f"Read archived checklist {review.year} Q{review.quarter} "
                                                      f"(contract {review.contract_id})",
                        details_md=f"Person {access.person_id} asks to read it: {access.reason or '(no reason)'}. "
                                   f"Approval lets them read it for {ACCESS_DAYS} days.",
                        eligible_roles=[RoleKey.OPS_MANAGER], requested_by=access.person_id,
                        contract_id=review.contract_id, record_type="quarterly_review", record_id=str(review.id))


@task(name="settle-access-request", cache_policy=NO_CACHE)
def settle_access(access_id: int, outcome: GateOutcome) -> str:
    """Grant for a week, or refuse; audited with the decider."""
    with session_scope() as session:
        access = must_get(session, ArchiveAccess, access_id)
        if access.status != "pending":
            return access.status
        access.gate_id = outcome.gate_id
        if outcome.approved:
            access.status, access.expires_at = "granted", outcome.decided_at + timedelta(days=ACCESS_DAYS)
        else:
            access.status = "refused"
        session.add(access)
        record_audit(session, actor=outcome.decider, action=f"review.access_{access.status}",
                     record_type="quarterly_review", record_id=access.review_id,
                     after={"person_id": access.person_id, "until": str(access.expires_at)},
                     detail="; ".join(outcome.comments) or None)
        return access.status

