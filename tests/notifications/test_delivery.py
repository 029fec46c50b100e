"""The outbox against real receivers on loopback: HTTP (json://), SMTP (aiosmtpd), Apprise config tags."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models.core.clock import utcnow
from models.directory.roles import RoleKey
from models.directory.service import create_person
from models.outbox.tables import Notification, NotificationStatus
from notifications import channels
from notifications.outbox import enqueue
from notifications.sender import deliver_due
from tests.support.net import Receiver, free_port

SECRET = "Sup3rS3cretT0ken"


class Mailbox:
    """aiosmtpd handler keeping every message."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's naming
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, mailbox
    controller.stop()


def engineer(session: Session, urls: list[str]) -> int:
    person = create_person(session, name="li.qiang", roles=[RoleKey.ENGINEER], actor="test", notify_urls=urls)
    session.commit()
    return person.id


def notify_engineers(session: Session, key: str = "test:1") -> list[Notification]:
    rows = enqueue(session, event="test", dedupe_prefix=key, roles=[RoleKey.ENGINEER],
                   title="磁盘告警 db-srv-01", body="/data 使用率 **93%**")
    session.commit()
    return rows


def test_http_and_smtp_receive_and_enqueue_is_idempotent(session: Session, smtp) -> None:
    smtp_port, mailbox = smtp
    receiver = Receiver(free_port())
    try:
        engineer(session, [f"json://127.0.0.1:{receiver.port}/hook",
                           f"mailto://127.0.0.1:{smtp_port}?from=itss@example.org&to=oncall@example.org"])
        assert len(notify_engineers(session)) == 1
        assert notify_engineers(session) == []  # same dedupe key: nothing new
        report = deliver_due()
        errors = [n.last_error for n in session.exec(select(Notification)).all()]
        assert (report.sent, report.failed) == (1, 0), errors
        assert receiver.received[0]["title"] == "磁盘告警 db-srv-01"
        assert "93%" in receiver.received[0]["message"]
        assert len(mailbox.messages) == 1 and b"db-srv-01" in mailbox.messages[0]
        assert deliver_due().sent == 0  # nothing sent twice
    finally:
        receiver.stop()


def test_receiver_down_then_back_delivers_each_once(session: Session, client: TestClient, headers) -> None:
    port = free_port()
    engineer(session, [f"json://ops:{SECRET}@127.0.0.1:{port}/hook/{SECRET}"])
    for i in range(3):
        notify_engineers(session, key=f"test:{i}")
    report = deliver_due()
    assert (report.sent, report.failed) == (0, 3)
    rows = session.exec(select(Notification)).all()
    assert {r.status for r in rows} == {NotificationStatus.FAILED}
    assert all(r.attempts == 1 and r.next_attempt_at > utcnow() for r in rows)
    assert all(SECRET not in (r.last_error or "") for r in rows)
    listed = client.get("/notifications?status=failed", headers=headers[RoleKey.OPS_MANAGER])
    assert len(listed.json()) == 3 and SECRET not in listed.text
    assert deliver_due().failed == 0  # backoff: not due yet

    receiver = Receiver(port)
    try:
        for row in rows:  # the backoff has passed
            row.next_attempt_at = utcnow()
            session.add(row)
        session.commit()
        assert deliver_due().sent == 3
        assert deliver_due().sent == 0
        assert sorted(r["title"] for r in receiver.received) == ["磁盘告警 db-srv-01"] * 3
    finally:
        receiver.stop()
    session.expire_all()
    assert {r.status for r in session.exec(select(Notification)).all()} == {NotificationStatus.SENT}


def test_apprise_config_tags_route_by_role(session: Session, tmp_path: Path, monkeypatch) -> None:
    receiver = Receiver(free_port())
    config = tmp_path / "apprise.yml"
    config.write_text(f"urls:\n  - json://127.0.0.1:{receiver.port}/engineers:\n      tag: engineer\n"
                      f"  - json://127.0.0.1:{receiver.port}/leaders:\n      tag: leadership\n")
    monkeypatch.setenv("ITSS_APPRISE_CONFIG", str(config))
    from config.settings import get_settings

    get_settings.cache_clear()
    channels._config.cache_clear()
    try:
        rows = notify_engineers(session)
        assert [r.recipient for r in rows] == ["tag:engineer"]
        assert deliver_due().sent == 1
        assert len(receiver.received) == 1  # the leadership URL was not called
    finally:
        receiver.stop()
        monkeypatch.delenv("ITSS_APPRISE_CONFIG")
        get_settings.cache_clear()
        channels._config.cache_clear()


def test_mask_removes_secrets_from_text() -> None:
    url = f"dingtalk://{SECRET}abc/{SECRET}xyz"
    text = f"Failed to send to {url}: 401 for token {SECRET}abc"
    masked = channels.mask(text, [url])
    assert SECRET not in masked and "dingtalk://****" in masked
