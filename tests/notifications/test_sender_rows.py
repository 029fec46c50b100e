"""One delivery pass row by row, against a real webhook receiver on loopback: what each recipient reads,
what the pass reports, and that one broken row or channel never stops the others."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import Session, select

from models.directory.roles import RoleKey
from models.directory.service import create_person
from models.directory.signin import SigninLink
from models.outbox.tables import Notification, NotificationStatus
from notifications import channels
from notifications.sender import deliver
from tests.support.net import Receiver, free_port


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver(free_port())
    yield found
    found.stop()


def person(session: Session, receiver: Receiver, path: str) -> int:
    created = create_person(session, name=f"p{path}", roles=[RoleKey.ENGINEER], actor="test",
                            notify_urls=[f"json://127.0.0.1:{receiver.port}/{path}"])
    session.commit()
    return created.id


def row(session: Session, key: str, recipient: str, title: str, body: str, gate_id: int | None = None) -> int:
    added = Notification(dedupe_key=key, event="test", recipient=recipient, role="engineer", title=title,
                         body=body, gate_id=gate_id)
    session.add(added)
    session.commit()
    return added.id


def test_only_a_gate_notice_to_a_persons_own_channel_carries_a_sign_in_link(
        session: Session, receiver: Receiver) -> None:
    oncall = person(session, receiver, "oncall")
    gate_notice = row(session, "g", f"person:{oncall}", "Acknowledge INC-7", "Respond within 10 min", gate_id=42)
    plain = row(session, "p", f"person:{oncall}", "Weekly report", "All green")
    report = deliver([gate_notice, plain])
    assert (report.sent, report.failed, report.skipped) == (2, 0, 0)

    bodies = {m["title"]: m["message"] for m in receiver.messages("/oncall")}
    first, _, link = bodies["Acknowledge INC-7"].partition("\n\n")
    assert first == "Respond within 10 min"  # the stored body, then the link after a blank line
    assert link.startswith("Sign in without a token (one-time link, valid") and "/ui/login/link/" in link
    assert bodies["Weekly report"] == "All green"
    links = session.exec(select(SigninLink)).all()
    assert [(s.person_id, s.purpose) for s in links] == [(oncall, "gate:42")]  # one, for that person and gate
    session.expire_all()
    stored = session.get(Notification, gate_notice)
    assert stored.body == "Respond within 10 min" and "/ui/login/link/" not in stored.body  # never kept


def test_a_pass_counts_each_outcome_and_goes_on_after_a_skipped_or_failed_row(
        session: Session, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = person(session, receiver, "first"), person(session, receiver, "second")
    done = row(session, "done", f"person:{first}", "already sent", "x")
    session.get(Notification, done).status = NotificationStatus.SENT
    session.commit()
    broken = row(session, "broken", f"person:{first}", "breaks the plugin", "x")
    fine = [row(session, f"ok{n}", f"person:{second}", f"fine {n}", "x") for n in range(2)]
    real_send = channels.send

    def send(urls: list[str], tag: str | None, title: str, body: str) -> tuple[bool, str]:
        if title == "breaks the plugin":
            raise RuntimeError(f"plugin crashed posting to {urls[0]}")
        return real_send(urls, tag, title, body)

    monkeypatch.setattr(channels, "send", send)
    report = deliver([done, broken, *fine])
    assert (report.sent, report.failed, report.skipped) == (2, 1, 1)
    assert sorted(m["title"] for m in receiver.messages("/second")) == ["fine 0", "fine 1"]
    session.expire_all()
    failed = session.get(Notification, broken)
    assert failed.status == NotificationStatus.FAILED and failed.attempts == 1 and failed.claimed_at is None
    assert failed.last_error.startswith("RuntimeError: plugin crashed posting to json://****")
    assert str(receiver.port) not in failed.last_error  # the channel's address never reaches the row
    assert session.get(Notification, done).attempts == 0  # skipped: not touched
