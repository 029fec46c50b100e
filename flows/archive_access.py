"""Access to an archived deliverable (seed 000 §6): only with the ops management department manager's approval."""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run

from tasks.archive_access import access_gate, settle_access
from tasks.gates import request_approval


@flow(name="archive_access", flow_run_name="archive-access-{access_id}")
def archive_access(access_id: int) -> str:
    """Ask the ops management department manager; grant a week's reading, or refuse."""
    spec = access_gate(access_id, str(flow_run.get_id()))
    return settle_access(access_id, request_approval(spec))
