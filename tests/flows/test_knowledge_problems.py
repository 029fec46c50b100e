"""Knowledge base and problem management end to end through the API, with the served flows."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models.core.audit import AuditEvent
from models.core.clock import utcnow
from models.core.db import session_scope
from models.directory.roles import RoleKey
from models.incidents.grading import ImpactFacts
from models.incidents.service import create_incident
from models.incidents.tables import Source
from models.problems.service import close_quiet
from models.problems.tables import Problem
from tasks.incidents import record_problems
from tests.flows.test_emergency_response import token
from tests.flows.test_release_deployment import finished, standard, submit
from tests.support.serving import ServedFlow

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]
FLOWS = ["flows.emergency_response:emergency_response", "flows.knowledge_review:knowledge_review",
         "flows.release_deployment:release_deployment"]


@pytest.fixture(scope="module")
def served(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServedFlow]]:
    """The emergency, knowledge review and release deployments, served once for the module.

    The fix's change must run now whatever today is: on a statutory holiday (New Year's Day, National Day)
    the freeze would push it days ahead (tests/models/sla/test_holiday_blocks.py proves the freeze)."""
    env = {"ITSS_FREEZE_STATUTORY_HOLIDAYS": "false"}
    flows = {e.rsplit(":", 1)[1]: ServedFlow(e, tmp_path_factory.mktemp("serve"), env=env) for e in FLOWS}
    for name, flow in flows.items():
        flow.wait_registered(f"{name}/{name}")
    yield flows
    for flow in flows.values():
        flow.kill9()


def wait_for(what: str, probe, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"never happened: {what}")


def gate_of(client: TestClient, headers: dict, record_type: str, record_id: int, key: str) -> dict:
    def probe():
        for gate in client.get("/approvals", headers=headers).json():
            if gate["record_type"] == record_type and gate["record_id"] == str(record_id) and gate["gate_key"] == key:
                return gate
        return None
    return wait_for(f"{key} gate of {record_type} {record_id}", probe)


def publish(client: TestClient, article_id: int, author: dict, reviewer: dict) -> dict:
    """The author submits; the author cannot pass the gate; the reviewer approves; the article is published."""
    submitted = client.post(f"/knowledge/{article_id}/submit", headers=author)
    assert submitted.status_code == 200 and submitted.json()["status"] == "in_review", submitted.text
    gate = gate_of(client, reviewer, "knowledge_article", article_id, "kb-review")
    own = client.post(f"/approvals/{gate['id']}/decision", json={"decision": "approve"}, headers=author)
    assert own.status_code in (403, 409), own.text  # not a reviewer role, and never the author
    decided = client.post(f"/approvals/{gate['id']}/decision", json={"decision": "approve", "comment": "准确"},
                          headers=reviewer)
    assert decided.status_code == 200, decided.text
    return wait_for("article published", lambda: (a := client.get(f"/knowledge/{article_id}", headers=author).json())
                    ["status"] == "published" and a)


def test_published_article_shows_in_a_new_incidents_acknowledge_gate_and_counts_its_use(
        client: TestClient, session: Session, served: dict[str, ServedFlow]) -> None:
    engineer = token(session, "li-engineer", RoleKey.ENGINEER)
    support = token(session, "wang-support", RoleKey.TECHNICAL_SUPPORT)
    desk = token(session, "desk", RoleKey.SERVICE_DESK)
    ci = client.post("/cis", json={"name": "db-srv-07", "ci_type": "server"}, headers=engineer).json()
    written = client.post("/knowledge", headers=engineer, json={
        "title": "数据库服务器磁盘空间不足", "symptom": "数据库服务器磁盘空间不足，写入失败",
        "cause": "归档日志未清理", "resolution": "清理 /data/arch 下七天前的归档日志", "tags": ["磁盘", "oracle"]})
    assert written.status_code == 201, written.text
    article = publish(client, written.json()["id"], engineer, support)
    assert article["reviewed_by"] is not None and article["published_at"] is not None
    hits = client.get("/knowledge/search", params={"q": "磁盘"}, headers=desk).json()
    assert [h["article"]["id"] for h in hits] == [article["id"]]

    reported = client.post("/incidents", headers=desk, json={
        "title": "db-srv-07 写入失败", "symptom": "数据库服务器磁盘空间不足", "ci_ids": [ci["id"]]})
    assert reported.status_code == 201, reported.text
    incident_id = reported.json()["incident"]["id"]
    gate = gate_of(client, engineer, "incident", incident_id, "acknowledge")
    assert f"KB-{article['id']} 数据库服务器磁盘空间不足" in gate["details_md"]
    links = client.get(f"/knowledge/incidents/{incident_id}", headers=engineer).json()
    assert [(x["article_id"], x["solved"]) for x in links] == [(article["id"], False)]

    for _ in range(2):  # recorded twice, counted once
        used = client.post(f"/knowledge/{article['id']}/solved", json={"incident_id": incident_id}, headers=engineer)
        assert used.status_code == 200 and used.json()["solved"], used.text
    assert client.get(f"/knowledge/{article['id']}", headers=desk).json()["use_count"] == 1
    timeline = [e["kind"] for e in client.get(f"/incidents/{incident_id}/timeline", headers=desk).json()]
    assert "knowledge_linked" in timeline and "knowledge_solved" in timeline
    assert client.post(f"/knowledge/{article['id']}/solved", json={"incident_id": 999999},
                       headers=engineer).status_code == 422


def test_problem_from_three_recurring_incidents_to_known_error_fix_and_closed(
        client: TestClient, session: Session, served: dict[str, ServedFlow], tmp_path: Path) -> None:
    engineer = token(session, "zhou-engineer", RoleKey.ENGINEER)
    pm = token(session, "pm", RoleKey.PROJECT_MANAGER)
    desk = token(session, "desk2", RoleKey.SERVICE_DESK)
    ci = client.post("/cis", json={"name": "oa-srv-03", "ci_type": "server"}, headers=engineer).json()
    # Three closed incidents of the past weeks on the same CI and symptom (the emergency flow's last task,
    # record_problems, is what turns them into a problem when each closes).
    with session_scope() as db:
        ids = [create_incident(db, title=f"OA login times out ({n})", symptom="OA login page times out after 30 s",
                               actor="test", source=Source.DESK, facts=ImpactFacts(), ci_ids=[ci["id"]],
                               reported_at=utcnow() - timedelta(days=20 - 5 * n)).id for n in range(3)]
    for incident_id in ids:
        record_problems.fn(incident_id)
    problem = client.get("/problems", headers=engineer).json()[0]
    assert problem["incident_ids"] == ids and problem["status"] == "logged" and problem["source"] == "recurrence"

    assert client.post(f"/problems/{problem['id']}/close", headers=pm).status_code == 409
    assert client.post(f"/problems/{problem['id']}/investigate", headers=engineer).json()["status"] == "investigating"
    known = client.post(f"/problems/{problem['id']}/known-error", headers=engineer, json={
        "root_cause": "session table lock held by the nightly report", "workaround": "restart the OA session pool"})
    assert known.status_code == 200 and known.json()["status"] == "known_error", known.text
    publish(client, known.json()["article"]["id"], engineer, pm)

    fourth = client.post("/incidents", headers=desk, json={
        "title": "OA login slow", "symptom": "OA login page times out after 45 s", "ci_ids": [ci["id"]]}).json()
    gate = gate_of(client, engineer, "incident", fourth["incident"]["id"], "acknowledge")
    assert "Known error" in gate["details_md"] and "restart the OA session pool" in gate["details_md"]
    assert fourth["incident"]["id"] in client.get(f"/problems/{problem['id']}", headers=pm).json()["incident_ids"]

    fix = {"steps": [{"name": "move report job", "command": "echo moved"}], "verification": [], "rollback": [],
           "rollback_verification": []}
    change_id = submit(client, standard(client, session, fix, "move OA report"), engineer)
    assert finished(client, change_id, engineer, served["release_deployment"])["change"]["status"] == "succeeded"
    linked = client.post(f"/problems/{problem['id']}/fix", json={"change_id": change_id}, headers=engineer)
    assert linked.status_code == 200 and linked.json()["status"] == "fix_scheduled", linked.text
    refused = client.post(f"/problems/{problem['id']}/close", headers=pm)
    assert refused.status_code == 409 and "no recurrence is needed for 30 days" in refused.json()["detail"]

    # The daily housekeeping job closes it once 30 quiet days have passed.
    with session_scope() as db:
        assert close_quiet(db, quiet_days=30, now=utcnow() + timedelta(days=31)) == [problem["id"]]
    closed = client.get(f"/problems/{problem['id']}", headers=pm).json()
    assert closed["status"] == "closed" and closed["fixed_at"] is not None
    actions = [a.action for a in session.exec(select(AuditEvent).where(AuditEvent.record_type == "problem")
                                              .order_by(AuditEvent.id))]
    assert actions == ["problem.investigating", "problem.known_error", "problem.fix_scheduled", "problem.fixed",
                       "problem.closed"]
    assert session.get(Problem, problem["id"]).article_id == known.json()["article"]["id"]
