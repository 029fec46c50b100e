"""Each active inspection plan's own cycle (cron + timezone) as a schedule of the routine_inspection deployment.

The database is the source of truth. A schedule per plan carries the slug `plan-<id>` and the
parameters `{"plan": <name>}`. Applying prefect.yaml replaces every schedule of a deployment
(Prefect's upsert deletes them), so `serve_all` adds these schedules when it applies, and saving a
plan, or `itss schedules sync`, brings a running server's schedules in line.
A plan that prefect.yaml already runs at the same cron and timezone gets no second schedule.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import DeploymentScheduleCreate
from prefect.client.schemas.schedules import CronSchedule
from prefect.schedules import Cron, Schedule
from sqlmodel import Session, col, select

from itss.deployment_specs import load_specs
from models.inspection.tables import InspectionPlan

log = logging.getLogger(__name__)
DEPLOYMENT_NAME = "routine_inspection"
DEPLOYMENT = f"{DEPLOYMENT_NAME}/{DEPLOYMENT_NAME}"
SLUG_PREFIX = "plan-"


@dataclass(frozen=True)
class PlanSchedule:
    """The schedule one plan asks for."""

    slug: str
    plan: str
    cron: str
    timezone: str


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


def wanted(session: Session) -> list[PlanSchedule]:
    """The schedules the active plans ask for, less those prefect.yaml already has."""
    covered = _covered_by_yaml()
    result = []
    approved = select(InspectionPlan).where(InspectionPlan.active, InspectionPlan.approval_status == "approved")
    for plan in session.exec(approved.order_by(col(InspectionPlan.id))):  # unapproved commands never get a schedule
        cron, timezone = plan.spec["cron"], plan.spec.get("timezone") or "UTC"
        if (plan.name, cron, timezone) not in covered:
            result.append(PlanSchedule(f"{SLUG_PREFIX}{plan.id}", plan.name, cron, timezone))
    return result


def as_prefect(schedules: list[PlanSchedule]) -> list[Schedule]:
    """The schedules as Prefect schedule objects, for a deployment being applied."""
    return [Cron(s.cron, timezone=s.timezone, parameters={"plan": s.plan}, slug=s.slug) for s in schedules]


def sync(session: Session, client: SyncPrefectClient | None = None) -> dict[str, int] | None:
    """Make the deployment's plan schedules equal to `wanted`; None when the deployment is not applied yet."""
    if client is None:
        with get_client(sync_client=True) as own:
            return sync(session, own)
    try:
        deployment = client.read_deployment_by_name(DEPLOYMENT)
    except Exception as exc:  # not applied yet: serve_all adds the schedules when it applies
        log.info("no %s deployment to schedule plans on (%s)", DEPLOYMENT, type(exc).__name__)
        return None
    want = {s.slug: s for s in wanted(session)}
    counts = {"created": 0, "updated": 0, "removed": 0, "unchanged": 0}
    for existing in client.read_deployment_schedules(deployment.id):
        slug = existing.slug or ""
        if not slug.startswith(SLUG_PREFIX):
            continue  # prefect.yaml's own schedules are not ours to touch
        target = want.pop(slug, None)
        if target is not None and _same(existing, target):
            counts["unchanged"] += 1
            continue
        if target is None:
            client.delete_deployment_schedule(deployment.id, existing.id)
            counts["removed"] += 1
        else:
            client.update_deployment_schedule(deployment.id, existing.id, active=True, parameters={"plan": target.plan},
                                              schedule=CronSchedule(cron=target.cron, timezone=target.timezone))
            counts["updated"] += 1
    for target in want.values():
        _create(client, deployment.id, target)
        counts["created"] += 1
    return counts


def _same(existing, target: PlanSchedule) -> bool:
    schedule = existing.schedule
    return (isinstance(schedule, CronSchedule) and schedule.cron == target.cron
            and (schedule.timezone or "UTC") == target.timezone and existing.parameters == {"plan": target.plan}
            and existing.active)


def _create(client: SyncPrefectClient, deployment_id, target: PlanSchedule) -> None:
    client.create_deployment_schedules(deployment_id, [DeploymentScheduleCreate(
        schedule=CronSchedule(cron=target.cron, timezone=target.timezone), active=True,
        parameters={"plan": target.plan}, slug=target.slug)])
