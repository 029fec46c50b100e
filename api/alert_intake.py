"""The alert writer: one thread stores monitoring alerts in the inbox in batches, one commit per batch.

An alert storm is hundreds of small writes a second. Request threads each running their own SQLite
transaction spend their time queueing for the one writer lock and the GIL; here requests queue
instead (the event loop never touches the database), and the writer takes whatever has queued,
authenticates it (once per token and batch), inserts every alert of every request in one
statement, commits, and answers each request with its alert ids or its own 401/403. A request is
answered only after its commit, so a 202 always means stored. What an alert does to incidents is
the alert processor's work (`api/alert_processor.py`), woken after each commit.
"""

from __future__ import annotations

import asyncio
import logging
import queue
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from api.alert_processor import wake_processor
from api.daemon import DaemonThread
from api.deps import Caller, caller_for, check_roles
from models.core.clock import utcnow
from models.core.db import begin_write, get_engine, serialized_writes
from models.core.rows import id_of
from models.directory.roles import RoleKey
from models.incidents.alert_inbox import InboxAlert

log = logging.getLogger(__name__)
MAX_BATCH = 256
# Monitors post with a token of a service account holding the service-desk (or engineer) role.
MONITOR_ROLES = (RoleKey.SERVICE_DESK, RoleKey.ENGINEER)


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
        self._thread = DaemonThread("itss-alert-writer", self._run)

    async def store(self, secret: str, items: list[dict]) -> list[int]:
        """Store one request's alerts under its token; their inbox ids, or the request's HTTP 401/403."""
        loop = asyncio.get_running_loop()
        job = _Job(secret, items, loop, loop.create_future())
        self._thread.ensure()
        self._queue.put(job)
        return await job.future

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
            wake_processor()
            for job, outcome in zip(batch, outcomes, strict=True):
                job.loop.call_soon_threadsafe(_settle, job.future, outcome)

    @staticmethod
    def _write(batch: list[_Job]) -> list[list[int] | Exception]:
        callers: dict[str, Caller | Exception] = {}
        outcomes: list[list[int] | Exception] = []
        rows: list[dict[str, Any]] = []
        now = utcnow()
        with serialized_writes(), Session(get_engine(), expire_on_commit=False) as session:
            begin_write(session)
            for job in batch:
                if job.secret not in callers:
                    try:
                        callers[job.secret] = check_roles(caller_for(session, job.secret, commit=False), MONITOR_ROLES)
                    except Exception as exc:  # 401/403: this request fails alone
                        callers[job.secret] = exc
                caller = callers[job.secret]
                if isinstance(caller, Exception):
                    outcomes.append(caller)
                    continue
                outcomes.append([])
                rows.extend(_row(item, caller.actor, now) for item in job.items)
            ids = (
                list(session.scalars(
                    insert(InboxAlert).returning(id_of(InboxAlert), sort_by_parameter_order=True), rows))
                if rows
                else []
            )
            session.commit()
        position = iter(ids)
        for job, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, list):
                outcome.extend(next(position) for _ in job.items)
        return outcomes


def _row(item: dict, actor: str, now) -> dict[str, Any]:
    starts_at = item["starts_at"]
    return {
        "received_at": now,
        "actor": actor,
        "source": item["source"],
        "fingerprint": item["fingerprint"],
        "firing": item["firing"],
        "status": "pending",
        "created": False,
        "truncated": item.get("truncated", 0),
        "alert": {
            "title": item["title"],
            "symptom": item["symptom"],
            "ci_names": item["ci_names"],
            "major": item["major"],
            "starts_at": starts_at.isoformat() if starts_at else None,
            "external_url": item.get("external_url"),
        },
    }


def _settle(future: asyncio.Future, outcome: Any) -> None:
    if future.done():  # the client went away and the request was cancelled
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


_writer = AlertWriter()


async def store_alerts(secret: str, items: list[dict]) -> list[int]:
    """Store one request's alerts in the inbox through the process's alert writer; their ids."""
    return await _writer.store(secret, items)
