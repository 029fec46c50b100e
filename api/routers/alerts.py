"""/alerts: monitoring webhooks. Alertmanager (payload version 4) and a generic JSON mapping.

Each alert is deduplicated by fingerprint: firing opens an incident or counts on the open one;
resolved notes it on the timeline (closing still needs the requester's consent). A payload is
validated whole before anything is written, then recorded by the alert writer (`api/alert_intake.py`),
which batches concurrent requests into one commit. Flow runs start after the commit, off the request
path (and by the sweeper if that fails), so the webhook answers fast.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.alert_intake import record_alerts
from api.deps import BearerSecret
from models.incidents import Source

router = APIRouter(prefix="/alerts", tags=["alerts"])


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


async def _handle(secret: str, items: list[dict]) -> AlertResult:
    recorded = await record_alerts(secret, items)
    return AlertResult(incident_ids=recorded.incident_ids, created=len(recorded.new_ids), updated=recorded.updated)


@router.post("/alertmanager", response_model=AlertResult)
async def alertmanager(payload: AlertmanagerPayload, secret: BearerSecret) -> AlertResult:
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
    return await _handle(secret, items)


@router.post("/webhook", response_model=AlertResult)
async def generic(alert: GenericAlert, secret: BearerSecret) -> AlertResult:
    """A generic monitoring alert (one per request)."""
    item = dict(fingerprint=f"{alert.source}:{alert.id}", firing=alert.status in ("firing", "problem"),
                title=alert.title, symptom=alert.description or alert.title, ci_names=[alert.ci] if alert.ci else [],
                source=Source.WEBHOOK, major=alert.severity.lower() in MAJOR_SEVERITIES, starts_at=alert.occurred_at)
    return await _handle(secret, [item])
