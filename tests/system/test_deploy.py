"""`prefect deploy --all` works against the running system's Prefect server with the pinned dependency set,
and an inspection plan's schedule, which applying a deployment deletes, is back without anyone syncing it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.system import System, start_system, wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def system(tmp_path: Path):
    running = start_system(tmp_path)
    yield running
    running.stop()


def plan_schedules(system: System) -> dict[str, str]:
    with system.prefect_client() as client:
        deployment = client.read_deployment_by_name("routine_inspection/routine_inspection")
        return {s.slug: s.schedule.cron for s in client.read_deployment_schedules(deployment.id)
                if (s.slug or "").startswith("plan-")}


def test_prefect_deploy_all_exits_0_and_plan_schedules_survive_it(system: System) -> None:
    ci = system.post("/cis", "oncall", json={"name": "deploy-web-01", "ci_type": "server", "ip": "127.0.0.1",
                                             "tags": ["deploy-web"]})
    assert ci.status_code == 201, ci.text
    plan = {"name": "nightly", "cron": "15 3 * * *", "timezone": "Asia/Shanghai", "scope": {"tags": ["deploy-web"]},
            "checks": [{"key": "port", "name": "SSH port", "probe": "tcp", "params": {"port": 22}}]}
    plan_id = system.post("/inspection-plans", "pm", json=plan).json()["id"]
    wait_until(lambda: plan_schedules(system) == {f"plan-{plan_id}": "15 3 * * *"}, timeout=120,
               what="the plan's schedule in Prefect (synced after the save)")

    pool = system.run_cli("prefect", "work-pool", "create", "itss", "--type", "process")
    assert pool.returncode == 0, pool.stdout + pool.stderr
    deployed = system.run_cli("prefect", "--no-prompt", "deploy", "--all", cwd=ROOT)
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
    listed = system.run_cli("prefect", "deployment", "ls")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    for name in ("gate_sweeper", "emergency_response", "routine_inspection", "release_deployment",
                 "quarterly_review", "archive_access"):
        assert name in listed.stdout

    # Applying the deployment replaced its schedules; the scheduled sweeper puts the plan's back.
    wait_until(lambda: plan_schedules(system) == {f"plan-{plan_id}": "15 3 * * *"}, timeout=180, interval=2,
               what="the plan's schedule restored after the deploy")
