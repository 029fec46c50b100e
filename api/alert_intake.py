"""The alert writer: one thread records monitoring alerts in batches, one commit per batch.

An alert storm is hundreds of small writes a second. Forty request threads each running its own
SQLite transaction spend their time queueing for the one writer lock and the GIL; here requests
queue instead (the event loop never touches the database), the writer takes whatever has queued
— authentication included — records it in one transaction with a savepoint per request, commits,
and answers each request with its own result or error. A request is answered only after its
commit, so a 200 always means stored. Under light load a batch is one request.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException
from sqlmodel import Session

from api.deps import Caller, caller_for, check_roles
from itss.runs import dispatch_soon
from models.db import begin_write, get_engine, serialized_writes
from models.incident_service import record_alert
from models.roles import RoleKey

log = logging.getLogger(__name__)
MAX_BATCH = 256
# Monitors post with a token of a service account holding the service-desk (or engineer) role.
MONITOR_ROLES = (RoleKey.SERVICE_DESK, RoleKey.ENGINEER)


@dataclass
class AlertsRecorded:
    """What one request's alerts did: the incidents they are on, and which of those are new."""

    incident_ids: list[int] = field(default_factory=list)
    new_ids: list[int] = field(default_factory=list)
    updated: int = 0


@dataclass
class _Job:
    secret: str
    items: list[dict]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future


class AlertWriter:
    """A queue in front of one writer thread (started on first use, one per process)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    async def record(self, secret: str, items: list[dict]) -> AlertsRecorded:
        """Record one request's alerts under its token; raises the request's HTTP 401/403 or error."""
        loop = asyncio.get_running_loop()
        job = _Job(secret, items, loop, loop.create_future())
        self._ensure_thread()
        self._queue.put(job)
        return await job.future

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="itss-alert-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                outcomes = self._write(batch)
            except Exception as exc:  # the database is unusable now: every request in it gets the error
                log.exception("alert batch of %d failed", len(batch))
                outcomes = [exc] * len(batch)
            for job, outcome in zip(batch, outcomes, strict=True):
                job.loop.call_soon_threadsafe(_settle, job.future, outcome)
                if isinstance(outcome, AlertsRecorded):
                    for incident_id in outcome.new_ids:  # repeats already have their run
                        dispatch_soon(incident_id)

    def _write(self, batch: list[_Job]) -> list[AlertsRecorded | Exception]:
        # BEGIN IMMEDIATE takes SQLite's write lock before the first read, waiting on the busy
        # timeout: no stale snapshot to fail on, so no retry loop.
        callers: dict[str, Caller] = {}  # one authentication per token and batch
        with serialized_writes(), Session(get_engine(), expire_on_commit=False) as session:
            begin_write(session)
            outcomes = [self._one(session, job, callers) for job in batch]
            session.commit()
        return outcomes

    @staticmethod
    def _one(session: Session, job: _Job, callers: dict[str, Caller]) -> AlertsRecorded | Exception:
        try:
            caller = callers.get(job.secret)
            if caller is None:
                caller = callers[job.secret] = check_roles(caller_for(session, job.secret, commit=False),
                                                           MONITOR_ROLES)
            recorded = AlertsRecorded()
            with session.begin_nested():  # one request's alerts stand or fall together
                for item in job.items:
                    incident, new = record_alert(session, actor=caller.actor, **item)
                    if incident is None:
                        continue
                    recorded.incident_ids.append(int(incident.id))
                    if new:
                        recorded.new_ids.append(int(incident.id))
                    else:
                        recorded.updated += 1
            return recorded
        except Exception as exc:  # this request fails alone; the rest of the batch still commits
            if not isinstance(exc, HTTPException):
                log.exception("alert request failed")
            return exc


def _settle(future: asyncio.Future, outcome: Any) -> None:
    if future.done():  # the client went away and the request was cancelled
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


_writer = AlertWriter()


async def record_alerts(secret: str, items: list[dict]) -> AlertsRecorded:
    """Record one request's alerts through the process's alert writer."""
    return await _writer.record(secret, items)
