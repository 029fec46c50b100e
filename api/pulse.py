"""The system's pulse, watched from the API process (which does not depend on Prefect's scheduler).

A daemon thread takes a snapshot every PULSE_SECONDS: database, Prefect API, the last completed sweep
and its age, the outbox backlog, and open records whose flow run is no longer alive. `/health` answers
from the latest snapshot, so a load balancer's probe never waits on Prefect.

Dead-man's switch: when the sweep is late, admins are told once per outage (the dedupe key is the
last beat's time, so several API processes still send one message), and once when it is back.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from api.daemon import DaemonThread
from config.settings import get_settings
from models.changes.tables import ChangeRequest, ChangeStatus
from models.core.clock import utcnow
from models.core.db import get_engine
from models.core.heartbeat import SWEEPER, beat, judge_sweep, last_beat
from models.directory.roles import RoleKey
from models.incidents.tables import Incident, IncidentStatus
from models.outbox.tables import Notification, NotificationStatus
from notifications.outbox import enqueue
from notifications.sender import deliver

log = logging.getLogger(__name__)
PULSE_SECONDS = 5.0
OUTAGE = "sweeper-outage"  # heartbeat row naming the beat the current outage started after
DEAD_STATES = {"CRASHED", "FAILED", "CANCELLED", "COMPLETED"}

_snapshot: dict[str, Any] = {"status": "starting", "components": {}, "reasons": ["pulse not taken yet"]}
_lock = threading.Lock()
_started_at = utcnow()


def snapshot() -> dict[str, Any]:
    """The latest pulse (what /health reports besides its own database check)."""
    with _lock:
        return dict(_snapshot)


def _prefect_states(run_ids: list[str]) -> dict[str, str] | None:
    """State names of the given runs (missing runs are absent); None when Prefect does not answer."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():  # never let a client start an ephemeral server inside the API
        return None
    try:
        with get_client(sync_client=True) as client:
            client.api_healthcheck()
            if not run_ids:
                return {}
            runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(
                any_=[UUID(r) for r in run_ids])), limit=len(run_ids))
            return {str(r.id): r.state_type.value if r.state_type else "UNKNOWN" for r in runs}
    except Exception as exc:  # unreachable, auth, timeout: reported as the component's state
        log.warning("Prefect API check failed: %s", type(exc).__name__)
        return None


def _open_runs(session: Session) -> dict[str, str]:
    """flow run id -> record, for records whose run should be alive."""
    runs: dict[str, str] = {}
    for incident_id, run_id in session.exec(select(Incident.id, Incident.flow_run_id).where(
            Incident.status != IncidentStatus.CLOSED, col(Incident.flow_run_id).is_not(None))):
        runs[str(run_id)] = f"incident-{incident_id}"
    for change_id, run_id in session.exec(select(ChangeRequest.id, ChangeRequest.flow_run_id).where(
            ChangeRequest.status == ChangeStatus.IMPLEMENTING, col(ChangeRequest.flow_run_id).is_not(None))):
        runs[str(run_id)] = f"change-{change_id}"
    return runs


def take_pulse(now: datetime | None = None) -> dict[str, Any]:
    """Measure every component once and apply the dead-man's switch."""
    now = now or utcnow()
    settings = get_settings()
    reasons: list[str] = []
    components: dict[str, Any] = {}
    with Session(get_engine()) as session:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        components["database"] = {"status": "ok"}
        last = last_beat(session, SWEEPER)
        verdict = judge_sweep(last.beat_at if last else None, now, settings.sweep_interval_seconds, _started_at)
        components["sweeper"] = {
            "status": "ok" if verdict.healthy else "late", "reason": verdict.reason,
            "last_completed_at": last.beat_at.isoformat() if last else None,
            "age_seconds": None if verdict.age_seconds is None else round(verdict.age_seconds, 1),
            "interval_seconds": settings.sweep_interval_seconds}
        if not verdict.healthy:
            reasons.append(f"sweeper: {verdict.reason}")
        counts = dict(session.exec(select(Notification.status, func.count()).where(col(Notification.status).in_(
            [NotificationStatus.PENDING, NotificationStatus.FAILED, NotificationStatus.DEAD])).group_by(
            Notification.status)).all())
        components["outbox"] = {s.value: int(counts.get(s, 0)) for s in
                                (NotificationStatus.PENDING, NotificationStatus.FAILED, NotificationStatus.DEAD)}
        if components["outbox"]["dead"]:
            reasons.append(f"outbox: {components['outbox']['dead']} notifications gave up (GET /notifications)")
        expected = _open_runs(session)
        states = _prefect_states(list(expected))
        if states is None:
            components["prefect"] = {"status": "unreachable"}
            reasons.append("prefect: the Prefect API does not answer")
        else:
            components["prefect"] = {"status": "ok"}
            dead = sorted(f"{record} ({states.get(run_id, 'DELETED')})" for run_id, record in expected.items()
                          if states.get(run_id, "DELETED") in DEAD_STATES | {"DELETED"})
            components["runs"] = {"expected_alive": len(expected), "not_alive": dead}
            if dead:
                reasons.append(f"runs: {len(dead)} open records have no live flow run")
        _dead_mans_switch(session, verdict.healthy, last.beat_at if last else None, verdict.reason)
        session.commit()
    return {"status": "ok" if not reasons else "degraded", "components": components, "reasons": reasons,
            "checked_at": now.isoformat()}


def _dead_mans_switch(session: Session, healthy: bool, last: datetime | None, reason: str) -> None:
    """Tell admins once when the sweep stops and once when it is back."""
    outage = last_beat(session, OUTAGE)
    since = (last or _started_at).isoformat()
    if not healthy and outage is None:
        beat(session, OUTAGE, {"after": since})
        rows = enqueue(session, event="system.sweeper_late", dedupe_prefix=f"pulse:sweeper:down:{since}",
                       roles=[RoleKey.ADMIN], title="ITSS: the scheduled sweeper has stopped",
                       body=f"{reason}. Escalations, SLA breaches, notification retries and lost-run recovery "
                            "are on hold until it runs again. `itss status` shows every component.")
        _send_after_commit(session, rows)
    elif healthy and outage is not None and last is not None and last.isoformat() != outage.detail.get("after"):
        after = outage.detail.get("after", "")
        session.delete(outage)
        rows = enqueue(session, event="system.sweeper_back", dedupe_prefix=f"pulse:sweeper:up:{after}",
                       roles=[RoleKey.ADMIN], title="ITSS: the scheduled sweeper runs again",
                       body=f"A sweep completed at {last.isoformat()}; the backlog is being worked off.")
        _send_after_commit(session, rows)


def _send_after_commit(session: Session, rows: list[Notification]) -> None:
    session.commit()
    # The sweeper, which normally sends the outbox, is exactly what is missing: send these now.
    deliver([int(r.id) for r in rows if r.id is not None])


def _loop() -> None:
    while True:
        try:
            result = take_pulse()
        except Exception as exc:  # the database itself is down: say so, and keep watching
            log.warning("pulse failed: %s", type(exc).__name__)
            result = {"status": "degraded", "components": {"database": {"status": "unreachable"}},
                      "reasons": [f"database: {type(exc).__name__}"], "checked_at": utcnow().isoformat()}
        with _lock:
            _snapshot.clear()
            _snapshot.update(result)
        time.sleep(PULSE_SECONDS)


_watcher = DaemonThread("pulse", _loop)


def start_pulse() -> None:
    """Start watching (idempotent; the API's lifespan calls it)."""
    _watcher.ensure()
