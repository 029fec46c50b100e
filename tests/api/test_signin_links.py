"""Signing in on a phone without a token: a one-time link received on the person's own channel (a real
json:// receiver on loopback), single use, short-lived; page sessions that end when revoked."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models.core.clock import utcnow
from models.directory.roles import RoleKey
from models.directory.service import create_person
from models.directory.signin import SigninLink
from models.gates.service import open_gate
from models.gates.tables import GateSpec
from models.outbox.tables import Notification
from notifications.outbox import enqueue
from notifications.sender import deliver_due
from tests.support.net import Receiver, free_port

LINK = re.compile(r"https?://\S+/ui/login/link/(itss_link_[\w-]+)")


@pytest.fixture
def receiver():
    started = Receiver(free_port())
    yield started
    started.stop()


def _person(session: Session, receiver: Receiver, name: str = "li.qiang") -> int:
    person = create_person(session, name=name, roles=[RoleKey.ENGINEER], actor="test",
                           notify_urls=[f"json://127.0.0.1:{receiver.port}/me/{name}"])
    session.commit()
    return person.id


def _received_link(receiver: Receiver) -> str:
    found = LINK.search(receiver.received[-1]["message"])
    assert found, receiver.received[-1]
    return found.group(1)


def test_a_link_received_on_my_channel_signs_me_in_once(client: TestClient, session: Session, receiver) -> None:
    _person(session, receiver)
    asked = client.post("/ui/login/link", data={"name": "li.qiang"})
    assert asked.status_code == 200
    assert "sent to: json://127.0.0.1" in asked.text  # the page says where the link went
    assert len(receiver.received) == 1 and receiver.paths == ["/me/li.qiang"]
    secret = _received_link(receiver)
    confirm = client.get(f"/ui/login/link/{secret}")
    assert confirm.status_code == 200 and "li.qiang" in confirm.text  # a preview does not spend the link
    used = client.post(f"/ui/login/link/{secret}", follow_redirects=False)
    assert used.status_code == 303 and used.headers["location"] == "/ui"
    assert "Waiting for you" in client.get("/ui").text
    client.cookies.clear()
    again = client.post(f"/ui/login/link/{secret}", follow_redirects=False)
    assert again.status_code == 410 and "already used or has expired" in again.text
    assert client.get("/ui", follow_redirects=False).status_code == 303  # not signed in by the spent link


def test_an_expired_link_fails(client: TestClient, session: Session, receiver) -> None:
    _person(session, receiver)
    client.post("/ui/login/link", data={"name": "li.qiang"})
    secret = _received_link(receiver)
    link = session.exec(select(SigninLink)).one()
    link.expires_at = utcnow() - timedelta(seconds=1)
    session.add(link)
    session.commit()
    assert client.get(f"/ui/login/link/{secret}").status_code == 410
    assert client.post(f"/ui/login/link/{secret}", follow_redirects=False).status_code == 410


def test_no_channel_no_link_and_the_page_says_so(client: TestClient, session: Session) -> None:
    create_person(session, name="no.channel", roles=[RoleKey.ENGINEER], actor="test")
    session.commit()
    page = client.post("/ui/login/link", data={"name": "no.channel"})
    assert "No link was sent" in page.text
    assert session.exec(select(SigninLink)).first() is None


def test_signing_out_revokes_the_session(client: TestClient, session: Session, make_person) -> None:
    token = make_person("cab.member", RoleKey.CAB_MEMBER)["Authorization"].removeprefix("Bearer ")
    client.post("/ui/login", data={"token": token})
    cookie = client.cookies.get("itss_token")
    assert cookie and cookie != token  # the cookie holds a page session, never the API token
    assert client.get("/ui", follow_redirects=False).status_code == 200
    client.post("/ui/logout")
    client.cookies.set("itss_token", cookie)  # a copy of the old cookie no longer signs anyone in
    assert client.get("/ui", follow_redirects=False).status_code == 303


def test_gate_messages_to_my_channel_carry_a_link_to_the_gate(client: TestClient, session: Session,
                                                              receiver) -> None:
    _person(session, receiver)
    gate, _ = open_gate(session, flow_run_id=str(uuid.uuid4()), actor="test", spec=GateSpec(
        key="acknowledge", subject="Acknowledge: 政务门户无法访问", eligible_roles=[RoleKey.ENGINEER]))
    enqueue(session, event="gate.requested", dedupe_prefix=f"gate:{gate.id}:requested", roles=[RoleKey.ENGINEER],
            title=gate.subject, body=f"Decide at /ui/gates/{gate.id}", gate_id=gate.id)
    enqueue(session, event="test", dedupe_prefix="not-a-gate", roles=[RoleKey.ENGINEER], title="FYI", body="no gate")
    session.commit()
    assert deliver_due().sent == 2
    by_title = {m["title"]: m["message"] for m in receiver.received}
    assert "login/link" not in by_title["FYI"]
    assert "itss_link_" not in str(session.exec(select(Notification.body)).all())  # never stored in the outbox
    secret = LINK.search(by_title[gate.subject]).group(1)
    used = client.post(f"/ui/login/link/{secret}", follow_redirects=False)
    assert used.status_code == 303 and used.headers["location"] == f"/ui/gates/{gate.id}"
