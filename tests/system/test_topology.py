"""The production topology of the README's runbook, on one machine: a Prefect server on PostgreSQL with basic
auth, the project database on PostgreSQL, `itss deploy`, two process workers with their own data dirs (as on
two hosts), the API under uvicorn with two workers. Driven only as operators and users drive it: the CLI,
the API and Prefect's scheduler; workers die by kill -9.
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort

from tests.support.net import free_port
from tests.support.peers import http_server
from tests.support.system import BIN, wait_until
from tests.support.topology import Topology, postgres_answers, start_topology

pytestmark = pytest.mark.skipif(not postgres_answers(),
                                reason="needs PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres)")


@pytest.fixture(scope="module")
def topo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    running = start_topology(tmp_path_factory.mktemp("topology"))
    yield running
    running.stop()


def _completed_runs(topo: Topology, deployment: str, limit: int = 50) -> list:
    with topo.prefect_client() as client:
        return client.read_flow_runs(deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[deployment])),
                                     flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
                                         type=FlowRunFilterStateType(any_=[StateType.COMPLETED]))),
                                     sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=limit)


def test_deploy_bakes_no_path_of_the_deploying_host(topo: Topology) -> None:
    with topo.prefect_client() as client:
        deployments = client.read_deployments()
        pool = client.read_work_pool("itss")
    assert pool.type == "process" and pool.concurrency_limit == 10
    from itss.deployment_specs import load_specs

    assert sorted(d.name for d in deployments) == sorted(spec.name for spec in load_specs())  # every one of prefect.yaml
    root = str(topo.root)
    for deployment in deployments:
        assert deployment.work_pool_name == "itss"
        assert deployment.entrypoint.startswith("flows.") and ".py" not in deployment.entrypoint
        assert deployment.path is None
        assert deployment.pull_steps == [{"itss.deploy.enter_data_dir": {}}]
        assert root not in deployment.model_dump_json()


def test_the_sweeper_runs_on_its_schedule_on_the_workers(topo: Topology) -> None:
    def completed_scheduled_sweeps() -> list:
        return [r for r in _completed_runs(topo, "gate_sweeper") if "auto-scheduled" in r.tags]

    wait_until(completed_scheduled_sweeps, timeout=180, interval=3, what="a scheduled sweeper run completed by a worker")
    health = wait_until(lambda: (h := topo.get("/health").json())["components"]["sweeper"]["status"] == "ok" and h,
                        timeout=120, interval=3, what="/health to see the sweeper's heartbeat")
    assert health["components"]["sweeper"]["status"] == "ok"


def _contract(topo: Topology, code: str) -> int:
    org = topo.post("/organisations", json={"name": f"Customer {code}", "kind": "customer"})
    assert org.status_code == 201, org.text
    policies = [{"fault_class": fc, "measure": m, "target_minutes": minutes, "calendar": "7x24"}
                for fc in ("major", "general") for m, minutes in (("response", 60), ("on_site", 120),
                                                                 ("resolution", 480))]
    sla = topo.post("/sla/policy-sets", "slm", json={"name": f"sla {code}", "policies": policies})
    assert sla.status_code == 201, sla.text
    today = dt.date.today()
    contract = topo.post("/contracts", json={
        "code": code, "name": code, "customer_id": org.json()["id"], "sla_policy_set_id": sla.json()["id"],
        "starts_on": str(today - dt.timedelta(days=120)), "ends_on": str(today + dt.timedelta(days=240))})
    assert contract.status_code == 201, contract.text
    return contract.json()["id"]


def _gate(topo: Topology, incident_id: int, prefix: str, who: str) -> dict | None:
    return next((g for g in topo.get("/approvals", who).json()
                 if g["record_id"] == str(incident_id) and g["gate_key"].startswith(prefix)), None)


def _flow_run_state(topo: Topology, flow_run_id: str) -> str:
    with topo.prefect_client() as client:
        return client.read_flow_run(flow_run_id).state.name


def _decide_at_suspended_gate(topo: Topology, incident_id: int, prefix: str, who: str, decision: str) -> dict:
    gate = wait_until(lambda: _gate(topo, incident_id, prefix, who), timeout=240, interval=1,
                      what=f"the {prefix} gate")
    run_id = gate["flow_run_id"]
    wait_until(lambda: _flow_run_state(topo, run_id) == "Suspended", timeout=120, interval=1,
               what=f"the run suspended at the {prefix} gate (no process holds it)")
    decided = topo.post(f"/approvals/{gate['id']}/decision", who, json={"decision": decision})
    assert decided.status_code == 200, decided.text
    return gate


def test_an_incident_closes_through_every_gate_on_the_workers_with_one_killed_at_a_gate(topo: Topology) -> None:
    contract_id = _contract(topo, "TOPO-1")
    incident = topo.post("/incidents", "desk", json={"title": "门户无法访问", "symptom": "HTTP 502",
                                                     "contract_id": contract_id})
    assert incident.status_code == 201, incident.text
    incident_id = incident.json()["incident"]["id"]

    ack = wait_until(lambda: _gate(topo, incident_id, "acknowledge", "oncall"), timeout=240, interval=1,
                     what="the acknowledge gate")
    run_id = ack["flow_run_id"]
    wait_until(lambda: _flow_run_state(topo, run_id) == "Suspended", timeout=120, interval=1,
               what="the run suspended at the acknowledge gate")
    # kill -9 one worker host while the run waits at the gate: nothing of the run lives in it
    topo.workers["worker-a"].kill()
    assert topo.post(f"/approvals/{ack['id']}/decision", "oncall", json={"decision": "acknowledge"}).status_code == 200
    # the other worker resumes it; then the killed host comes back
    _decide_at_suspended_gate(topo, incident_id, "restore", "oncall", "resolved")
    topo.start_worker("worker-a")
    _decide_at_suspended_gate(topo, incident_id, "continuity", "oncall", "stable")
    _decide_at_suspended_gate(topo, incident_id, "consent", "customer", "consent")

    wait_until(lambda: _flow_run_state(topo, run_id) == "Completed", timeout=240, interval=2,
               what="the incident's run completed on a worker")
    detail = topo.get(f"/incidents/{incident_id}", "desk").json()["incident"]
    assert detail["status"] == "closed" and detail["consented"] is True
    timeline = topo.get(f"/incidents/{incident_id}/timeline", "desk").json()
    decided = [e["data"]["gate"] for e in timeline if (e.get("data") or {}).get("gate")]
    # each of the four decisions applied exactly once, whichever worker resumed the run
    assert len(decided) == len(set(decided)), decided
    assert sorted(key.rpartition(":")[2] for key in decided) == [
        "acknowledged", "closed", "consented", "continuity_confirmed", "resolved"], decided


def test_a_worker_killed_mid_run_loses_no_decision(topo: Topology) -> None:
    """kill -9 of the worker host whose process is running the flow, right after a decision resumed it."""
    contract_id = _contract(topo, "TOPO-2")
    incident = topo.post("/incidents", "desk", json={"title": "数据库连接超时", "symptom": "timeouts",
                                                     "contract_id": contract_id})
    assert incident.status_code == 201, incident.text
    incident_id = incident.json()["incident"]["id"]
    ack = _decide_at_suspended_gate(topo, incident_id, "acknowledge", "oncall", "acknowledge")
    run_id = ack["flow_run_id"]
    host = wait_until(lambda: topo.worker_running(run_id), timeout=120, interval=0.1,
                      what="a worker process running the resumed flow")
    host.kill()
    topo.start_worker(host.name)
    # the decision is durable: the gate stays decided whatever happened to the process
    ack = topo.get(f"/approvals/{ack['id']}", "oncall").json()
    assert ack["status"] != "pending" and ack["outcome"] == "acknowledge", ack
    # The killed run stays Running until its heartbeats stop for ITSS_RUN_HEARTBEAT_TIMEOUT_SECONDS;
    # then a scheduled sweep retries it and it reaches the next gate.
    wait_until(lambda: _gate(topo, incident_id, "restore", "oncall"), timeout=300, interval=2,
               what="the killed run recovered to its restore gate")


def test_a_plans_schedule_survives_a_redeploy(topo: Topology) -> None:
    with http_server() as port:
        ci = topo.post("/cis", "oncall", json={"name": "topo-web-01", "ci_type": "server", "ip": "127.0.0.1",
                                               "tags": ["topo-web"]})
        assert ci.status_code == 201, ci.text
        plan = {"name": "topology plan", "cron": "17 3 * * *", "timezone": "Asia/Shanghai",
                "scope": {"tags": ["topo-web"]},
                "checks": [{"key": "web", "name": "Portal", "probe": "http",
                            "params": {"url": f"http://{{host}}:{port}/health"}}]}
        created = topo.post("/inspection-plans", "pm", json=plan)
        assert created.status_code == 201, created.text
    slug = f"plan-{created.json()['id']}"

    def plan_schedule() -> list:
        with topo.prefect_client() as client:
            deployment = client.read_deployment_by_name("routine_inspection/routine_inspection")
            return [s for s in client.read_deployment_schedules(deployment.id) if s.slug == slug]

    wait_until(plan_schedule, timeout=60, what="the plan's schedule after saving it")
    redeployed = topo.cli("itss", "deploy")
    assert redeployed.returncode == 0, redeployed.stdout + redeployed.stderr
    assert "1 inspection-plan schedule" in redeployed.stdout
    (schedule,) = plan_schedule()  # right after the deploy, not restored later by the sweeper
    assert schedule.schedule.cron == "17 3 * * *" and schedule.parameters == {"plan": "topology plan"}


def test_stopping_a_worker_as_its_systemd_unit_does_lets_its_running_flow_finish(topo: Topology) -> None:
    """The README's unit: SIGKILL to the worker only (KillMode=process). Prefect's own graceful stop
    (SIGTERM/SIGINT) kills the worker's running flow-run processes; this leaves them to finish."""
    def a_sweep_running_on_a_worker() -> tuple | None:
        with topo.prefect_client() as client:
            runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["gate_sweeper"])),
                flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
                    type=FlowRunFilterStateType(any_=[StateType.RUNNING]))))
        for run in runs:
            if host := topo.worker_running(str(run.id)):
                return run, host
        return None

    run, host = wait_until(a_sweep_running_on_a_worker, timeout=180, interval=0.2,
                           what="a scheduled sweeper run in a worker's process")
    host.proc.send_signal(signal.SIGKILL)  # systemd's KillSignal, to the main process only
    host.proc.wait(60)
    wait_until(lambda: _flow_run_state(topo, str(run.id)) == "Completed", timeout=180, interval=1,
               what="the run the stopped worker had started to finish")
    topo.start_worker(host.name)


def test_itss_up_joins_the_shared_server_without_touching_its_deployments(topo: Topology, tmp_path: Path) -> None:
    with topo.prefect_client() as client:
        before = {d.name: d.updated for d in client.read_deployments()}
    env = dict(topo.env, ITSS_API_PORT=str(free_port()), ITSS_DATA_DIR=str(tmp_path / "data"))
    output = tmp_path / "up.out"
    with output.open("w") as handle:
        up = subprocess.Popen([str(BIN / "itss"), "up"], env=env, cwd=tmp_path, stdout=handle,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: "Ctrl-C" in output.read_text() or up.poll() is not None, timeout=180,
                   what="`itss up` to join the shared server")
        text = output.read_text()
        assert "runs the API only" in text, text
        assert "runner" not in [p.name for p in (tmp_path / "data" / "logs").glob("*.log")] and not (
            tmp_path / "data" / "logs" / "runner.log").exists()
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(60)
    with topo.prefect_client() as client:
        assert {d.name: d.updated for d in client.read_deployments()} == before
