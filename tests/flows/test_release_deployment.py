"""Release deployment end to end through the API: a served deployment runs real shell steps against a
temporary directory, and verification reads a loopback HTTP service that serves that directory's version."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.sorting import TaskRunSort
from sqlmodel import Session, select

from config.settings import get_settings
from models.changes.tables import ChangeRequest, ChangeStep, ChangeTemplate
from models.core.audit import AuditEvent
from models.core.clock import utcnow
from models.directory.roles import RoleKey
from models.directory.service import create_person, issue_token
from models.gates.tables import ApprovalGate
from tasks.changes import SHORT_WAIT
from tests.flows.test_emergency_response import decide, gate_for, token
from tests.support.files import tree
from tests.support.serving import ServedFlow, wait_state

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


@pytest.fixture(scope="module")
def served(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedFlow]:
    """The release_deployment deployment served once for the module (each test's changes are its own).

    Its changes must run now whatever today is: on a statutory holiday (e.g. 2026-10-02) the freeze would
    push them past the holiday. The freeze itself is proven on explicit dates in
    tests/models/sla/test_holiday_blocks.py and tests/models/changes/test_change_windows.py."""
    flow = ServedFlow("flows.release_deployment:release_deployment", tmp_path_factory.mktemp("serve"),
                      env={"ITSS_FREEZE_STATUTORY_HOLIDAYS": "false"})
    flow.wait_registered("release_deployment/release_deployment")
    yield flow
    flow.kill9()


@pytest.fixture
def target(tmp_path: Path) -> Path:
    """The deploy target: version 2.3 of an app with a config file and an executable script."""
    app = tmp_path / "app"
    (app / "conf").mkdir(parents=True)
    (app / "version").write_text("2.3\n")
    (app / "conf" / "app.ini").write_text("[db]\nhost=10.1.6.3\n")
    (app / "run.sh").write_text("#!/bin/sh\nexec app\n")
    (app / "run.sh").chmod(0o750)
    return app


@pytest.fixture
def health(target: Path) -> Iterator[int]:
    """A loopback service whose /health answers 'version <contents of target/version>'."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = f"version {(target / 'version').read_text().strip()}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def check(port: int, version: str) -> dict:
    return {"key": "health", "name": "app health", "probe": "http", "target": "127.0.0.1",
            "params": {"url": f"http://{{host}}:{port}/health", "keyword": f"version {version}"}}


def release(target: Path, port: int, **overrides) -> dict:
    """A change deploying 2.4 to `target`: back up, write the files, verify; rollback restores the backup."""
    body = {
        "title": "Deploy app 2.4", "description": "Minor release: bug fixes", "change_type": "normal",
        "risk": "low", "impact": "app restarts (30 s)", "release_version": "2.4", "test_evidence": "UAT passed",
        "planned_minutes": 30, "causes_outage": True,
        "steps": [
            {"name": "back up app", "kind": "backup", "paths": [str(target)]},
            {"name": "install 2.4", "command": f"cd {target} && echo 2.4 > version && echo 'host=10.1.6.4' >> "
                                               "conf/app.ini && rm run.sh && touch NEW"},
        ],
        "verification": [check(port, "2.4")],
        "rollback": [{"name": "restore app", "kind": "restore", "backup": "back up app"}],
        "rollback_verification": [check(port, "2.3")],
    }
    return {**body, **overrides}


def finished(client: TestClient, change_id: int, headers: dict, served: ServedFlow, timeout: float = 240) -> dict:
    """The change once it reached an outcome and its flow run ended (report, review and notices come after)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        change = client.get(f"/changes/{change_id}", headers=headers).json()
        if change["change"]["status"] in ("succeeded", "rolled_back", "rollback_failed", "rejected",
                                          "window_missed"):
            wait_state(change["change"]["flow_run_id"], lambda s: s.is_final(), deadline - time.monotonic(), served)
            return client.get(f"/changes/{change_id}", headers=headers).json()
        time.sleep(0.3)
    raise AssertionError(f"change {change_id} did not finish: {change['change']['status']}\n{served.tail()}")


def standard(client: TestClient, session: Session, body: dict, name: str, **change) -> dict:
    """A template of `body`'s runbook, pre-authorised by a change manager, and a standard change of it."""
    cm = token(session, f"cm-{name}", RoleKey.CHANGE_MANAGER)
    runbook = {k: body[k] for k in ("steps", "verification", "rollback", "rollback_verification")}
    template = {"name": name, "standard_kind": "nonprod_software", "planned_minutes": 20, **runbook}
    created = client.post("/change-templates", json=template, headers=cm)
    assert created.status_code == 201, created.text
    # The CAB's approval of a template is its own flow (tests/system/test_template_approval.py); here it is given.
    approved = session.get(ChangeTemplate, created.json()["id"])
    approved.approval_status = "approved"
    session.add(approved)
    session.commit()
    return {"title": f"{name} on the test system", "change_type": "standard", "template": name, **change}


def submit(client: TestClient, body: dict, headers: dict) -> int:
    created = client.post("/changes", json=body, headers=headers)
    assert created.status_code == 201, created.text
    change_id = created.json()["id"]
    submitted = client.post(f"/changes/{change_id}/submit", headers=headers)
    assert submitted.status_code == 200, submitted.text
    return change_id


def test_normal_change_approved_two_of_three_by_the_cab_completes_and_updates_the_cmdb(
        client: TestClient, session: Session, served: ServedFlow, target: Path, health: int) -> None:
    requester = token(session, "wang-engineer", RoleKey.ENGINEER)
    cab = [token(session, f"cab-{i}", RoleKey.CAB_MEMBER) for i in range(3)]
    cm = token(session, "change-manager", RoleKey.CHANGE_MANAGER)
    ci = client.post("/cis", json={"name": "app-srv-01", "ci_type": "server", "ip": "10.1.6.3",
                                   "attributes": {"version": "2.3", "rack": "6-03"}}, headers=requester).json()
    change_id = submit(client, release(target, health, ci_ids=[ci["id"]]), requester)

    gate = gate_for(client, cab[0], "cab")
    assert gate["quorum"] == 2 and gate["record_id"] == str(change_id)
    decide(client, cab[0], "cab", "approve", "rollback plan is sound")
    time.sleep(1)
    assert client.get(f"/changes/{change_id}", headers=cm).json()["change"]["status"] == "submitted"  # 1 of 2
    assert (target / "version").read_text() == "2.3\n"  # nothing ran on one approval
    decide(client, cab[1], "cab", "approve", "ok for tonight")

    detail = finished(client, change_id, cm, served)
    change = detail["change"]
    assert change["status"] == "succeeded", change
    assert (target / "version").read_text() == "2.4\n" and (target / "NEW").exists()
    assert [(s["phase"], s["name"], s["status"]) for s in detail["steps"]] == [
        ("deploy", "back up app", "succeeded"), ("deploy", "install 2.4", "succeeded"),
        ("verify", "app health", "succeeded")]
    assert change["cmdb_updated_at"] is not None and change["outage_minutes"] > 0
    updated = client.get(f"/cis/{ci['id']}", headers=cm).json()
    assert updated["attributes"] == {"version": "2.4", "rack": "6-03"}
    log = client.get(f"/cis/{ci['id']}/changes", headers=cm).json()
    assert log[-1]["actor"].startswith("flow:") and log[-1]["reason"] == f"change #{change_id}: Deploy app 2.4"
    assert log[-1]["before"]["attributes"]["version"] == "2.3"

    report = client.get(f"/changes/{change_id}/report", headers=cm).json()["markdown"]
    assert "发布报告" in report and "**succeeded**" in report and "rollback plan is sound" in report
    assert "| 2 | install 2.4 | shell | succeeded | 0 |" in report
    assert detail["review"]["status"] == "open"
    assert client.post(f"/changes/{change_id}/review", json={"goal_met": True, "summary": "clean"},
                       headers=cm).status_code == 200
    # The month the change finished in, not today's: at 23:59 on the last day of a month they differ.
    month = datetime.fromisoformat(change["finished_at"]).astimezone(get_settings().tz).strftime("%Y-%m")
    metrics = client.get(f"/changes/metrics?month={month}", headers=cm).json()
    assert metrics["by_type"] == {"standard": 0, "normal": 1, "major": 0, "emergency": 0}
    assert metrics["missed_goal"] == 0 and metrics["outage_minutes"] == pytest.approx(change["outage_minutes"], abs=0.01)


def test_self_approval_is_refused(client: TestClient, session: Session, served: ServedFlow, target: Path,
                                  health: int) -> None:
    person = create_person(session, name="li-cab-and-requester", roles=[RoleKey.CAB_MEMBER, RoleKey.ENGINEER],
                           actor="test")
    _, secret = issue_token(session, person_id=person.id, actor="test")
    session.commit()
    both = {"Authorization": f"Bearer {secret}"}
    other = token(session, "cab-other", RoleKey.CAB_MEMBER)
    change_id = submit(client, release(target, health), both)
    gate = gate_for(client, other, "cab")
    assert [g["id"] for g in client.get("/approvals", headers=both).json()] == []  # not offered to the requester
    refused = client.post(f"/approvals/{gate['id']}/decision", json={"decision": "approve"}, headers=both)
    assert refused.status_code == 403 and "requested" in refused.json()["detail"]
    session.expire_all()
    assert session.get(ApprovalGate, gate["id"]).status == "pending"
    assert client.get(f"/changes/{change_id}", headers=both).json()["change"]["status"] == "submitted"


def test_standard_change_needs_no_approval_and_a_failing_step_rolls_back_exactly(
        client: TestClient, session: Session, served: ServedFlow, target: Path, health: int) -> None:
    engineer = token(session, "zhao-engineer", RoleKey.ENGINEER)
    before = tree(target)
    body = release(target, health)
    body["steps"].append({"name": "migrate schema", "command": "echo 'migrating…'; exit 3"})
    assert client.post("/change-templates", json={"name": "x", "standard_kind": "nonprod_software",
                                                  "steps": body["steps"]}, headers=engineer).status_code == 403
    change_id = submit(client, standard(client, session, body, "app upgrade"), engineer)

    detail = finished(client, change_id, engineer, served)
    assert detail["change"]["status"] == "rolled_back", detail["change"]
    assert tree(target) == before  # every file, its content and its mode as before the change
    assert detail["gates"] == []
    phases = [(s["phase"], s["name"], s["status"], s["exit_code"]) for s in detail["steps"]]
    assert phases == [("deploy", "back up app", "succeeded", 0), ("deploy", "install 2.4", "succeeded", 0),
                      ("deploy", "migrate schema", "failed", 3), ("rollback", "restore app", "succeeded", 0),
                      ("rollback_verify", "app health", "succeeded", None)]
    assert "migrate schema" in detail["change"]["failure"] and detail["change"]["cmdb_updated_at"] is None
    assert detail["change"]["standard_kind"] == "nonprod_software" and detail["change"]["planned_minutes"] == 20
    actions = [a.action for a in session.exec(select(AuditEvent).where(
        AuditEvent.record_type == "change_request").order_by(AuditEvent.id))]
    assert actions == ["change.created", "change.submitted", "change.pre_authorised", "change.approved",
                       "change.implementing", "change.rolled_back"]


def test_change_outside_its_window_waits_as_a_scheduled_run_then_runs_when_it_opens(
        client: TestClient, session: Session, served: ServedFlow, target: Path, health: int) -> None:
    engineer = token(session, "qian-engineer", RoleKey.ENGINEER)
    # Far enough ahead that the flow, however slow to start on a loaded machine, sees the window as
    # "later" (more than SHORT_WAIT away) and schedules a run instead of waiting in-process.
    opens = utcnow().replace(microsecond=0) + SHORT_WAIT + timedelta(seconds=60)
    change = standard(client, session, release(target, health), "app upgrade", window_start=opens.isoformat(),
                      window_end=(opens + timedelta(hours=2)).isoformat())
    change_id = submit(client, change, engineer)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        change = client.get(f"/changes/{change_id}", headers=engineer).json()["change"]
        if change["status"] == "scheduled":
            break
        time.sleep(0.3)
    assert change["status"] == "scheduled", served.tail()
    with get_client(sync_client=True) as prefect:
        waiting = prefect.read_flow_run(UUID(change["scheduled_run_id"]))
    assert waiting.state.is_scheduled() and waiting.state.state_details.scheduled_time == opens
    assert waiting.parameters == {"change_id": change_id}
    assert (target / "version").read_text() == "2.3\n"
    assert session.exec(select(ChangeStep).where(ChangeStep.change_id == change_id)).all() == []

    detail = finished(client, change_id, engineer, served, timeout=240)
    assert detail["change"]["status"] == "succeeded"
    first_step = min(datetime.fromisoformat(s["started_at"]) for s in detail["steps"])
    assert first_step >= opens
    assert (target / "version").read_text() == "2.4\n"


def test_reexecution_after_a_gate_never_reruns_a_completed_step(
        client: TestClient, session: Session, served: ServedFlow, target: Path, health: int, tmp_path: Path) -> None:
    engineer = token(session, "sun-engineer", RoleKey.ENGINEER)
    marker = tmp_path / "ran"
    body = release(target, health)
    body["steps"] = [
        {"name": "stop traffic", "command": f"echo stop >> {marker}"},
        {"name": "traffic drained?", "kind": "confirm"},
        {"name": "switch", "command": f"echo switch >> {marker} && echo 2.4 > {target}/version"},
    ]
    body["rollback"] = [{"name": "switch back", "command": f"echo 2.3 > {target}/version"}]
    change_id = submit(client, standard(client, session, body, "traffic switch"), engineer)
    gate = gate_for(client, engineer, "confirm-1")
    run_before = client.get(f"/changes/{change_id}", headers=engineer).json()["change"]["flow_run_id"]
    wait_state(run_before, lambda s: s.is_paused(), 180, served)  # suspended: its process has ended
    assert marker.read_text() == "stop\n"
    decide(client, engineer, "confirm-1", "continue", "drained")

    detail = finished(client, change_id, engineer, served)
    assert detail["change"]["status"] == "succeeded"
    assert marker.read_text().split() == ["stop", "switch"]  # the step before the gate ran once
    assert [s["name"] for s in detail["steps"] if s["phase"] == "deploy"] == ["stop traffic", "traffic drained?",
                                                                             "switch"]
    # The suspended run re-executed from the top after the gate: Prefect writes task-run records from its
    # event stream, after the run ended, so wait for them to arrive (and fail if they never add up).
    assert task_run_counts(run_before, ("begin-change", "run-runbook"), until={"begin-change": 2,
                                                                             "run-runbook": 3}) == {
        "begin-change": 2, "run-runbook": 3}  # run-runbook: before the gate, and twice after it
    assert gate["subject"].startswith(f"Change #{change_id}")


def task_run_counts(flow_run_id: str, prefixes: tuple[str, ...], until: dict[str, int],
                    timeout: float = 180) -> dict[str, int]:
    """How many task runs of the flow run start with each prefix, once they reach `until` (or at the timeout)."""
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as prefect:
        while True:
            tasks = prefect.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(flow_run_id)])),
                sort=TaskRunSort.EXPECTED_START_TIME_ASC, limit=200)
            counts = {p: sum(t.name.startswith(p) for t in tasks) for p in prefixes}
            if counts == until or time.monotonic() > deadline:
                return counts
            time.sleep(0.5)


@pytest.mark.parametrize(("change", "field"), [
    ({"window_start": "2026-12-01T22:00:00+08:00", "window_end": "2026-12-01T21:00:00+08:00"}, "window_end"),
    ({"ci_ids": [999999]}, "ci_ids.0"),
    ({"change_type": "major", "rollback": [], "rollback_verification": [],
      "window_start": "2026-12-01T22:00:00+08:00", "window_end": "2026-12-02T02:00:00+08:00"}, "rollback"),
    ({"change_type": "major"}, "window_start"),
    ({"characteristics": ["network_topology"]}, "change_type"),
    ({"change_type": "standard", "standard_kind": "production_upgrade"}, "standard_kind"),
    ({"change_type": "standard", "standard_kind": "nonprod_software"}, "template"),  # its own steps: not authorised
    ({"template": "no such template"}, "template"),
    ({"steps": [{"name": "x", "kind": "ssh", "command": "uptime"}]}, "steps.0"),
])
def test_bad_change_is_422_naming_the_field_and_stores_nothing(client: TestClient, session: Session, change: dict,
                                                               field: str, tmp_path: Path) -> None:
    engineer = token(session, "bad-input", RoleKey.ENGINEER)
    response = client.post("/changes", json=release(tmp_path, 1, **change), headers=engineer)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]], response.json()
    assert session.exec(select(ChangeRequest)).all() == []
    assert session.exec(select(AuditEvent).where(AuditEvent.record_type == "change_request")).all() == []


def test_wrong_role_and_no_token(client: TestClient, session: Session, tmp_path: Path) -> None:
    customer = token(session, "customer", RoleKey.CUSTOMER_REP)
    assert client.post("/changes", json=release(tmp_path, 1), headers=customer).status_code == 403
    assert client.post("/changes", json=release(tmp_path, 1)).status_code == 401
    assert client.get("/changes").status_code == 401
    assert session.exec(select(ChangeRequest)).all() == []  # refused: nothing stored, nothing audited
    assert session.exec(select(AuditEvent).where(AuditEvent.record_type == "change_request")).all() == []


def test_emergency_change_runs_outside_the_window_with_the_ecab_approval_recorded(
        client: TestClient, session: Session, served: ServedFlow, target: Path, health: int) -> None:
    engineer = token(session, "zhou-oncall", RoleKey.ENGINEER)
    cm = token(session, "cm", RoleKey.CHANGE_MANAGER)
    ours, theirs = token(session, "leader-ours", RoleKey.LEADERSHIP), token(session, "leader-customer",
                                                                            RoleKey.LEADERSHIP)
    later = utcnow().astimezone(get_settings().tz) + timedelta(hours=3)
    window = {"name": "nightly", "weekdays": [1, 2, 3, 4, 5, 6, 7], "start": later.strftime("%H:%M"),
              "end": (later + timedelta(hours=1)).strftime("%H:%M")}
    assert client.post("/change-windows", json=window, headers=engineer).status_code == 403
    assert client.post("/change-windows", json=window, headers=cm).status_code == 201
    change_id = submit(client, release(target, health, change_type="emergency"), engineer)

    gate = gate_for(client, ours, "ecab")
    assert gate["quorum"] == 2 and gate["deadline"] is not None  # a short deadline, escalating to the ops manager
    decide(client, ours, "ecab", "approve", "security fix, go now")
    decide(client, theirs, "ecab", "approve", "agreed")
    detail = finished(client, change_id, engineer, served)
    assert detail["change"]["status"] == "succeeded" and detail["change"]["ran_outside_window"]
    assert len(detail["change"]["approval_gate_ids"]) == 1
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "change.implementing",
                                                  AuditEvent.record_id == str(change_id))).one()
    assert "outside any change window (ECAB approved)" in audit.detail
    report = client.get(f"/changes/{change_id}/report", headers=engineer).json()["markdown"]
    assert "outside any change window" in report and "security fix, go now" in report


def test_major_change_needs_both_managers_and_a_failed_rollback_opens_an_incident(
        client: TestClient, session: Session, served: ServedFlow, target: Path, health: int) -> None:
    engineer = token(session, "wu-engineer", RoleKey.ENGINEER)
    ops, leader = token(session, "ops-manager", RoleKey.OPS_MANAGER), token(session, "leader", RoleKey.LEADERSHIP)
    ci = client.post("/cis", json={"name": "core-sw-01", "ci_type": "switch"}, headers=engineer).json()
    now = utcnow()
    body = release(target, health, change_type="major", characteristics=["network_topology"], ci_ids=[ci["id"]],
                   window_start=now.isoformat(), window_end=(now + timedelta(hours=4)).isoformat())
    body["steps"].append({"name": "apply VLAN plan", "command": "exit 1"})
    body["rollback"] = [{"name": "restore config", "command": "echo 'device unreachable' >&2; exit 255"}]
    change_id = submit(client, body, engineer)

    decide(client, ops, "ops-manager", "approve", "plan reviewed")
    assert gate_for(client, leader, "leadership")["subject"].startswith("Major change, company leader")
    decide(client, leader, "leadership", "approve")
    detail = finished(client, change_id, engineer, served)
    change = detail["change"]
    assert change["status"] == "rollback_failed" and change["incident_id"] is not None
    assert "device unreachable" in change["failure"] or "restore config" in change["failure"]
    incident = client.get(f"/incidents/{change['incident_id']}", headers=engineer).json()["incident"]
    assert incident["fault_class"] == "major" and incident["fingerprint"] == f"change:{change_id}:rollback"
    assert incident["source"] == "change" and incident["status"] != "closed"
