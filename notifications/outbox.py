"""Enqueue notifications by role: one outbox row per recipient, idempotent on a dedupe key."""

from __future__ import annotations

from sqlmodel import Session, select

from models.core.clock import utcnow
from models.directory.roles import RoleKey
from models.directory.service import on_duty
from models.outbox.tables import Notification
from notifications.channels import config_tags


def recipients_for(session: Session, role: RoleKey, contract_id: int | None = None) -> list[str]:
    """Who hears about `role`'s work now: on-duty people with channels, and the config tag for the role."""
    found = [
        f"person:{person.id}"
        for person in on_duty(session, role=role, at=utcnow(), contract_id=contract_id)
        if person.notify_urls.strip()
    ]
    if role.value in config_tags():
        found.append(f"tag:{role.value}")
    return found


def enqueue(
    session: Session,
    *,
    event: str,
    dedupe_prefix: str,
    roles: list[RoleKey],
    title: str,
    body: str,
    gate_id: int | None = None,
    contract_id: int | None = None,
) -> list[Notification]:
    """Add one row per recipient of `roles`; a row whose dedupe key exists is not added again."""
    rows: list[Notification] = []
    seen: set[str] = set()
    for role in roles:
        for recipient in recipients_for(session, role, contract_id):
            if recipient in seen:
                continue
            seen.add(recipient)
            key = f"{dedupe_prefix}:{recipient}"
            if session.exec(select(Notification.id).where(Notification.dedupe_key == key)).first() is not None:
                continue
            row = Notification(dedupe_key=key, event=event, recipient=recipient, role=role.value,
                               title=title, body=body, gate_id=gate_id)
            session.add(row)
            rows.append(row)
    session.flush()
    return rows
