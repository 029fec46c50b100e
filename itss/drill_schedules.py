"""Each approved drill plan's own cron (in its timezone) as a schedule of the emergency_drill deployment.

A schedule per plan carries the slug `drill-<id>` and the parameters `{"plan_id": <id>}`; keeping them
equal to the database is `itss/schedule_sync.py`, shared with inspection plans.
"""

from __future__ import annotations

from prefect.client.orchestration import SyncPrefectClient
from sqlmodel import Session, col, select

from itss import schedule_sync
from models.drills.tables import DrillPlan, PlanStatus

DEPLOYMENT_NAME = "emergency_drill"
DEPLOYMENT = f"{DEPLOYMENT_NAME}/{DEPLOYMENT_NAME}"
SLUG_PREFIX = "drill-"


def wanted(session: Session) -> list[schedule_sync.Wanted]:
    """The schedules the approved plans ask for."""
    plans = session.exec(select(DrillPlan).where(col(DrillPlan.status) == PlanStatus.APPROVED)
                         .order_by(col(DrillPlan.id)))
    return [schedule_sync.Wanted(f"{SLUG_PREFIX}{p.id}", p.cron, p.timezone, {"plan_id": p.id}) for p in plans]


def sync(session: Session, client: SyncPrefectClient | None = None) -> dict[str, int] | None:
    """Make the deployment's drill schedules equal to the approved plans; None without the deployment."""
    return schedule_sync.sync(DEPLOYMENT_NAME, SLUG_PREFIX, wanted(session), client)
