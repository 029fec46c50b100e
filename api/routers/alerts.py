"""/alerts: monitoring webhooks. Alertmanager (payload version 4) and a generic JSON mapping.

A payload is validated whole before anything is written; its alerts are then stored in the alert
inbox by the alert writer (`api/alert_intake.py`, concurrent requests batched into one commit) and
the answer is 202 with their ids. The alert processor (`api/alert_processor.py`) applies them in
arrival order moments later: deduplicated by fingerprint, firing opens an incident or counts on the
open one; resolved notes it on the timeline (closing still needs the requester's consent). Flow runs
of new incidents start after that, on the dispatcher (and by the sweeper if that fails).
`GET /alerts/{id}` tells what became of an alert.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlmodel import col, select

from api.alert_intake import store_alerts
from api.alertmanager_fetch import fetch_group
from api.deps import BearerSecret, CurrentCaller, SessionDep, load_visible
from api.limits import too_large
from config.settings import get_settings
from models.core.types import Id
from models.incidents.alert_inbox import AlertStatus, InboxAlert
from models.incidents.tables import Source
from models.tenancy import visible

router = APIRouter(prefix="/alerts", tags=["alerts"])


class AlertmanagerAlert(BaseModel):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = {}
    startsAt: datetime  # noqa: N815 - Alertmanager's field names
    endsAt: datetime | None = None  # noqa: N815
    generatorURL: str = ""  # noqa: N815
    fingerprint: str = Field(min_length=1, max_length=150)


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

    source: str = Field(min_length=1, max_length=40, description="e.g. zabbix, grafana")
    id: str = Field(min_length=1, max_length=150, description="stable id of the problem, for deduplication")
    status: Literal["firing", "resolved", "problem", "ok"]
    title: str = Field(min_length=1, max_length=300)
    ci: str | None = Field(default=None, description="CI name, hostname or IP")
    severity: str = "warning"
    description: str = ""
    occurred_at: datetime | None = None


class AlertsAccepted(BaseModel):
    accepted: int
    alert_ids: list[Id] = Field(description="GET /alerts/{id} tells what each did")


# Monitors write long annotations; an incident keeps what fits (the whole alert stays in the inbox).
TITLE_MAX, SYMPTOM_MAX = 300, 4000
MAJOR_SEVERITIES = {"critical", "page", "disaster", "high", "emergency"}
CI_LABELS = ("ci", "host", "hostname", "instance", "node", "device")


def _ci_names(labels: dict[str, str]) -> list[str]:
    for key in CI_LABELS:
        if labels.get(key):
            value = labels[key]
            host = value.rsplit(":", 1)[0] if value.count(":") == 1 else value  # drop an exporter port
            return [host]
    return []


async def _handle(secret: str, items: list[dict]) -> AlertsAccepted:
    most = get_settings().max_alerts_per_request
    if len(items) > most:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, too_large(
            "alerts", most, "alerts", "split them over several posts (Alertmanager: lower max_alerts in the "
            "receiver), or raise ITSS_MAX_ALERTS_PER_REQUEST")["detail"])
    ids = await store_alerts(secret, items)
    return AlertsAccepted(accepted=len(ids), alert_ids=ids)


@router.post("/alertmanager", response_model=AlertsAccepted, status_code=202)
async def alertmanager(payload: AlertmanagerPayload, secret: BearerSecret) -> AlertsAccepted:
    """Prometheus Alertmanager webhook (configure `http_config.authorization.credentials` with a token).
    Alerts a truncated notification left out (`truncatedAlerts`) are fetched from the Alertmanager's API v2
    (`externalURL`); if that fails, the incident and GET /alerts show how many are missing and the desk is told."""
    alerts, missing = list(payload.alerts), 0
    if payload.truncatedAlerts > 0:
        fetched = await fetch_group(payload.externalURL, payload.groupLabels, payload.receiver)
        if fetched is None:
            missing = payload.truncatedAlerts
        else:
            known = {a.fingerprint for a in alerts}
            extra = [AlertmanagerAlert(status="firing", labels=a.get("labels") or {},
                                       annotations=a.get("annotations") or {}, startsAt=a["startsAt"],
                                       generatorURL=a.get("generatorURL") or "", fingerprint=a["fingerprint"])
                     for a in fetched if a["fingerprint"] not in known]
            alerts += extra
            missing = max(payload.truncatedAlerts - len(extra), 0)
    items = []
    for alert in alerts:
        labels = {**payload.commonLabels, **alert.labels}
        annotations = {**payload.commonAnnotations, **alert.annotations}
        title = annotations.get("summary") or labels.get("alertname", "alert")
        items.append(dict(fingerprint=f"alertmanager:{alert.fingerprint}", firing=alert.status == "firing",
                          title=title[:TITLE_MAX], symptom=annotations.get("description", title)[:SYMPTOM_MAX],
                          ci_names=_ci_names(labels),
                          source=Source.ALERTMANAGER, major=labels.get("severity", "").lower() in MAJOR_SEVERITIES,
                          starts_at=alert.startsAt))
    if missing:  # on the first firing alert: its incident carries the count and the desk hears of it once
        first = next((i for i in items if i["firing"]), items[0])
        first["truncated"], first["external_url"] = missing, payload.externalURL
    return await _handle(secret, items)


@router.post("/webhook", response_model=AlertsAccepted, status_code=202)
async def generic(alert: GenericAlert, secret: BearerSecret) -> AlertsAccepted:
    """A generic monitoring alert (one per request)."""
    item = dict(fingerprint=f"{alert.source}:{alert.id}", firing=alert.status in ("firing", "problem"),
                title=alert.title, symptom=(alert.description or alert.title)[:SYMPTOM_MAX],
                ci_names=[alert.ci] if alert.ci else [],
                source=Source.WEBHOOK, major=alert.severity.lower() in MAJOR_SEVERITIES, starts_at=alert.occurred_at)
    return await _handle(secret, [item])


class AlertPublic(BaseModel):
    id: int
    received_at: datetime
    source: Source
    fingerprint: str
    firing: bool
    status: AlertStatus
    incident_id: Id | None
    created: bool
    error: str | None
    processed_at: datetime | None
    truncated: int = Field(default=0, description="alerts of its group the monitor left out and that could not be "
                                                  "fetched from it")


@router.get("", response_model=list[AlertPublic])
def list_alerts(session: SessionDep, caller: CurrentCaller,
                status_: Annotated[AlertStatus | None, Query(alias="status")] = None, fingerprint: str | None = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[InboxAlert]:
    """Received alerts, newest first: `status=failed` lists those that could not be applied."""
    query = select(InboxAlert).where(visible(caller.scope, InboxAlert)).order_by(col(InboxAlert.id).desc()).limit(limit)
    if status_ is not None:
        query = query.where(InboxAlert.status == status_)
    if fingerprint is not None:
        query = query.where(InboxAlert.fingerprint == fingerprint)
    return list(session.exec(query))


@router.get("/{alert_id}", response_model=AlertPublic)
def get_alert(alert_id: Id, session: SessionDep, caller: CurrentCaller) -> InboxAlert:
    """One received alert: pending, or the incident it landed on (`created` if it opened it), or its error."""
    return load_visible(session, caller, InboxAlert, alert_id, "alert")
