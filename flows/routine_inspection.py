"""Routine inspection (例行操作, source 000 §4.1): a plan's checks over its CIs, with records and exceptions."""

from __future__ import annotations

from prefect import flow

from itss.run_names import run_name
from tasks.inspection import begin_inspection, fail_run, handle_exceptions, probe_estate, report_inspection


@flow(name="routine_inspection", flow_run_name=run_name("routine_inspection", "inspection {plan}"))
def routine_inspection(plan: str, trigger: str = "schedule", run_id: int | None = None) -> dict:
    """Probe every CI in the plan's scope, store the results, notify and open incidents, write the report."""
    run_id = begin_inspection(plan, trigger, run_id)
    if run_id is None:
        return {"run_id": None, "skipped": "plan paused", "not_ok": 0, "incidents": []}
    try:
        failures = probe_estate(run_id)
        incident_ids = handle_exceptions(run_id, failures)
        report_inspection(run_id, failures, incident_ids)
    except BaseException:
        fail_run(run_id)
        raise
    return {"run_id": run_id, "not_ok": len(failures), "incidents": incident_ids}
