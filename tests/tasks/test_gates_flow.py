"""A gated flow waiting in-process: approve continues, reject branches, expiry branches, bypass waits."""

from __future__ import annotations

import contextvars
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from prefect.client.orchestration import get_client
from sqlmodel import Session, select

from itss.runs import resume
from models.core.audit import AuditEvent
from models.directory.roles import RoleKey
from models.gates.tables import ApprovalGate, GateStatus
from tests.support.gated_flow import gated_change
from tests.support.net import free_port

pytestmark = pytest.mark.usefixtures("prefect_harness")


class FlowThread:
    """Run a flow in a thread that carries this thread's Prefect settings context."""

    def __init__(self, fn: Callable[[], object]) -> None:
        self.result: object = None
        self.error: BaseException | None = None
        context = contextvars.copy_context()
        self.thread = threading.Thread(target=context.run, args=(self._run, fn), daemon=True)
        self.thread.start()

    def _run(self, fn: Callable[[], object]) -> None:
        try:
            self.result = fn()
        except BaseException as exc:  # surfaced by join()
            self.error = exc

    def join(self, timeout: float = 180) -> object:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "flow did not finish"
        if self.error:
            raise self.error
        return self.result


def wait_for_gate(session: Session, timeout: float = 120) -> ApprovalGate:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.expire_all()
        gate = session.exec(select(ApprovalGate)).first()
        if gate is not None:
            return gate
        time.sleep(0.1)
    raise AssertionError("no gate was opened")


def wait_paused(flow_run_id: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            state = client.read_flow_run(UUID(flow_run_id)).state
            if state is not None and state.is_paused():
                return
            time.sleep(0.1)
    raise AssertionError("run never paused")


def lines(marker: Path) -> list[str]:
    return marker.read_text().split()


def test_approve_continues_and_is_audited(client: TestClient, make_person, session: Session, tmp_path: Path) -> None:
    cab = make_person("cab-a", RoleKey.CAB_MEMBER)
    marker = tmp_path / "marker"
    run = FlowThread(lambda: gated_change(marker=str(marker), wait="pause"))
    gate = wait_for_gate(session)
    assert client.get("/approvals", headers=cab).json()[0]["id"] == gate.id
    response = client.post(f"/approvals/{gate.id}/decision", json={"decision": "approve", "comment": "ok"},
                           headers=cab)
    assert response.status_code == 200, response.text
    assert response.json()["gate"]["status"] == "approved"
    assert run.join() == "deployed"
    assert lines(marker) == ["prepared", "deployed"]
    actions = [a.action for a in session.exec(select(AuditEvent).where(
        AuditEvent.record_type == "approval_gate").order_by(AuditEvent.id))]
    assert actions == ["gate.opened", "gate.vote", "gate.approved"]
    decided = session.exec(select(AuditEvent).where(AuditEvent.action == "gate.approved")).one()
    assert decided.actor.startswith("person:") and decided.at is not None


def test_reject_takes_the_reject_branch(client: TestClient, make_person, session: Session, tmp_path: Path) -> None:
    cab = make_person("cab-b", RoleKey.CAB_MEMBER)
    marker = tmp_path / "marker"
    run = FlowThread(lambda: gated_change(marker=str(marker), wait="pause"))
    gate = wait_for_gate(session)
    client.post(f"/approvals/{gate.id}/decision", json={"decision": "reject", "comment": "no window"}, headers=cab)
    assert run.join() == "cancelled"
    assert lines(marker) == ["prepared", "cancelled"]


def test_expiry_takes_the_expired_branch(session: Session, tmp_path: Path) -> None:
    from flows.gate_sweeper import gate_sweeper

    marker = tmp_path / "marker"
    run = FlowThread(lambda: gated_change(marker=str(marker), wait="pause", timeout_minutes=1))
    gate = wait_for_gate(session)
    wait_paused(gate.flow_run_id)
    # Move the deadline into the past instead of sleeping a minute.
    gate.deadline = gate.created_at
    session.add(gate)
    session.commit()
    summary = gate_sweeper()
    assert summary["expired"] == 1 and summary["resumed"] == 1
    assert run.join() == "expired"
    session.expire_all()
    assert session.get(ApprovalGate, gate.id).status == GateStatus.EXPIRED
    expired = session.exec(select(AuditEvent).where(AuditEvent.action == "gate.expired")).one()
    assert expired.actor == "system:sweeper"


def test_resume_without_decision_does_not_pass(client: TestClient, make_person, session: Session,
                                               tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cab = make_person("cab-c", RoleKey.CAB_MEMBER)
    marker = tmp_path / "marker"
    run = FlowThread(lambda: gated_change(marker=str(marker), wait="pause"))
    gate = wait_for_gate(session)
    wait_paused(gate.flow_run_id)
    # What the Prefect UI's Resume button does: resume through Prefect's own API, any input.
    # Prefect marks the run PAUSED before it stores the input form, and rejects a resume in between:
    # itss.runs.resume retries until Prefect accepts, as the UI's form only appears after the schema.
    assert resume(gate.flow_run_id, {"gate_id": gate.id, "token": "forged"}, within=60)
    deadline = time.monotonic() + 20
    bypass = None
    while bypass is None and time.monotonic() < deadline:
        session.expire_all()
        bypass = session.exec(select(AuditEvent).where(AuditEvent.action == "gate.bypass_attempt")).first()
        time.sleep(0.1)
    assert bypass is not None and bypass.actor.startswith("prefect:flow-run:")
    wait_paused(gate.flow_run_id)  # waiting again
    session.expire_all()
    assert session.get(ApprovalGate, gate.id).status == GateStatus.PENDING
    assert lines(marker) == ["prepared"]
    # The reason is in the run's own log, where a manager looking at the run reads it.
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    if os.environ.get("FAKETIME"):
        # Under libfaketime (.ci/shifted_date_pass.sh) Prefect ships no run log to its server at all: a bare
        # flow's own line never arrived within 20 s at FAKETIME=+86400s, and in 1.1 s without. There the
        # line the run wrote to its run logger (which Prefect ships) is what can be checked.
        logged = [r.getMessage() for r in caplog.records
                  if r.name == "prefect.flow_runs" and "bypass attempt" in r.getMessage()]
    else:
        deadline, logged = time.monotonic() + 30, []
        while not logged and time.monotonic() < deadline:
            with get_client(sync_client=True) as prefect:
                logged = [log.message for log in prefect.read_logs(log_filter=LogFilter(
                    flow_run_id=LogFilterFlowRunId(any_=[UUID(gate.flow_run_id)])))
                    if "bypass attempt" in log.message]
            time.sleep(0.5)
    assert logged and "while the gate is pending" in logged[0] and f"/ui/gates/{gate.id}" in logged[0]
    # A real decision still works afterwards.
    client.post(f"/approvals/{gate.id}/decision", json={"decision": "approve"}, headers=cab)
    assert run.join() == "deployed"


def test_notification_failure_never_fails_the_flow(client: TestClient, session: Session, tmp_path: Path) -> None:
    from models.directory.service import create_person, issue_token
    from models.outbox.tables import Notification, NotificationStatus

    dead = free_port()  # nobody listens there: the receiver is down
    cab = create_person(session, name="cab-d", roles=[RoleKey.CAB_MEMBER], actor="test",
                        notify_urls=[f"json://127.0.0.1:{dead}/hook"])
    _, secret = issue_token(session, person_id=cab.id, actor="test")
    session.commit()
    marker = tmp_path / "marker"
    run = FlowThread(lambda: gated_change(marker=str(marker), wait="pause"))
    gate = wait_for_gate(session)
    wait_paused(gate.flow_run_id)
    session.expire_all()
    note = session.exec(select(Notification).where(Notification.gate_id == gate.id)).one()
    assert note.status == NotificationStatus.FAILED and note.attempts == 1
    client.post(f"/approvals/{gate.id}/decision", json={"decision": "approve"},
                headers={"Authorization": f"Bearer {secret}"})
    assert run.join() == "deployed"
