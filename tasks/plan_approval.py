"""Tasks of an inspection plan's approval: a plan that runs commands on CIs needs a CAB member other than its author."""

from __future__ import annotations

import json

from prefect import task
from prefect.cache_policies import NO_CACHE

from models.core.db import session_scope
from models.core.rows import must_get
from models.directory.roles import RoleKey
from models.gates.tables import GateSpec
from models.inspection.tables import InspectionPlan
from tasks.gates import GateOutcome
from tasks.record_approval import settle, start_lost_approvals

DEPLOYMENT = "plan_approval/plan_approval"


@task(name="open-plan-approval", cache_policy=NO_CACHE)
def plan_gate(plan_id: int, version: int, flow_run_id: str) -> GateSpec:
    """Bind this version's approval to the run; the gate a CAB member (not the plan's author) decides."""
    with session_scope() as session:
        plan = must_get(session, InspectionPlan, plan_id)
        if plan.version == version:
            plan.approval_flow_run_id = flow_run_id
            session.add(plan)
        commands = [c for c in plan.spec.get("checks", []) if c.get("probe") == "ssh_command"]
        details = (f"Inspection plan **{plan.name}** version {version} runs commands on every CI in its scope, "
                   f"on its schedule ({plan.spec.get('cron')}), unattended. Read them:\n\n"
                   f"```\n{json.dumps(commands, ensure_ascii=False, indent=2)}\n```")
        return GateSpec(key=f"plan-approval-v{version}", subject=f"Approve inspection plan {plan.name!r} v{version}",
                        details_md=details, eligible_roles=[RoleKey.CAB_MEMBER], requested_by=plan.submitted_by,
                        record_type="inspection_plan", record_id=str(plan_id))


@task(name="settle-plan-approval", cache_policy=NO_CACHE)
def settle_plan(plan_id: int, version: int, outcome: GateOutcome) -> str:
    """Approved: the plan may be scheduled and run. Rejected or expired: it may not. Audited."""
    with session_scope() as session:
        status = settle(session, must_get(session, InspectionPlan, plan_id), version, outcome,
                        record_type="inspection_plan")
    if status == "approved":
        from itss import plan_schedules

        with session_scope() as session:  # its schedule, now that it may run
            plan_schedules.sync(session)
    return status


@task(name="request-plan-approvals", cache_policy=NO_CACHE)
def request_pending_plan_approvals() -> int:
    """Start the approval run of plans whose start was lost (Prefect away, runner not yet serving)."""
    return start_lost_approvals(InspectionPlan, DEPLOYMENT, "plan_id")
