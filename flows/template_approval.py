"""A standard change template (a runbook that will run unattended) approved by the CAB before use."""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run

from tasks.gates import request_approval
from tasks.template_approval import settle_template, template_gate


@flow(name="template_approval", flow_run_name="template-approval-{template_id}-v{version}")
def template_approval(template_id: int, version: int) -> str:
    """The CAB approves this version of the template (its author may not); until then no standard change uses it."""
    spec = template_gate(template_id, version, str(flow_run.get_id()))
    return settle_template(template_id, version, request_approval(spec))
