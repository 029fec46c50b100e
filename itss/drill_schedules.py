"""Each approved drill plan's own cron (in its timezone) as a schedule of the emergency_drill deployment.

Like inspection plans (itss/plan_schedules.py): the database is the source of truth; a schedule per
plan carries the slug `drill-<id>` and the parameters `{"plan_id": <id>}`. `serve_all` sends them when
it applies the deployment (applying replaces every schedule), and approving or retiring a plan syncs
a running server's schedules.
"""

from __future__ import annotations

import logging

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import DeploymentScheduleCreate
from prefect.client.schemas.schedules import CronSchedule
from prefect.schedules import Cron, Schedule
from sqlmodel import Session, col, select

from models.drills.tables import DrillPlan, PlanStatus

log = logging.getLogger(__name__)
DEPLOYMENT_NAME = "emergency_drill"
DEPLOYMENT = f"{DEPLOYMENT_NAME}/{DEPLOYMENT_NAME}"
SLUG_PREFIX = "drill-"


def wanted(session: Session) -> dict[str, DrillPlan]:
    """The approved plans by their schedule slug."""
    plans = session.exec(select(DrillPlan).where(col(DrillPlan.status) == PlanStatus.APPROVED)
                         .order_by(col(DrillPlan.id)))
    return {f"{SLUG_PREFIX}{p.id}": p for p in plans}


def as_prefect(session: Session) -> list[Schedule]:
    """The plans' schedules as Prefect objects, for the deployment being applied."""
    return [Cron(p.cron, timezone=p.timezone, parameters={"plan_id": p.id}, slug=slug)
            for slug, p in wanted(session).items()]


def sync(session: Session, client: SyncPrefectClient | None = None) -> dict[str, int] | None:
    """Make the deployment's drill schedules equal to the approved plans; None without the deployment."""
    if client is None:
        with get_client(sync_client=True) as own:
            return sync(session, own)
    try:
        deployment = client.read_deployment_by_name(DEPLOYMENT)
    except Exception as exc:  # not applied yet: serve_all adds the schedules when it applies
        log.info("no %s deployment to schedule drills on (%s)", DEPLOYMENT, type(exc).__name__)
        return None
    want = wanted(session)
    counts = {"created": 0, "updated": 0, "removed": 0, "unchanged": 0}
    for existing in client.read_deployment_schedules(deployment.id):
        slug = existing.slug or ""
        if not slug.startswith(SLUG_PREFIX):
            continue
        plan = want.pop(slug, None)
        schedule = existing.schedule
        if plan is None:
            client.delete_deployment_schedule(deployment.id, existing.id)
            counts["removed"] += 1
        elif (isinstance(schedule, CronSchedule) and schedule.cron == plan.cron and existing.active
              and (schedule.timezone or "UTC") == plan.timezone and existing.parameters == {"plan_id": plan.id}):
            counts["unchanged"] += 1
        else:
            client.update_deployment_schedule(deployment.id, existing.id, active=True, parameters={"plan_id": plan.id},
                                              schedule=CronSchedule(cron=plan.cron, timezone=plan.timezone))
            counts["updated"] += 1
    for slug, plan in want.items():
        client.create_deployment_schedules(deployment.id, [DeploymentScheduleCreate(
            schedule=CronSchedule(cron=plan.cron, timezone=plan.timezone), active=True,
            parameters={"plan_id": plan.id}, slug=slug)])
        counts["created"] += 1
    return counts
