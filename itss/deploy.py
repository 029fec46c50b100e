"""`itss deploy`: prefect.yaml's deployments on a work pool, runnable by a worker on any host.

`prefect deploy` bakes the deploying checkout's absolute path (a `set_working_directory` pull step)
and file entrypoints into every deployment, so a worker needs the code at that same path. Here the
entrypoints are module paths, importable wherever this package is installed, and the one pull step
enters the worker host's own ITSS_DATA_DIR (`enter_data_dir`), so relative files land where that
host keeps them. Applying a deployment replaces its schedules, so each active inspection plan's
schedule is applied with it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
from prefect.exceptions import ObjectNotFound

DEFAULT_POOL = "itss"
PULL_STEP = "itss.deploy.enter_data_dir"


class DeployError(Exception):
    """The deployment cannot be applied as asked; the message says what to change."""


@dataclass
class Applied:
    """What one `itss deploy` did."""

    pool: str
    pool_created: bool
    deployments: list[str]
    plan_schedules: int


def enter_data_dir() -> dict[str, str]:
    """Pull step run by the flow-run process on the worker: enter this host's ITSS_DATA_DIR."""
    raw = os.environ.get("ITSS_DATA_DIR")
    if not raw or not Path(raw).is_absolute():
        # a process worker starts each flow run in a fresh temporary directory: a relative data dir
        # would silently become a new, empty SQLite database there
        raise DeployError(f"ITSS_DATA_DIR must be an absolute path on a worker host (it is {raw!r}); "
                          "set it in the worker's environment, e.g. ITSS_DATA_DIR=/var/lib/itss")
    path = Path(raw)
    path.mkdir(parents=True, exist_ok=True)
    os.chdir(path)
    return {"directory": str(path)}


def ensure_pool(client: SyncPrefectClient, name: str, concurrency_limit: int | None) -> bool:
    """Create the process work pool if missing (True), else set its concurrency limit if one is given."""
    try:
        pool = client.read_work_pool(name)
    except ObjectNotFound:
        from prefect.workers.process import ProcessWorker

        client.create_work_pool(WorkPoolCreate(
            name=name, type="process", concurrency_limit=concurrency_limit,
            base_job_template=ProcessWorker.get_default_base_job_template()))
        return True
    if pool.type != "process":
        raise DeployError(f"work pool {name!r} is of type {pool.type!r}; ITSS needs a 'process' pool "
                          "(choose another name with --pool)")
    if concurrency_limit is not None and pool.concurrency_limit != concurrency_limit:
        client.update_work_pool(name, WorkPoolUpdate(concurrency_limit=concurrency_limit))
    return False


def payloads(pool: str) -> list[dict[str, Any]]:
    """The create-deployment payload of every prefect.yaml entry (plans' schedules included)."""
    from itss.deployment_specs import load_specs
    from itss.deployments import _plan_schedules, runner_deployments

    plans = _plan_schedules()
    result: list[dict[str, Any]] = []
    for deployment in runner_deployments(load_specs(), plans):
        schedules = deployment._schedules_with_serialized_block_parameters()
        result.append(dict(
            flow_name=deployment.flow_name, name=deployment.name, work_pool_name=pool,
            entrypoint=deployment.entrypoint,  # `package.module.flow`: no path of this host in it
            path=None, pull_steps=[{PULL_STEP: {}}],
            schedules=schedules, parameters=deployment.parameters, description=deployment.description,
            tags=deployment.tags, enforce_parameter_schema=True,
            # A flow run's output goes to Prefect's API (its logs in the UI), not through a pipe to its
            # worker: a run then outlives its worker (a systemd stop, a worker killed) instead of dying
            # on its next log line written to the dead worker's pipe.
            job_variables={"stream_output": False},
            parameter_openapi_schema=deployment._parameter_openapi_schema.model_dump(exclude_unset=True),
        ))
    return result


def apply(client: SyncPrefectClient, pool: str = DEFAULT_POOL, concurrency_limit: int | None = None) -> Applied:
    """Create the pool if missing and apply every deployment of prefect.yaml to it."""
    created = ensure_pool(client, pool, concurrency_limit)
    names, plan_count = [], 0
    for payload in payloads(pool):
        flow_id = client.create_flow_from_name(payload.pop("flow_name"))
        schedules = payload.pop("schedules")
        plan_count += sum(1 for s in schedules if (s.slug or "").startswith("plan-"))
        # the server upserts by (flow, name): a re-deploy updates in place and keeps the deployment's id
        client.create_deployment(flow_id=flow_id, schedules=schedules, **payload)
        names.append(payload["name"])
    return Applied(pool, created, names, plan_count)


def served_elsewhere(client: SyncPrefectClient) -> tuple[list[str], list[str]]:
    """(deployments on a work pool, deployments served by a runner) among prefect.yaml's, on this server."""
    from itss.deployment_specs import load_specs

    pooled: list[str] = []
    served: list[str] = []
    for spec in load_specs():
        try:
            deployment = client.read_deployment_by_name(f"{spec.load_flow().name}/{spec.name}")
        except ObjectNotFound:
            continue
        (pooled if deployment.work_pool_name else served).append(spec.name)
    return pooled, served
