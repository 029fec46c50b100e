"""A deployment's per-record schedules (one per inspection plan, one per drill plan) kept equal to the database.

The database is the source of truth. Each record's schedule carries a slug `<prefix><id>` and the
parameters its flow needs. Applying prefect.yaml replaces every schedule of a deployment (Prefect's
upsert deletes them), so `serve_all` adds these when it applies (`as_prefect`), and approving, saving or
retiring a record brings a running server's schedules in line (`sync`). Schedules without the prefix
(prefect.yaml's own) are never touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import DeploymentScheduleCreate
from prefect.client.schemas.schedules import CronSchedule
from prefect.schedules import Cron, Schedule

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Wanted:
    """The schedule one record asks for."""

    slug: str
    cron: str
    timezone: str
    parameters: dict[str, Any]


def as_prefect(wanted: list[Wanted]) -> list[Schedule]:
    """The schedules as Prefect schedule objects, for a deployment being applied."""
    return [Cron(w.cron, timezone=w.timezone, parameters=w.parameters, slug=w.slug) for w in wanted]


def sync(deployment_name: str, slug_prefix: str, wanted: list[Wanted],
         client: SyncPrefectClient | None = None) -> dict[str, int] | None:
    """Make the deployment's `slug_prefix` schedules equal to `wanted`; None when it is not applied yet."""
    if client is None:
        with get_client(sync_client=True) as own:
            return sync(deployment_name, slug_prefix, wanted, own)
    try:
        deployment = client.read_deployment_by_name(f"{deployment_name}/{deployment_name}")
    except Exception as exc:  # not applied yet: serve_all adds the schedules when it applies
        log.info("no %s deployment to schedule on (%s)", deployment_name, type(exc).__name__)
        return None
    want = {w.slug: w for w in wanted}
    counts = {"created": 0, "updated": 0, "removed": 0, "unchanged": 0}
    for existing in client.read_deployment_schedules(deployment.id):
        slug = existing.slug or ""
        if not slug.startswith(slug_prefix):
            continue  # prefect.yaml's own schedules are not ours to touch
        target = want.pop(slug, None)
        if target is None:
            client.delete_deployment_schedule(deployment.id, existing.id)
            counts["removed"] += 1
        elif _same(existing, target):
            counts["unchanged"] += 1
        else:
            client.update_deployment_schedule(deployment.id, existing.id, active=True, parameters=target.parameters,
                                              schedule=CronSchedule(cron=target.cron, timezone=target.timezone))
            counts["updated"] += 1
    for target in want.values():
        _create(client, deployment.id, target)
        counts["created"] += 1
    return counts


def _same(existing: Any, target: Wanted) -> bool:
    schedule = existing.schedule
    return (isinstance(schedule, CronSchedule) and schedule.cron == target.cron
            and (schedule.timezone or "UTC") == target.timezone and existing.parameters == target.parameters
            and existing.active)


def _create(client: SyncPrefectClient, deployment_id: UUID, target: Wanted) -> None:
    client.create_deployment_schedules(deployment_id, [DeploymentScheduleCreate(
        schedule=CronSchedule(cron=target.cron, timezone=target.timezone), active=True,
        parameters=target.parameters, slug=target.slug)])
