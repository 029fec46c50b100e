"""/alerts: monitoring webhooks. Alertmanager (payload version 4) and a generic JSON mapping.

Each alert is deduplicated by fingerprint: firing opens an incident or counts on the open one;
resolved notes it on the timeline (closing still needs the requester's consent). A payload is
validated whole before anything is written. Flow runs start after the response (and by the
sweeper if that fails), so the webhook answers fast.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError

from api.deps import Caller, SessionDep, require_roles
from itss.runs import dispatch_soon
from models.db import is_lock_conflict, serialized_writes
from models.incident_service import record_alert
from models.incidents import Source
from models.roles import RoleKey

router = APIRouter(prefix="/alerts", tags=["alerts"])
# Monitors post with a token of a service account holding the service-desk role.
Monitor = Annotated[Caller, Depends(require_roles(RoleKey.SERVICE_DESK, RoleKey.ENGINEER))]


class AlertmanagerAlert(BaseModel):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = {}
    startsAt: datetime  # noqa: N815 - Alertmanager's field names
    endsAt: datetime | None = None  # noqa: N815
    generatorURL: str = ""  # noqa: N815
    fingerprint: str = Field(min_length=1)


class AlertmanagerPayload(BaseModel):
    """Alertmanager's webhook body, version 4."""

    version: Literal["4"]
    groupKey: str  # noqa: N815
    truncatedAlerts: int = 0  # noqa: N815
    status: Literal["firing", "resolved"]
    receiver: str
    groupLabels: dict[str, str] = {}  # noqa: N815
    commonLabels: dict[str, str] = {}  # noqa: N815
    commonAnnotations: dict[str, str] = {}  # noqa: N815
    externalURL: str = ""  # noqa: N815
    alerts: list[AlertmanagerAlert] = Field(min_length=1)


class GenericAlert(BaseModel):
    """Any other monitor (Zabbix, Grafana, scripts): see README "Alert webhooks" for the mapping."""

    source: str = Field(min_length=1, max_length=60, description="e.g. zabbix, grafana")
    id: str = Field(min_length=1, max_length=150, description="stable id of the problem, for deduplication")
    status: Literal["firing", "resolved", "problem", "ok"]
    title: str = Field(min_length=1, max_length=300)
    ci: str | None = Field(default=None, description="CI name, hostname or IP")
    severity: str = "warning"
    description: str = ""
    occurred_at: datetime | None = None


class AlertResult(BaseModel):
    incident_ids: list[int]
    created: int
    updated: int


MAJOR_SEVERITIES = {"critical", "page", "disaster", "high", "emergency"}
CI_LABELS = ("ci", "host", "hostname", "instance", "node", "device")


def _ci_names(labels: dict[str, str]) -> list[str]:
    for key in CI_LABELS:
        if labels.get(key):
            value = labels[key]
            host = value.rsplit(":", 1)[0] if value.count(":") == 1 else value  # drop an exporter port
            return [host]
    return []


def _record(session, caller: Caller, items: list[dict]) -> tuple[list[int], list[int], int]:
    ids, new_ids, updated = [], [], 0
    for item in items:
        incident, new = record_alert(session, actor=caller.actor, **item)
        if incident is not None:
            ids.append(int(incident.id))
            if new:
                new_ids.append(int(incident.id))
            else:
                updated += 1
    session.commit()
    return ids, new_ids, updated


def _handle(session, caller: Caller, items: list[dict]) -> AlertResult:
    session.commit()  # end the authentication read: the alert transaction starts fresh
    for attempt in range(20):
        try:
            with serialized_writes():
                ids, new_ids, updated = _record(session, caller, items)
            break
        except OperationalError as exc:
            session.rollback()
            if not is_lock_conflict(exc) or attempt == 19:
                raise
            time.sleep(0.005 * (attempt + 1))  # another alert committed first; redo on fresh data
    for incident_id in new_ids:  # repeats already have their run (or the sweeper starts it)
        dispatch_soon(incident_id)
    created = len(new_ids)
    return AlertResult(incident_ids=ids, created=created, updated=updated)


@router.post("/alertmanager", response_model=AlertResult)
def alertmanager(payload: AlertmanagerPayload, session: SessionDep, caller: Monitor) -> AlertResult:
    """Prometheus Alertmanager webhook (configure `http_config.authorization.credentials` with a token)."""
    items = []
    for alert in payload.alerts:
        labels = {**payload.commonLabels, **alert.labels}
        annotations = {**payload.commonAnnotations, **alert.annotations}
        title = annotations.get("summary") or labels.get("alertname", "alert")
        items.append(dict(fingerprint=f"alertmanager:{alert.fingerprint}", firing=alert.status == "firing",
                          title=title, symptom=annotations.get("description", title), ci_names=_ci_names(labels),
                          source=Source.ALERTMANAGER, major=labels.get("severity", "").lower() in MAJOR_SEVERITIES,
                          starts_at=alert.startsAt))
    return _handle(session, caller, items)


@router.post("/webhook", response_model=AlertResult)
def generic(alert: GenericAlert, session: SessionDep, caller: Monitor) -> AlertResult:
    """A generic monitoring alert (one per request)."""
    item = dict(fingerprint=f"{alert.source}:{alert.id}", firing=alert.status in ("firing", "problem"),
                title=alert.title, symptom=alert.description or alert.title, ci_names=[alert.ci] if alert.ci else [],
                source=Source.WEBHOOK, major=alert.severity.lower() in MAJOR_SEVERITIES, starts_at=alert.occurred_at)
    return _handle(session, caller, [item])
