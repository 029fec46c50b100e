"""The outbox's promises, on an explicit clock (models.core.clock): retries back off exactly, a row gives up
(dead) after MAX_ATTEMPTS and is never sent again, and a claim another live sender holds is never taken."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from models.directory.roles import RoleKey
from models.directory.service import create_person
from models.outbox.tables import MAX_ATTEMPTS, STALE_CLAIM, Notification, NotificationStatus, backoff
from notifications.outbox import enqueue
from notifications.sender import deliver, deliver_due, due_ids
from tests.support.net import Receiver, free_port

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def one_row(session: Session, url: str) -> Notification:
    create_person(session, name="li.qiang", roles=[RoleKey.ENGINEER], actor="test", notify_urls=[url])
    rows = enqueue(session, event="test", dedupe_prefix="rule:1", roles=[RoleKey.ENGINEER], title="t", body="b")
    session.commit()
    assert len(rows) == 1
    return rows[0]


def reread(session: Session, row_id: int) -> Notification:
    session.expire_all()
    return session.exec(select(Notification).where(Notification.id == row_id)).one()


def test_backoff_doubles_from_15_s_and_caps_at_30_min() -> None:
    assert [backoff(n).total_seconds() for n in range(1, 10)] == [15, 30, 60, 120, 240, 480, 960, 1800, 1800]
    assert backoff(0) == timedelta(seconds=15)


def test_a_failed_send_is_retried_exactly_after_its_backoff(session: Session,
                                                            frozen_clock: Callable[[datetime], datetime]) -> None:
    frozen_clock(T0)
    row = one_row(session, f"json://127.0.0.1:{free_port()}/hook")  # nothing listens: the send fails
    assert deliver_due().failed == 1
    failed = reread(session, row.id)
    assert failed.status == NotificationStatus.FAILED and failed.attempts == 1
    assert failed.next_attempt_at == T0 + timedelta(seconds=15)
    frozen_clock(T0 + timedelta(seconds=14))
    assert due_ids(session) == [] and deliver_due().failed == 0  # not yet
    frozen_clock(T0 + timedelta(seconds=15))
    assert due_ids(session) == [row.id] and deliver_due().failed == 1
    second = reread(session, row.id)
    assert second.attempts == 2 and second.next_attempt_at == T0 + timedelta(seconds=15 + 30)


def test_a_row_gives_up_after_max_attempts_and_is_never_sent_again(
        session: Session, frozen_clock: Callable[[datetime], datetime]) -> None:
    frozen_clock(T0)
    port = free_port()
    row = one_row(session, f"json://127.0.0.1:{port}/hook")
    row.attempts, row.status = MAX_ATTEMPTS - 2, NotificationStatus.FAILED
    session.add(row)
    session.commit()
    assert deliver_due().failed == 1
    assert reread(session, row.id).status == NotificationStatus.FAILED  # attempt MAX-1: still retried
    frozen_clock(T0 + timedelta(hours=1))
    assert deliver_due().failed == 1
    dead = reread(session, row.id)
    assert dead.status == NotificationStatus.DEAD and dead.attempts == MAX_ATTEMPTS and dead.last_error
    receiver = Receiver(port)  # the peer is back: a dead row stays dead, nobody is paged twice by accident
    try:
        frozen_clock(T0 + timedelta(days=2))
        assert due_ids(session) == [] and deliver_due().sent == 0 and deliver([row.id]).skipped == 1
        assert receiver.received == []
    finally:
        receiver.stop()


@pytest.mark.parametrize(("claimed_ago", "taken"), [
    (timedelta(seconds=1), False), (STALE_CLAIM - timedelta(seconds=1), False), (STALE_CLAIM, False),
    (STALE_CLAIM + timedelta(seconds=1), True)])
def test_a_claim_is_taken_over_only_once_it_is_stale(session: Session, frozen_clock: Callable[[datetime], datetime],
                                                     claimed_ago: timedelta, taken: bool) -> None:
    frozen_clock(T0)
    receiver = Receiver(free_port())
    try:
        row = one_row(session, f"json://127.0.0.1:{receiver.port}/hook")
        row.status, row.claimed_at = NotificationStatus.SENDING, T0 - claimed_ago  # another sender holds it
        session.add(row)
        session.commit()
        assert (row.id in due_ids(session)) is taken
        report = deliver([row.id])
        after = reread(session, row.id)
        if taken:  # its sender died mid-send: delivered at least once
            assert report.sent == 1 and after.status == NotificationStatus.SENT and len(receiver.received) == 1
        else:  # its sender is alive and sending: never twice
            assert report.skipped == 1 and report.sent == 0 and receiver.received == []
            assert after.status == NotificationStatus.SENDING and after.claimed_at == T0 - claimed_ago
    finally:
        receiver.stop()
