"""Two people before code runs unattended: a standard change template is unusable until the CAB approves it
(its author cannot), and again after every edit — on the real `itss up`, through the API and Prefect."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.system import System, start_system, wait_until

# The template's author and the plan's author each hold cab_member too: neither may pass their own gate.
PEOPLE = {"admin": ["admin"], "author": ["change_manager", "cab_member"], "planner": ["engineer", "cab_member"],
          "cab1": ["cab_member"], "cab2": ["cab_member"], "oncall": ["engineer"]}
TEMPLATE = {"name": "restart app", "standard_kind": "nonprod_software", "planned_minutes": 10,
            "steps": [{"name": "restart", "command": "echo restarting app"}]}
CHANGE = {"title": "restart app on test", "change_type": "standard", "template": "restart app"}


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """One `itss up` for both tests (each works on its own template or plan)."""
    running = start_system(tmp_path_factory.mktemp("four-eyes"), people=PEOPLE)
    yield running
    assert running.stop() == 0


def registered(system, deployment: str) -> None:
    """Wait until the runner serves `deployment` (before that, the sweeper would start the approval run later)."""
    def found() -> bool:
        with system.prefect_client() as client:
            return client.read_deployment_by_name(deployment) is not None

    wait_until(lambda: _quiet(found), timeout=300, what=f"{deployment} to be served")


def _started(answer: httpx.Response) -> httpx.Response | None:
    """The answer, or None after a 503 that says when to try again (anything else is returned for the assert)."""
    if answer.status_code == 503:
        assert answer.headers.get("Retry-After"), answer.text
        return None
    return answer


def _quiet(check) -> bool:
    try:
        return check()
    except Exception:  # not registered yet
        return False


def test_a_template_is_unusable_until_a_second_person_approves_it(system: System) -> None:
    registered(system, "template_approval/template_approval")
    created = system.post("/change-templates", who="author", json=TEMPLATE)
    assert created.status_code == 201, created.text
    template = created.json()
    assert template["approval_status"] == "pending" and template["version"] == 1

    # M5 replayed: the change manager alone cannot run it.
    refused = system.post("/changes", who="oncall", json=CHANGE)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "template" and "not approved" in refused.text

    def gate_for(who: str) -> dict | None:
        return next((g for g in system.get("/approvals", who=who).json()
                     if g["record_type"] == "change_template" and g["record_id"] == str(template["id"])), None)

    gate = wait_until(lambda: gate_for("cab1"), timeout=900, what="the template's CAB gate")
    assert "echo restarting app" in gate["details_md"]
    assert gate_for("author") is None  # the author holds cab_member, but not for their own template
    own = system.post(f"/approvals/{gate['id']}/decision", who="author", json={"decision": "approve"})
    assert own.status_code == 403, own.text
    for member in ("cab1", "cab2"):
        voted = system.post(f"/approvals/{gate['id']}/decision", who=member, json={"decision": "approve"})
        assert voted.status_code == 200, voted.text

    def approved() -> dict | None:
        found = next(t for t in system.get("/change-templates").json() if t["id"] == template["id"])
        return found if found["approval_status"] == "approved" else None

    done = wait_until(approved, timeout=900, what="the approval run to mark the template approved")
    assert done["approved_at"] is not None and done["approved_by"] is not None
    usable = system.post("/changes", who="oncall", json=CHANGE)
    assert usable.status_code == 201, usable.text

    # An edit is a new version: unusable again until approved again.
    edited = httpx.put(f"{system.api}/change-templates/{template['id']}", headers=system.headers("author"),
                       timeout=30, json={**TEMPLATE, "steps": [{"name": "restart",
                                                                "command": "echo restarting app; echo twice"}]})
    assert edited.status_code == 200, edited.text
    assert edited.json()["approval_status"] == "pending" and edited.json()["version"] == 2
    again = system.post("/changes", who="oncall", json=CHANGE)
    assert again.status_code == 422 and "version 2" in again.text

    audit = system.get(f"/audit?record_type=change_template&record_id={template['id']}").json()
    actions = {a["action"]: a["actor"] for a in audit}
    cab2 = system.get("/people/me", who="cab2").json()["id"]
    author = system.get("/people/me", who="author").json()["id"]
    assert actions["change_template.created"] == f"person:{author}"
    assert actions["change_template.approved"] == f"person:{cab2}"  # the decider, not the author
    assert actions["change_template.edited"] == f"person:{author}"


PLAN = {"name": "load over ssh", "cron": "0 9 * * *", "scope": {"names": ["app-01"]},
        "checks": [{"key": "load", "name": "load average", "probe": "ssh_command", "params": {"command": "uptime"}}]}


def test_an_inspection_plan_running_commands_waits_for_a_second_person(system: System) -> None:
    registered(system, "plan_approval/plan_approval")
    assert system.post("/cis", who="oncall", json={"name": "app-01", "ci_type": "server",
                                                   "ip": "127.0.0.1"}).status_code == 201
    saved = system.post("/inspection-plans", who="planner", json=PLAN)
    assert saved.status_code == 201, saved.text
    plan = saved.json()
    assert plan["approval_status"] == "pending"
    refused = system.post(f"/inspection-plans/{plan['id']}/runs", who="oncall")
    assert refused.status_code == 409 and "ssh_command" in refused.text

    def gate_for(who: str) -> dict | None:
        return next((g for g in system.get("/approvals", who=who).json()
                     if g["record_type"] == "inspection_plan" and g["record_id"] == str(plan["id"])), None)

    gate = wait_until(lambda: gate_for("cab1"), timeout=900, what="the plan's approval gate")
    assert "uptime" in gate["details_md"] and gate_for("planner") is None
    assert system.post(f"/approvals/{gate['id']}/decision", who="planner",
                       json={"decision": "approve"}).status_code == 403
    assert system.post(f"/approvals/{gate['id']}/decision", who="cab1",
                       json={"decision": "approve"}).status_code == 200
    wait_until(lambda: system.get(f"/inspection-plans/{plan['id']}").json()["approval_status"] == "approved",
               timeout=900, what="the plan to be approved")
    # A 503 (Prefect busy on a loaded machine) says Retry-After; the engineer tries again, as a client should.
    started = wait_until(lambda: _started(system.post(f"/inspection-plans/{plan['id']}/runs", who="oncall")),
                         timeout=300, interval=5, what="the approved plan's run to start")
    assert started.status_code == 202, started.text
