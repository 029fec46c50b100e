"""The routine_inspection flow on real loopback servers: results, report, exceptions, one incident per CI + check."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
from prefect.client.schemas.sorting import FlowRunSort
from sqlmodel import Session, select

from flows.routine_inspection import routine_inspection
from models.directory.roles import RoleKey
from models.incidents.tables import Incident, Source
from models.inspection.tables import InspectionResult, InspectionRun
from tests.support.net import free_port
from tests.support.peers import http_server, silent_server

pytestmark = [pytest.mark.usefixtures("prefect_harness")]


def emergency_runs() -> int:
    with get_client(sync_client=True) as client:
        return len(client.read_flow_runs(deployment_filter=DeploymentFilter(
            name=DeploymentFilterName(any_=["emergency_response"])), sort=FlowRunSort.ID_DESC, limit=200))


def plan(http_port: int, closed_port: int, silent_port: int) -> dict:
    return {
        "name": "core daily", "objective": "每日核心设备巡检", "cron": "0 9 * * *",
        "scope": {"tags": ["core-web"]},
        "checks": [
            {"key": "web", "name": "Portal health", "probe": "http",
             "params": {"url": f"http://{{host}}:{http_port}/health", "keyword": "healthy"}},
            {"key": "db_port", "name": "Database port", "probe": "tcp", "params": {"port": closed_port},
             "on_critical": {"notify": ["engineer"], "open_incident": True, "fault_class": "major"}},
            {"key": "api", "name": "API answers", "probe": "http", "timeout_seconds": 0.5,
             "params": {"url": f"http://{{host}}:{silent_port}/"}},
        ],
    }


def test_critical_opens_one_incident_and_one_emergency_run_across_two_runs(
        client: TestClient, headers, session: Session, tmp_path: Path) -> None:
    from flows.emergency_response import emergency_response

    emergency_response.to_deployment(name="emergency_response").apply()  # runs are created, not executed here
    before = emergency_runs()
    lead = headers[RoleKey.ENGINEER]
    for name in ("web-01", "web-02"):
        assert client.post("/cis", json={"name": name, "ci_type": "server", "ip": "127.0.0.1",
                                         "tags": ["core-web"]}, headers=lead).status_code == 201
    with http_server() as http_port, silent_server() as silent_port:
        spec = plan(http_port, free_port(), silent_port)
        assert client.post("/inspection-plans", json=spec, headers=lead).status_code == 201
        first = routine_inspection("core daily", trigger="manual")
        second = routine_inspection("core daily")

    incidents = session.exec(select(Incident).where(Incident.source == Source.INSPECTION)).all()
    assert len(incidents) == 2  # web-01 and web-02 database port, once each
    assert {i.fault_class.value for i in incidents} == {"major"}
    assert all(i.alert_count == 2 for i in incidents)  # the second run counted on the open incident
    assert sorted(first["incidents"]) == sorted(second["incidents"]) == sorted(i.id for i in incidents)
    assert emergency_runs() - before == 2

    run = session.get(InspectionRun, first["run_id"])
    assert run.status.value == "completed" and run.targets == 2 and run.checks == 6
    assert run.counts == {"ok": 2, "critical": 2, "error": 2}
    assert "Database port" in run.report_md and "refused" in run.report_md and "timed out" in run.report_md

    results = client.get(f"/inspection-runs/{run.id}/results", params={"status": "error"}, headers=lead).json()
    assert {r["check_key"] for r in results} == {"api"} and len(results) == 2
    assert not any(i.unknown_ci for i in incidents)  # linked to the inspected CIs
    ci_id = results[0]["ci_id"]
    history = client.get(f"/cis/{ci_id}/checks/db_port/history", headers=lead).json()
    assert [h["status"] for h in history] == ["critical", "critical"]
    csv = client.get(f"/inspection-runs/{run.id}/results.csv", headers=lead)
    assert csv.status_code == 200 and csv.text.count("\n") == 7 and "check_key" in csv.text
    assert len(session.exec(select(InspectionResult)).all()) == 12


@pytest.mark.parametrize(("change", "field"), [
    (lambda p: p.update(cron="every day at nine"), "cron"),
    (lambda p: p["checks"][0].update(probe="telnet"), "checks.0.probe"),
    (lambda p: p["checks"][1].update(warning=-5), "checks.1.warning"),
    (lambda p: p["checks"][1].update(params={"port": 70000}), "checks.1"),
    (lambda p: p.update(scope={"tags": ["no-such-tag"]}), "scope"),
    (lambda p: p.update(report_template="# {{ plan.name }\n{% if %}"), "report_template"),
])
def test_bad_plan_is_422_naming_the_field_and_stores_nothing(client: TestClient, headers, change, field) -> None:
    lead = headers[RoleKey.ENGINEER]
    client.post("/cis", json={"name": "web-01", "ci_type": "server", "ip": "127.0.0.1", "tags": ["core-web"]},
                headers=lead)
    spec = plan(80, 81, 82)
    change(spec)
    response = client.post("/inspection-plans", json=spec, headers=lead)
    assert response.status_code == 422, response.text
    assert any(e["field"].startswith(field) for e in response.json()["errors"]), response.json()
    assert client.get("/inspection-plans", headers=lead).json() == []


def test_plans_load_from_yaml_all_or_nothing(client: TestClient, headers) -> None:
    lead = headers[RoleKey.ENGINEER]
    client.post("/cis", json={"name": "web-01", "ci_type": "server", "ip": "127.0.0.1", "tags": ["core-web"]},
                headers=lead)
    good = """
name: web daily
cron: "0 9 * * *"
scope: {tags: [core-web]}
checks:
  - {key: port, name: HTTPS port, probe: tcp, params: {port: 443}}
"""
    bad = good.replace("name: web daily", "name: other").replace("probe: tcp", "probe: tcpx")
    yaml_headers = lead | {"Content-Type": "application/yaml"}
    refused = client.post("/inspection-plans/import", content=good + "---\n" + bad, headers=yaml_headers)
    assert refused.status_code == 422 and "checks.0.probe" in refused.text
    assert client.get("/inspection-plans", headers=lead).json() == []
    loaded = client.post("/inspection-plans/import", content=good, headers=yaml_headers)
    assert loaded.status_code == 201 and loaded.json()[0]["spec"]["checks"][0]["params"] == {"port": 443}
    assert client.post("/inspection-plans/import", content=good, headers=headers[RoleKey.CUSTOMER_REP]).status_code == 403


def deployment_schedules() -> dict[str, tuple[str, str, dict]]:
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name("routine_inspection/routine_inspection")
        return {s.slug or "prefect.yaml": (s.schedule.cron, s.schedule.timezone, s.parameters)
                for s in client.read_deployment_schedules(deployment.id)}


def test_each_plan_runs_on_its_own_cron_schedule_in_prefect(client: TestClient, headers) -> None:
    from itss.deployment_specs import load_specs
    from itss.deployments import _plan_schedules, runner_deployments

    specs = [s for s in load_specs() if s.name == "routine_inspection"]
    runner_deployments(specs)[0].apply()  # as `itss up` applies prefect.yaml: the demo plan at 09:00
    yaml_only = deployment_schedules()
    assert list(yaml_only.values()) == [("0 9 * * *", "Asia/Shanghai", {})]

    lead = headers[RoleKey.ENGINEER]
    client.post("/cis", json={"name": "web-01", "ci_type": "server", "ip": "127.0.0.1", "tags": ["core-web"]},
                headers=lead)
    spec = plan(80, 81, 82) | {"cron": "30 */4 * * *"}
    plan_id = client.post("/inspection-plans", json=spec, headers=lead).json()["id"]
    # prefect.yaml already runs the demo plan at this cron: no second schedule for it.
    demo = plan(80, 81, 82) | {"name": "EGOV daily core inspection", "timezone": "Asia/Shanghai"}
    assert client.post("/inspection-plans", json=demo, headers=lead).status_code == 201
    assert deployment_schedules() == yaml_only | {
        f"plan-{plan_id}": ("30 */4 * * *", "Asia/Shanghai", {"plan": "core daily"})}

    client.post("/inspection-plans", json=spec | {"cron": "0 22 * * 1-5", "timezone": "UTC"}, headers=lead)
    assert deployment_schedules()[f"plan-{plan_id}"] == ("0 22 * * 1-5", "UTC", {"plan": "core daily"})

    # Re-applying prefect.yaml (a restart) replaces every schedule: serve_all puts the plans' back.
    runner_deployments(specs, _plan_schedules())[0].apply()
    assert deployment_schedules()[f"plan-{plan_id}"] == ("0 22 * * 1-5", "UTC", {"plan": "core daily"})

    paused = client.patch("/inspection-plans/core daily", json={"active": False}, headers=lead)
    assert paused.status_code == 200 and paused.json()["active"] is False
    assert deployment_schedules() == yaml_only
    assert client.patch("/inspection-plans/core daily", json={"active": False},
                        headers=headers[RoleKey.CUSTOMER_REP]).status_code == 403
    # A paused plan's scheduled run is skipped, not failed; an on-demand run still works.
    assert routine_inspection("core daily")["skipped"] == "plan paused"
    client.patch("/inspection-plans/core daily", json={"active": True}, headers=lead)
    assert f"plan-{plan_id}" in deployment_schedules()
