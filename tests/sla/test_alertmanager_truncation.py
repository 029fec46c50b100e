"""A real Alertmanager 0.25 (Debian `prometheus-alertmanager`) with `max_alerts: 3` and a group of 5 firing alerts:
the API fetches the 2 left out from Alertmanager's API v2 (5 incidents); when that API cannot be reached, 3
incidents carry the truncation count and the service desk is told. Alerts are fired with `amtool alert add`."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from models.directory.roles import RoleKey
from models.directory.service import create_person, issue_token
from models.incidents.alert_inbox import InboxAlert
from models.incidents.tables import Incident, Source
from models.outbox.tables import Notification
from tests.support.net import free_port

ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
pytestmark = [
    pytest.mark.skipif(ALERTMANAGER is None or shutil.which("amtool") is None,
                       reason="needs Alertmanager 0.25 and amtool: apt-get install prometheus-alertmanager"),
    pytest.mark.usefixtures("prefect_harness"),
]
CONFIG = """route:
  receiver: itss
  group_by: [alertname]
  group_wait: 5s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: itss
    webhook_configs:
      - url: {api}/alerts/alertmanager
        max_alerts: 3
        send_resolved: false
        http_config:
          authorization:
            type: Bearer
            credentials: {token}
"""


class Alertmanager:
    """One Alertmanager process on loopback, its own config and storage; `external` is the URL it advertises."""

    def __init__(self, tmp: Path, api: str, token: str, external: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (tmp / "alertmanager.yml").write_text(CONFIG.format(api=api, token=token))
        self.log = (tmp / "alertmanager.log").open("w")
        self.process = subprocess.Popen(
            [ALERTMANAGER, f"--config.file={tmp / 'alertmanager.yml'}", f"--storage.path={tmp / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=",
             f"--web.external-url={external or self.url}"], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.process.poll() is None, (tmp / "alertmanager.log").read_text()
            time.sleep(0.2)
        raise AssertionError("Alertmanager did not become ready")

    def fire(self, alertname: str, instance: str) -> None:
        subprocess.run(["amtool", "alert", "add", f"alertname={alertname}", f"instance={instance}",
                        "severity=warning", f"--annotation=summary={alertname} on {instance}",
                        f"--alertmanager.url={self.url}"], check=True, capture_output=True, timeout=60)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)
        self.log.close()


@pytest.fixture
def monitor_token(session: Session) -> str:
    person = create_person(session, name="alertmanager", roles=[RoleKey.SERVICE_DESK], actor="test")
    _, secret = issue_token(session, person_id=person.id, actor="test")
    create_person(session, name="desk-on-duty", roles=[RoleKey.SERVICE_DESK], actor="test",
                  notify_urls=["json://127.0.0.1:9/"])
    session.commit()
    return secret


def incidents(session: Session, count: int, within: float = 120) -> list[Incident]:
    deadline = time.monotonic() + within
    while True:
        session.expire_all()
        found = list(session.exec(select(Incident).where(Incident.source == Source.ALERTMANAGER)))
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


@pytest.fixture
def alertmanager_factory(tmp_path: Path, live_api: str, monitor_token: str) -> Iterator:
    started: list[Alertmanager] = []

    def start(external: str | None = None) -> Alertmanager:
        am = Alertmanager(tmp_path, live_api, monitor_token, external)
        started.append(am)
        return am

    yield start
    for am in started:
        am.stop()


def test_group_of_five_with_max_alerts_3_gives_five_incidents(alertmanager_factory, session: Session) -> None:
    am = alertmanager_factory()
    for n in range(1, 6):
        am.fire("DiskFull", f"srv-{n:02d}")
    found = incidents(session, 5)
    assert sorted(i.title for i in found) == [f"DiskFull on srv-{n:02d}" for n in range(1, 6)]
    assert all(i.alerts_truncated == 0 and i.occurred_at is not None for i in found)
    time.sleep(1)  # nothing more arrives: the fetched alerts were not doubled
    assert len(incidents(session, 6, within=2)) == 5


def test_unreachable_alertmanager_api_shows_the_truncation_and_tells_the_desk(alertmanager_factory,
                                                                               session: Session) -> None:
    # Alertmanager advertises an address where nothing listens: the API cannot fetch the 2 left out.
    am = alertmanager_factory(external=f"http://127.0.0.1:{free_port()}")
    for n in range(1, 6):
        am.fire("DiskFull", f"srv-{n:02d}")
    found = incidents(session, 3)
    assert len(found) == 3 and len(incidents(session, 4, within=3)) == 3
    assert sum(i.alerts_truncated for i in found) == 2
    inbox = session.exec(select(InboxAlert).where(InboxAlert.truncated > 0)).all()
    assert [a.truncated for a in inbox] == [2]
    told = session.exec(select(Notification).where(Notification.event == "alerts.truncated")).all()
    assert [n.role for n in told] == ["service_desk"] and "2 alert(s)" in told[0].title
