"""Who a notice is queued for (the roster of the record's contract, each person once, each notice once) and how
the sender claims a row (a claim carries its time, so a dead sender's row is sent again later, oldest first)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, select

from models.contracts.tables import Contract
from models.directory.people import OnCallShift, Organisation
from models.directory.roles import RoleKey
from models.directory.service import create_person
from models.outbox.tables import STALE_CLAIM, Notification, NotificationStatus
from notifications.outbox import enqueue
from notifications.sender import _claim, due_ids

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
URL = ["json://127.0.0.1:9/"]


def person(session: Session, name: str, *roles: RoleKey) -> int:
    return create_person(session, name=name, roles=list(roles), actor="test", notify_urls=URL).id


def queued(session: Session, **kw) -> list[str]:
    rows = enqueue(session, event="test", title="t", body="b", **kw)
    session.commit()
    return [r.recipient for r in rows]


def test_a_contracts_notice_goes_to_who_is_rostered_for_that_contract(
        session: Session, frozen_clock: Callable[..., datetime]) -> None:
    frozen_clock(T0)
    org = Organisation(name="Customer", kind="customer")
    session.add(org)
    session.flush()
    ours, theirs = (Contract(code=c, name=c, customer_id=org.id, starts_on=date(2026, 1, 1), ends_on=date(2027, 1, 1))
                    for c in ("OURS", "THEIRS"))
    session.add_all([ours, theirs])
    session.flush()
    mine, other, anyone = (person(session, n, RoleKey.ENGINEER) for n in ("mine", "other", "anyone"))
    for who, contract in ((mine, ours.id), (other, theirs.id), (anyone, None)):
        session.add(OnCallShift(role_key=RoleKey.ENGINEER, person_id=who, contract_id=contract,
                                starts_at=T0 - timedelta(hours=1), ends_at=T0 + timedelta(hours=8)))
    session.commit()
    assert queued(session, dedupe_prefix="ours", roles=[RoleKey.ENGINEER], contract_id=ours.id) == [
        f"person:{mine}", f"person:{anyone}"]
    assert queued(session, dedupe_prefix="all", roles=[RoleKey.ENGINEER]) == [
        f"person:{mine}", f"person:{other}", f"person:{anyone}"]


def test_each_person_once_per_notice_and_each_notice_once(session: Session) -> None:
    both = person(session, "both", RoleKey.ADMIN, RoleKey.SERVICE_LEVEL_MANAGER)
    admin = person(session, "admin", RoleKey.ADMIN)
    slm = person(session, "slm", RoleKey.SERVICE_LEVEL_MANAGER)
    session.commit()
    roles = [RoleKey.ADMIN, RoleKey.SERVICE_LEVEL_MANAGER]
    assert queued(session, dedupe_prefix="n1", roles=roles) == [f"person:{both}", f"person:{admin}", f"person:{slm}"]
    assert queued(session, dedupe_prefix="n1", roles=roles) == []  # the same notice again: nothing new
    assert len(queued(session, dedupe_prefix="n2", roles=roles)) == 3  # another notice: everyone again


def test_a_claim_carries_its_time_so_a_dead_senders_rows_come_back_oldest_first(
        session: Session, frozen_clock: Callable[..., datetime]) -> None:
    frozen_clock(T0)
    ids = []
    for n in range(3):
        row = Notification(dedupe_key=f"k{n}", event="test", recipient="tag:engineer", title="t", body="b")
        session.add(row)
        session.commit()
        ids.append(row.id)
    assert due_ids(session, limit=2) == ids[:2]  # oldest first, no more than asked
    assert _claim(session, ids[0]) and not _claim(session, ids[0])  # a live claim is not taken twice
    session.expire_all()
    claimed = session.get(Notification, ids[0])
    assert (claimed.status, claimed.claimed_at) == (NotificationStatus.SENDING, T0)
    assert ids[0] not in due_ids(session)
    frozen_clock(T0 + STALE_CLAIM + timedelta(seconds=1))  # its sender died mid-send
    assert due_ids(session) == ids and _claim(session, ids[0])
    assert {r.status for r in session.exec(select(Notification).where(Notification.id != ids[0]))} == {
        NotificationStatus.PENDING}  # claiming one row touched no other
