"""A release whose flow run ended mid-implementation is flagged to the change manager, once."""

from __future__ import annotations

import pytest
from prefect import flow
from sqlmodel import Session, select

from models.changes.tables import ChangeRequest, ChangeStatus, ChangeType
from models.core.audit import AuditEvent
from models.directory.roles import RoleKey
from models.directory.service import create_person
from models.outbox.tables import Notification

pytestmark = pytest.mark.usefixtures("prefect_harness")


@flow(name="crashing_release")
def crashing_release() -> None:
    """Stands in for a release run that dies mid-way."""
    raise RuntimeError("worker lost")


def test_stalled_release_is_flagged_once(session: Session) -> None:
    from flows.gate_sweeper import gate_sweeper

    manager = create_person(session, name="cm-stalled", roles=[RoleKey.CHANGE_MANAGER], actor="test",
                            notify_urls=["json://127.0.0.1:9/"])
    state = crashing_release(return_state=True)
    assert state.is_failed()
    failed_run = str(state.state_details.flow_run_id)
    session.add(ChangeRequest(title="core switch firmware", change_type=ChangeType.NORMAL, requested_by=manager.id,
                              status=ChangeStatus.IMPLEMENTING, flow_run_id=failed_run))
    session.add(ChangeRequest(title="still waiting", change_type=ChangeType.NORMAL, requested_by=manager.id,
                              status=ChangeStatus.SCHEDULED, flow_run_id=failed_run))  # not implementing: not flagged
    session.commit()

    assert gate_sweeper()["stalled_releases"] == 1
    assert gate_sweeper()["stalled_releases"] == 0  # once per run
    flagged = session.exec(select(AuditEvent).where(AuditEvent.action == "change.stalled")).one()
    assert flagged.detail == failed_run
    note = session.exec(select(Notification).where(Notification.event == "change.stalled")).one()
    assert note.recipient == f"person:{manager.id}" and "The sweeper retries it" in note.body
    # ...and retried by the same sweep, under the release rule (completed steps skipped, interrupted rolled back).
    recovered = session.exec(select(AuditEvent).where(AuditEvent.action == "run.recovered")).one()
    assert recovered.record_type == "change_request" and f"run {failed_run} found FAILED; retried" == recovered.detail
    from uuid import UUID

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        assert client.read_flow_run(UUID(failed_run)).state.name == "AwaitingRetry"
    told = session.exec(select(Notification).where(Notification.event == "run.recovered")).all()
    assert [n.recipient for n in told] == [f"person:{manager.id}"]
