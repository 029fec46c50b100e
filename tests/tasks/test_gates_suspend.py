"""A suspended gate in a served deployment survives `kill -9` of the process serving it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL
from sqlmodel import Session, select

from models.directory import create_person, issue_token
from models.gates import ApprovalGate
from models.outbox import Notification, NotificationStatus
from models.roles import RoleKey
from tests.notifications.test_delivery import Receiver, free_port

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]
ROOT = Path(__file__).resolve().parents[2]


class Server:
    """`itss serve --entrypoint` for the gated flow, against the test harness and the test database."""

    def __init__(self, storage: Path) -> None:
        env = dict(os.environ)
        env.update(PREFECT_API_URL=str(PREFECT_API_URL.value()), PYTHONPATH=str(ROOT),
                   PREFECT_LOCAL_STORAGE_PATH=str(storage),
                   PREFECT_SERVER_ANALYTICS_ENABLED="false")
        self.log = storage / "serve.log"
        self.process = subprocess.Popen([sys.executable, "-m", "itss.cli", "serve", "--entrypoint",
                                         "tests.support.gated_flow:gated_change"], cwd=ROOT, env=env,
                                        stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def kill9(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


def wait_state(flow_run_id: UUID, predicate, timeout: float, log: Path) -> str:
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            state = client.read_flow_run(flow_run_id).state
            if state is not None and predicate(state):
                return state.name
            time.sleep(0.2)
    raise AssertionError(f"state not reached; last {state}; serve log:\n{log.read_text()[-3000:]}")


def test_gate_survives_kill_of_serving_process(client: TestClient, session: Session, storage: Path) -> None:
    receiver = Receiver(free_port())
    cab = create_person(session, name="cab-k", roles=[RoleKey.CAB_MEMBER], actor="test",
                        notify_urls=[f"json://127.0.0.1:{receiver.port}/cab"])
    _, secret = issue_token(session, person_id=cab.id, actor="test")
    session.commit()
    marker = storage / "marker"
    server = Server(storage)
    try:
        deadline = time.monotonic() + 60
        flow_run = None
        while flow_run is None and time.monotonic() < deadline:
            try:
                flow_run = run_deployment("gated_change/gated_change", parameters={"marker": str(marker)}, timeout=0)
            except Exception:  # the deployment is not registered yet
                time.sleep(0.5)
        assert flow_run is not None, server.log.read_text()
        wait_state(flow_run.id, lambda s: s.is_paused(), 60, server.log)
        gate = session.exec(select(ApprovalGate).where(ApprovalGate.flow_run_id == str(flow_run.id))).one()

        server.kill9()
        server = Server(storage)

        response = client.post(f"/approvals/{gate.id}/decision", json={"decision": "approve"},
                               headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == 200 and response.json()["resumed"] is True
        assert wait_state(flow_run.id, lambda s: s.is_final(), 90, server.log) == "Completed"
    finally:
        server.kill9()
        receiver.stop()
    assert marker.read_text().split() == ["prepared", "deployed"]  # prepare ran once
    notes = session.exec(select(Notification).where(Notification.gate_id == gate.id)).all()
    assert [n.status for n in notes] == [NotificationStatus.SENT]
    assert len(receiver.received) == 1  # the CAB member was told once
