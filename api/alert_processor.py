"""The alert processor: pending inbox alerts, in arrival order, become incident updates.

One thread per API process, woken by the alert writer after each commit and every few seconds
anyway (alerts a restarted or another process left pending). Batches are small so the SQLite write
lock is never held long against the writer answering webhooks; on PostgreSQL a transaction-scoped
advisory lock keeps one processor at a time, so a fingerprint's firing and resolved alerts apply in
order. An alert that fails is marked `failed` with its error and kept; the rest of the batch goes on.
Flow runs of new incidents start after the commit, on the dispatcher (`itss/runs.py`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from api.daemon import DaemonThread
from itss.runs import dispatch_soon
from models.core.clock import utcnow
from models.core.db import begin_write, get_engine, serialized_writes
from models.core.rows import stored_id
from models.directory.roles import RoleKey
from models.incidents.alert_inbox import AlertStatus, InboxAlert
from models.incidents.dispatch import claim_new
from models.incidents.service import count_alerts, note_repeat, open_alert_incident
from models.incidents.tables import Incident, IncidentStatus, log_event
from notifications.outbox import enqueue

log = logging.getLogger(__name__)
# A batch holds the database's one write lock, which the webhook writer needs too: it stops after
# 64 alerts or 10 ms of work, and the processor pauses as long between batches.
BATCH = 64
BUDGET_SECONDS = 0.010
POLL_SECONDS = 2.0
ADVISORY_LOCK = 0x17550001  # PostgreSQL: one alert processor at a time across processes and hosts


def process_batch(limit: int = BATCH, budget: float = BUDGET_SECONDS) -> tuple[int, list[tuple[int, str]]]:
    """Apply pending alerts in arrival order in one transaction, stopping after `limit` alerts or
    `budget` seconds; (how many were taken, new incident ids). If the batch fails as a whole it is
    applied again alert by alert, each in a savepoint, so one bad alert fails alone."""
    try:
        return _batch(limit, budget, careful=False)
    except Exception:
        log.warning("alert batch failed; applying it alert by alert", exc_info=True)
        return _batch(limit, budget, careful=True)


def _batch(limit: int, budget: float, *, careful: bool) -> tuple[int, list[tuple[int, str]]]:
    new: list[tuple[int, str]] = []
    with serialized_writes(), Session(get_engine(), expire_on_commit=False) as session:
        begin_write(session)
        if session.get_bind().dialect.name == "postgresql" and not session.scalar(
                select(func.pg_try_advisory_xact_lock(ADVISORY_LOCK))):
            return 0, []  # another process is at it
        rows = session.exec(select(InboxAlert).where(InboxAlert.status == AlertStatus.PENDING)
                            .order_by(col(InboxAlert.id)).limit(limit)).all()
        # Repeats are most of a storm: their open incidents are read once a batch and their counts
        # added with one UPDATE each, instead of a query and an update per alert.
        fingerprints = {row.fingerprint for row in rows}
        open_incidents = {i.fingerprint: i for i in session.exec(select(Incident).where(
            col(Incident.fingerprint).in_(fingerprints), Incident.status != IncidentStatus.CLOSED))
            if i.fingerprint is not None}  # always set: matched on it
        counts: Counter[int] = Counter()
        deadline = time.monotonic() + budget
        taken = 0
        for row in rows:
            if careful:
                _apply_alone(session, row, open_incidents, counts, new)
            else:
                _apply(session, row, open_incidents, counts, new)
            row.processed_at = utcnow()
            session.add(row)
            taken += 1
            if time.monotonic() > deadline:
                break
        by_id = {i.id: i for i in open_incidents.values()}
        for incident_id, n in counts.items():
            count_alerts(session, by_id[incident_id], n)
        session.commit()
    return taken, new


def _apply(session: Session, row: InboxAlert, open_incidents: dict[str, Incident], counts: Counter[int],
           new: list[tuple[int, str]]) -> None:
    incident = open_incidents.get(row.fingerprint)
    created = False
    if incident is not None:
        if note_repeat(session, incident, firing=row.firing, actor=row.actor):
            counts[stored_id(incident)] += 1
    elif row.firing:
        alert = row.alert
        incident, created = open_alert_incident(
            session, fingerprint=row.fingerprint, title=alert["title"], symptom=alert["symptom"],
            ci_names=alert["ci_names"], source=row.source, actor=row.actor, major=alert["major"],
            starts_at=datetime.fromisoformat(alert["starts_at"]) if alert["starts_at"] else None,
            received_at=row.received_at)
        open_incidents[row.fingerprint] = incident
        if created:  # (if another writer opened it meanwhile, record_alert counted this alert on it)
            new.append((stored_id(incident), claim_new(incident)))
    row.status, row.created = AlertStatus.PROCESSED, created
    row.incident_id = stored_id(incident) if incident is not None else None
    if row.truncated and incident is not None:
        note_truncation(session, incident, row)


def note_truncation(session: Session, incident: Incident, row: InboxAlert) -> None:
    """The monitor left alerts of this group out and they could not be fetched: say so on the incident, on its
    timeline, and to the service desk, who must look in the monitor for the rest."""
    incident.alerts_truncated = max(incident.alerts_truncated, row.truncated)
    session.add(incident)
    log_event(session, stored_id(incident), actor=row.actor, kind="alerts_truncated",
              detail=f"the monitor left {row.truncated} alert(s) of this group out of its notification and they "
                     "could not be fetched from it; look in the monitor for them", data={"alert_id": row.id})
    enqueue(session, event="alerts.truncated", dedupe_prefix=f"alert:{row.id}:truncated",
            roles=[RoleKey.SERVICE_DESK], title=f"{row.truncated} alert(s) missing from a monitor's notification",
            body=f"Incident {incident.id} ({incident.title}) came with a notification that left {row.truncated} "
                 f"alert(s) out (Alertmanager max_alerts), and the monitor's API could not be reached to fetch "
                 f"them. Check the monitor ({row.alert.get('external_url') or 'its UI'}) and report them.",
            contract_id=incident.contract_id)


def _apply_alone(session: Session, row: InboxAlert, open_incidents: dict[str, Incident], counts: Counter[int],
                 new: list[tuple[int, str]]) -> None:
    # State is local until the savepoint holds: a rolled-back alert leaves nothing behind.
    mine_new: list[tuple[int, str]] = []
    mine_open, mine_counts = dict(open_incidents), Counter[int]()
    try:
        with session.begin_nested():
            _apply(session, row, mine_open, mine_counts, mine_new)
    except Exception as exc:  # this alert alone: kept with its error, visible in GET /alerts?status=failed
        log.exception("alert %s could not be applied", row.id)
        row.status, row.error, row.incident_id, row.created = (AlertStatus.FAILED,
                                                               f"{type(exc).__name__}: {exc}"[:2000], None, False)
        return
    open_incidents.update(mine_open)
    counts.update(mine_counts)
    new.extend(mine_new)


def drain() -> int:
    """Process every pending alert now; how many were taken."""
    total = 0
    while True:
        taken, new = process_batch()
        for incident_id, claim in new:
            dispatch_soon(incident_id, holding=claim)
        total += taken
        if taken == 0:
            return total
        # Neither threading.Lock nor SQLite's busy handler is fair: without a pause this loop takes
        # the write lock straight back, and webhook requests queue behind the whole backlog.
        time.sleep(BUDGET_SECONDS)


class AlertProcessor:
    """The processing thread (started on first wake, one per process)."""

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = DaemonThread("itss-alert-processor", self._run)

    def wake(self) -> None:
        self._stopping.clear()
        self._thread.ensure()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand and end the thread (the API's shutdown); pending alerts stay pending."""
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                drain()
            except Exception:  # database away: the rows stay pending, try again later
                log.exception("alert processing failed; retrying in %.0f s", POLL_SECONDS)
                time.sleep(POLL_SECONDS)


_processor = AlertProcessor()


def wake_processor() -> None:
    """Have this process's alert processor look for pending alerts now."""
    _processor.wake()


def stop_processor() -> None:
    """Stop this process's alert processor (at shutdown: no transaction outlives the app)."""
    _processor.stop()
