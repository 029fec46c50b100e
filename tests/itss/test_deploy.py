"""`itss deploy` against a real (temporary) Prefect server: the pool, portable deployments, plans' schedules;
and `itss up`'s decision to join a shared server or refuse. The full topology is tests/system/test_topology.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from rich.console import Console
from sqlmodel import Session

from itss.deploy import DeployError, apply, enter_data_dir
from itss.deployment_specs import load_specs
from itss.supervisor import join_existing
from models.inspection.tables import InspectionPlan

ROOT = str(Path(__file__).resolve().parents[2])


def test_the_pull_step_enters_the_worker_hosts_absolute_data_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ITSS_DATA_DIR", str(tmp_path / "var" / "itss"))
    assert enter_data_dir() == {"directory": str(tmp_path / "var" / "itss")}
    assert os.getcwd() == str(tmp_path / "var" / "itss")


@pytest.mark.parametrize("value", [None, ".itss", "data"])
def test_the_pull_step_refuses_a_relative_data_dir(value: str | None, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    if value is None:
        monkeypatch.delenv("ITSS_DATA_DIR", raising=False)
    else:
        monkeypatch.setenv("ITSS_DATA_DIR", value)
    with pytest.raises(DeployError, match="ITSS_DATA_DIR must be an absolute path"):
        enter_data_dir()
    assert os.getcwd() == str(tmp_path)


def test_deploy_applies_portable_deployments_with_the_plans_schedules_and_a_redeploy_keeps_them(
        session: Session, prefect_harness: None) -> None:
    plan = InspectionPlan(name="nightly web", spec={"cron": "17 3 * * *", "timezone": "Asia/Shanghai",
                                                    "scope": {"tags": ["web"]}, "checks": []})
    session.add(plan)
    session.commit()
    with get_client(sync_client=True) as client:
        first = apply(client, "itss-test", concurrency_limit=3)
        assert first.pool_created and first.plan_schedules == 1
        assert sorted(first.deployments) == sorted(s.name for s in load_specs())
        pool = client.read_work_pool("itss-test")
        assert pool.type == "process" and pool.concurrency_limit == 3
        deployment = client.read_deployment_by_name("routine_inspection/routine_inspection")
        assert deployment.entrypoint == "flows.routine_inspection.routine_inspection"
        assert deployment.path is None and deployment.pull_steps == [{"itss.deploy.enter_data_dir": {}}]
        assert deployment.work_pool_name == "itss-test"
        assert ROOT not in deployment.model_dump_json()

        again = apply(client, "itss-test", concurrency_limit=5)
        assert not again.pool_created
        assert client.read_work_pool("itss-test").concurrency_limit == 5
        same = client.read_deployment_by_name("routine_inspection/routine_inspection")
        assert same.id == deployment.id
        slugs = [s.slug for s in client.read_deployment_schedules(same.id)]
        assert slugs.count(f"plan-{plan.id}") == 1


def test_deploy_refuses_a_pool_of_another_type(prefect_harness: None) -> None:
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="not-process", type="prefect-agent"))
        with pytest.raises(DeployError, match="'process' pool"):
            apply(client, "not-process")


def test_itss_up_refuses_a_server_whose_deployments_a_runner_serves_and_joins_one_deployed_to_a_pool(
        session: Session, prefect_harness: None) -> None:
    from itss.deployments import runner_deployments

    console = Console(record=True, width=200)
    with get_client(sync_client=True) as client:  # the harness's server is shared by this session's tests
        for existing in client.read_deployments():
            client.delete_deployment(existing.id)
    for deployment in runner_deployments(load_specs()[:1]):  # as `itss serve` applies them: no work pool
        deployment.apply()
    with pytest.raises(SystemExit) as refused:
        join_existing("http://prefect.example/api", console)
    assert refused.value.code == 2
    text = console.export_text()
    assert "served by another runner" in text and "itss deploy" in text and "itss api" in text

    with get_client(sync_client=True) as client:
        apply(client, "itss")
    join_existing("http://prefect.example/api", console)  # returns: the API only
    assert "runs the API only" in console.export_text()
