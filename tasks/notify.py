"""Tell roles about a process event through the outbox: enqueued once per dedupe key, sent now,
retried by the sweeper when a channel fails."""

from __future__ import annotations

from models.core.db import session_scope
from models.core.rows import stored_id
from models.directory.roles import RoleKey
from notifications.outbox import enqueue
from notifications.render import render
from notifications.sender import deliver


def announce(*, event: str, dedupe_prefix: str, roles: list[RoleKey], title: str, body: str,
             contract_id: int | None = None, link: str | None = None) -> int:
    """Queue one message per recipient of `roles` (once per `dedupe_prefix`) and try to send it; the number sent."""
    with session_scope() as session:
        subject, text = render("generic", title=title, body=body, link=link)
        rows = enqueue(session, event=event, dedupe_prefix=dedupe_prefix, roles=roles, title=subject, body=text,
                       contract_id=contract_id)
        ids = [stored_id(row) for row in rows]
    return deliver(ids).sent
