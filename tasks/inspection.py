"""Tasks of the routine inspection: open the run, probe the estate, hand exceptions on, report."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import (
    acreate_progress_artifact,
    aupdate_progress_artifact,
    create_markdown_artifact,
    create_table_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from itss.runs import dispatch_incident
from models.core.clock import utcnow
from models.core.db import session_scope
from models.core.rows import must_get, stored_id
from models.directory.roles import RoleKey
from models.incidents.service import record_alert
from models.incidents.tables import Source
from models.inspection.plan import CheckItem, PlanSpec, targets_of
from models.inspection.service import close_run, open_run, plan_by_ref, store_results
from models.inspection.tables import CheckStatus, InspectionPlan, InspectionRun, RunStatus
from notifications.outbox import enqueue
from notifications.render import local_time, render, render_document
from notifications.sender import deliver
from tasks.probes import PROBES, ProbeContext, Target, run_check

FAILURES_FIRST = {CheckStatus.CRITICAL: 0, CheckStatus.ERROR: 1, CheckStatus.WARNING: 2, CheckStatus.OK: 3}


@task(cache_policy=NO_CACHE)
def begin_inspection(plan: str, trigger: str, run_id: int | None = None) -> int | None:
    """Open the run record of `plan` (by name or id), or adopt `run_id` (opened by the API, which answered its id);
    None when a paused plan's schedule fires."""
    with session_scope() as session:
        if run_id is not None and (opened := session.get(InspectionRun, run_id)) is not None:
            opened.flow_run_id = flow_run.get_id()
            session.add(opened)
            return int(run_id)
        found = plan_by_ref(session, plan)
        if found is None:
            raise ValueError(f"no inspection plan {plan!r} (GET /inspection-plans lists them)")
        if found.approval_status != "approved":
            # Runs commands on CIs and no second person approved this version: nothing runs.
            raise ValueError(f"inspection plan {found.name!r} v{found.version} runs commands on CIs and is "
                             f"{found.approval_status}, not approved (its gate is in GET /approvals)")
        if not found.active and trigger == "schedule":
            # prefect.yaml may still schedule a paused plan; on-demand runs of it stay possible.
            get_run_logger().info("inspection plan %r is paused; scheduled run skipped", found.name)
            return None
        run = open_run(session, found, trigger=trigger, flow_run_id=flow_run.get_id())
        return stored_id(run)


def _load(run_id: int) -> tuple[InspectionPlan, PlanSpec, list[Target], dict[int, str]]:
    with session_scope() as session:
        run = must_get(session, InspectionRun, run_id)
        plan = must_get(session, InspectionPlan, run.plan_id)
        spec = PlanSpec.model_validate(plan.spec)
        cis = targets_of(session, spec)
        run.targets = len(cis)
        session.add(run)
        targets = [Target(ci_id=stored_id(ci), name=ci.name, host=ci.ip or ci.hostname or ci.name,
                          attributes={"ci_type": ci.ci_type.value, **ci.attributes}) for ci in cis]
        return plan, spec, targets, {stored_id(ci): ci.name for ci in cis}


def _applies(check: CheckItem, target: Target) -> bool:
    return not check.applies_to or target.attributes.get("ci_type") in {t.value for t in check.applies_to}


@task(cache_policy=NO_CACHE)
def probe_estate(run_id: int) -> list[dict[str, Any]]:
    """Probe every target × check with bounded concurrency; store results in bulk; return the non-ok ones.

    One task for the whole estate: a Prefect task per probe costs ~12 ms of orchestration each."""
    return asyncio.run(_probe_estate(run_id))


async def _probe_estate(run_id: int) -> list[dict[str, Any]]:
    plan, spec, targets, names = await asyncio.to_thread(_load, run_id)
    jobs = [(check, target) for target in targets for check in spec.checks if _applies(check, target)]
    progress = await acreate_progress_artifact(0.0, description=f"{plan.name}: {len(jobs)} checks on "
                                                                 f"{len(targets)} CIs")
    gate = asyncio.Semaphore(spec.concurrency)
    ctx = ProbeContext()
    params = {c.key: PROBES[c.probe].params.model_validate(c.params) for c in spec.checks}

    async def one(check: CheckItem, target: Target) -> dict[str, Any]:
        async with gate:
            result = await run_check(PROBES[check.probe], params[check.key], target, ctx,
                                     timeout=check.timeout_seconds, warning=check.warning, critical=check.critical)
        return dict(run_id=run_id, ci_id=target.ci_id, check_key=check.key, probe=check.probe,
                    status=result.status, value=result.value, threshold=result.threshold, message=result.message,
                    duration_ms=round(result.duration_ms, 3), checked_at=utcnow())

    failures: list[dict[str, Any]] = []
    chunk = max(4 * spec.concurrency, 250)  # store and report progress every chunk, not per probe
    pending: asyncio.Future | None = None
    try:
        for start in range(0, len(jobs), chunk):
            rows = await asyncio.gather(*(one(c, t) for c, t in jobs[start:start + chunk]))
            if pending is not None:
                await pending
            pending = asyncio.ensure_future(asyncio.to_thread(_store, rows))  # overlaps the next chunk's probes
            failures += [r | {"ci_name": names[r["ci_id"]]} for r in rows if r["status"] != CheckStatus.OK]
            done = min(start + chunk, len(jobs))
            await aupdate_progress_artifact(progress, 100.0 * done / max(len(jobs), 1),
                                            description=f"{done}/{len(jobs)} checks, {len(failures)} not ok")
        if pending is not None:
            await pending
    finally:
        await ctx.aclose()
    return failures


def _store(rows: list[dict[str, Any]]) -> None:
    with session_scope() as session:
        store_results(session, rows)


@task(cache_policy=NO_CACHE)
def handle_exceptions(run_id: int, failures: list[dict[str, Any]]) -> list[int]:
    """Notify the roles each failure's rule names (one message per role and run), and open incidents for
    the checks that call for one: one open incident per CI + check item, whatever the number of runs."""
    with session_scope() as session:
        run = must_get(session, InspectionRun, run_id)
        plan = must_get(session, InspectionPlan, run.plan_id)
        spec = PlanSpec.model_validate(plan.spec)
        by_role: dict[RoleKey, list[dict[str, Any]]] = defaultdict(list)
        new_incidents: list[int] = []
        on_incidents: list[int] = []
        for failure in failures:
            check = spec.check(failure["check_key"])
            rule = check.rule(failure["status"])
            if rule is None:
                continue
            for role in rule.notify:
                by_role[role].append(failure)
            if rule.open_incident:
                incident, created = record_alert(
                    session, fingerprint=f"inspection:{plan.id}:{failure['ci_id']}:{check.key}", firing=True,
                    title=f"Inspection: {check.name} {failure['status']} on {failure['ci_name']}",
                    symptom=failure["message"], ci_names=[failure["ci_name"]], source=Source.INSPECTION,
                    actor=f"system:inspection:{run_id}", major=rule.fault_class == "major", starts_at=None)
                (new_incidents if created else on_incidents).append(stored_id(incident))
        notification_ids: list[int] = []
        for role, items in by_role.items():
            lines = "\n".join(f"- **{f['status']}** {f['ci_name']} · {spec.check(f['check_key']).name}: {f['message']}"
                              for f in sorted(items, key=lambda f: FAILURES_FIRST[CheckStatus(f["status"])]))
            title, body = render("generic", title=f"[inspection] {plan.name}: {len(items)} exception(s)",
                                 body=lines, link=None)
            rows = enqueue(session, event="inspection.exceptions", dedupe_prefix=f"inspection:{run_id}:{role.value}",
                           roles=[role], title=title, body=body)
            notification_ids += [stored_id(r) for r in rows]
    deliver(notification_ids)
    for incident_id in new_incidents:  # the emergency-response run, exactly once (claimed in the database)
        dispatch_incident(incident_id)
    return sorted({*new_incidents, *on_incidents})


@task(cache_policy=NO_CACHE)
def report_inspection(run_id: int, failures: list[dict[str, Any]], incident_ids: list[int]) -> str:
    """Close the run: the result table (failures first) and the report from the plan's template."""
    ordered = sorted(failures, key=lambda f: (FAILURES_FIRST[CheckStatus(f["status"])], f["ci_name"], f["check_key"]))
    with session_scope() as session:
        run = close_run(session, run_id, status=RunStatus.COMPLETED, incidents_opened=incident_ids)
        plan = must_get(session, InspectionPlan, run.plan_id)
        spec = PlanSpec.model_validate(plan.spec)
        # Plain values only: a team's template must not reach the session behind a table object.
        context = dict(plan=spec, run=run.model_dump(), failures=ordered, incident_ids=incident_ids,
                       started=local_time(run.started_at), finished=local_time(run.finished_at),
                       names={c.key: c.name for c in spec.checks})
        report = render_document("inspection_report", spec.report_template, **context)
        run.report_md = report
        session.add(run)
        counts = dict(run.counts)
    table = [{"status": str(f["status"]), "ci": f["ci_name"], "check": f["check_key"], "value": f["value"],
              "threshold": f["threshold"], "message": f["message"]} for f in ordered[:1000]]
    create_table_artifact(table or [{"status": "ok", "ci": "all", "check": "all", "value": None, "threshold": "",
                                     "message": f"{counts.get('ok', 0)} checks ok"}],
                          key=f"inspection-results-{run_id}", description="Inspection results, failures first")
    create_markdown_artifact(report, key=f"inspection-report-{run_id}", description=f"Inspection report: {plan.name}")
    return report


def fail_run(run_id: int) -> None:
    """Mark a run failed (the flow crashed after opening it)."""
    with session_scope() as session:
        close_run(session, run_id, status=RunStatus.FAILED)
