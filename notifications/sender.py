"""Deliver the outbox: claim a row atomically, send it, record sent or failed with backoff.

The claim (a conditional UPDATE) means two senders — a flow and the sweeper — never both send
the same row. A sender that dies mid-send leaves a stale claim that is retried after
STALE_CLAIM: delivery is at least once, and at most once while processes live.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from models.core.clock import utcnow
from models.core.db import get_engine
from models.core.rows import id_of
from models.directory.people import Person
from models.outbox.tables import MAX_ATTEMPTS, STALE_CLAIM, Notification, NotificationStatus, backoff
from notifications import channels
from notifications.signin import signin_line


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    sent: int = 0
    failed: int = 0
    skipped: int = 0


def due_ids(session: Session, limit: int = 200) -> list[int]:
    """Rows ready to send: pending or failed and due, or claimed long ago by a dead sender."""
    now = utcnow()
    query = (
        select(id_of(Notification))
        .where(
            or_(
                col(Notification.status).in_([NotificationStatus.PENDING, NotificationStatus.FAILED])
                & (Notification.next_attempt_at <= now),
                (col(Notification.status) == NotificationStatus.SENDING)
                & (col(Notification.claimed_at) < now - STALE_CLAIM),
            )
        )
        .order_by(col(Notification.id))
        .limit(limit)
    )
    return list(session.exec(query))


def _claim(session: Session, notification_id: int) -> bool:
    now = utcnow()
    result = session.exec(  # type: ignore[call-overload]
        update(Notification)
        .where(
            col(Notification.id) == notification_id,
            or_(
                col(Notification.status).in_([NotificationStatus.PENDING, NotificationStatus.FAILED]),
                (col(Notification.status) == NotificationStatus.SENDING)
                & (col(Notification.claimed_at) < now - STALE_CLAIM),
            ),
        )
        .values(status=NotificationStatus.SENDING, claimed_at=now)
    )
    session.commit()
    return result.rowcount == 1


def _target(session: Session, recipient: str) -> tuple[list[str], str | None]:
    kind, _, ref = recipient.partition(":")
    if kind == "tag":
        return [], ref
    person = session.get(Person, int(ref))
    urls = [u.strip() for u in (person.notify_urls if person else "").splitlines() if u.strip()]
    return urls, None


def deliver(ids: Iterable[int]) -> DeliveryReport:
    """Send each claimable row of `ids`; a failure is recorded on its row and never raised."""
    report = DeliveryReport()
    with Session(get_engine(), expire_on_commit=False) as session:
        for notification_id in ids:
            if not _claim(session, notification_id):
                report.skipped += 1
                continue
            row = session.get(Notification, notification_id)
            assert row is not None
            urls, tag = _target(session, row.recipient)
            body = row.body
            if row.gate_id is not None and row.recipient.startswith("person:") and urls:
                # Only a person's own channel carries a sign-in link (fresh per send, never stored in the
                # outbox); shared role/group channels get the page link alone.
                body += "\n\n" + signin_line(session, int(row.recipient.partition(":")[2]), f"gate:{row.gate_id}")
                session.commit()  # never hold the database's write lock while a channel is slow to answer
            try:
                ok, error = channels.send(urls, tag, row.title, body)
            except Exception as exc:  # a broken plugin must not stop the other rows
                ok, error = False, channels.mask(f"{type(exc).__name__}: {exc}", urls)
            row.attempts += 1
            if ok:
                row.status, row.sent_at, row.last_error = NotificationStatus.SENT, utcnow(), None
                report.sent += 1
            else:
                dead = row.attempts >= MAX_ATTEMPTS
                row.status = NotificationStatus.DEAD if dead else NotificationStatus.FAILED
                row.last_error = error
                row.next_attempt_at = utcnow() + backoff(row.attempts)
                report.failed += 1
            row.claimed_at = None
            session.add(row)
            session.commit()
    return report


def deliver_due(limit: int = 200) -> DeliveryReport:
    """One pass over everything due (the sweeper calls this)."""
    with Session(get_engine()) as session:
        ids = due_ids(session, limit)
    return deliver(ids)
