"""Each active inspection plan's own cycle (cron + timezone) as a schedule of the routine_inspection deployment.

A schedule per plan carries the slug `plan-<id>` and the parameters `{"plan": <name>}`; keeping them
equal to the database (also `itss schedules sync`) is `itss/schedule_sync.py`, shared with drill plans.
A plan that prefect.yaml already runs at the same cron and timezone gets no second schedule.
"""

from __future__ import annotations

from functools import lru_cache

from prefect.client.orchestration import SyncPrefectClient
from sqlmodel import Session, col, select

from itss import schedule_sync
from itss.deployment_specs import load_specs
from models.inspection.tables import InspectionPlan

DEPLOYMENT_NAME = "routine_inspection"
DEPLOYMENT = f"{DEPLOYMENT_NAME}/{DEPLOYMENT_NAME}"
SLUG_PREFIX = "plan-"


@lru_cache(maxsize=1)
def _covered_by_yaml() -> frozenset[tuple[str, str, str]]:
    """(plan, cron, timezone) that prefect.yaml's routine_inspection schedules already run."""
    covered = set()
    for spec in load_specs():
        if spec.name != DEPLOYMENT_NAME:
            continue
        for entry in spec.schedules:
            plan = (entry.get("parameters") or {}).get("plan", spec.parameters.get("plan"))
            if "cron" in entry and plan:
                covered.add((plan, entry["cron"], entry.get("timezone") or "UTC"))
    return frozenset(covered)


def wanted(session: Session) -> list[schedule_sync.Wanted]:
    """The schedules the active plans ask for, less those prefect.yaml already has."""
    covered = _covered_by_yaml()
    result = []
    approved = select(InspectionPlan).where(InspectionPlan.active, InspectionPlan.approval_status == "approved")
    for plan in session.exec(approved.order_by(col(InspectionPlan.id))):  # unapproved commands never get a schedule
        cron, timezone = plan.spec["cron"], plan.spec.get("timezone") or "UTC"
        if (plan.name, cron, timezone) not in covered:
            result.append(schedule_sync.Wanted(f"{SLUG_PREFIX}{plan.id}", cron, timezone, {"plan": plan.name}))
    return result


def sync(session: Session, client: SyncPrefectClient | None = None) -> dict[str, int] | None:
    """Make the deployment's plan schedules equal to `wanted`; None when the deployment is not applied yet."""
    return schedule_sync.sync(DEPLOYMENT_NAME, SLUG_PREFIX, wanted(session), client)
