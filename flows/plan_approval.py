"""An inspection plan that runs commands on CIs (ssh_command) approved by a second person before it runs."""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run

from tasks.gates import request_approval
from tasks.plan_approval import plan_gate, settle_plan


@flow(name="plan_approval", flow_run_name="plan-approval-{plan_id}-v{version}")
def plan_approval(plan_id: int, version: int) -> str:
    """A CAB member other than the author approves this version; until then it is neither scheduled nor run."""
    spec = plan_gate(plan_id, version, str(flow_run.get_id()))
    return settle_plan(plan_id, version, request_approval(spec))
