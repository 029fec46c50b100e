"""Tasks of a standard change template's approval: the CAB decides each version; the author may not."""

from __future__ import annotations

import json

from prefect import task
from prefect.cache_policies import NO_CACHE

from config.settings import get_settings
from models.changes.tables import ChangeTemplate
from models.core.db import session_scope
from models.core.rows import must_get
from models.directory.roles import RoleKey
from models.gates.tables import GateSpec
from tasks.gates import GateOutcome
from tasks.record_approval import settle, start_lost_approvals


def _runbook_md(template: ChangeTemplate) -> str:
    parts = [f"Standard change template **{template.name}** version {template.version} "
             f"({template.standard_kind}, {template.planned_minutes} min). Once approved, standard changes run "
             "this runbook without any further approval. Read every command:"]
    for section in ("steps", "verification", "rollback", "rollback_verification"):
        rows = getattr(template, section)
        if rows:
            # Shown as a code block: the commands are data to read, never rendered as markup.
            parts.append(f"{section}:\n\n```\n{json.dumps(rows, ensure_ascii=False, indent=2)}\n```")
    return "\n\n".join(parts)


@task(name="open-template-approval", cache_policy=NO_CACHE)
def template_gate(template_id: int, version: int, flow_run_id: str) -> GateSpec:
    """Bind this version's approval to the run; the gate the CAB decides (not the version's author)."""
    with session_scope() as session:
        template = must_get(session, ChangeTemplate, template_id)
        if template.version == version:
            template.approval_flow_run_id = flow_run_id
            session.add(template)
        return GateSpec(key=f"template-approval-v{version}",
                        subject=f"Approve standard change template {template.name!r} v{version}",
                        details_md=_runbook_md(template), eligible_roles=[RoleKey.CAB_MEMBER],
                        quorum=get_settings().cab_quorum, requested_by=template.submitted_by or template.created_by,
                        record_type="change_template", record_id=str(template_id))


@task(name="settle-template-approval", cache_policy=NO_CACHE)
def settle_template(template_id: int, version: int, outcome: GateOutcome) -> str:
    """Approved: standard changes may use this version. Rejected or expired: they may not. Audited."""
    with session_scope() as session:
        return settle(session, must_get(session, ChangeTemplate, template_id), version, outcome,
                      record_type="change_template")


@task(name="request-template-approvals", cache_policy=NO_CACHE)
def request_pending_approvals() -> int:
    """Start the approval run of templates whose start was lost (Prefect away, runner not yet serving)."""
    return start_lost_approvals(ChangeTemplate, "template_approval/template_approval", "template_id",
                                ChangeTemplate.active == True)  # noqa: E712
