"""Read prefect.yaml and serve its deployments from one process (the embedded default).

prefect.yaml is the single source of deployments: `prefect deploy --all` sends the same
entries to work pools when a team runs workers on many hosts.
"""

from __future__ import annotations

import logging

from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Schedule

from itss.deployment_specs import DeploymentSpec, load_specs


def runner_deployments(specs: list[DeploymentSpec],
                       extra_schedules: dict[str, list[Schedule]] | None = None) -> list[RunnerDeployment]:
    """RunnerDeployments for `serve`; entrypoints by module path so an installed package works."""
    extra_schedules = extra_schedules or {}
    deployments = []
    for spec in specs:
        deployment = spec.load_flow().to_deployment(
            name=spec.name,
            schedules=spec.prefect_schedules() + extra_schedules.get(spec.name, []),
            parameters=spec.parameters,
            description=spec.description,
            tags=spec.tags,
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        # to_deployment returns a coroutine when called inside an event loop: say so, not fail later in serve.
        if not isinstance(deployment, RunnerDeployment):
            raise RuntimeError("runner_deployments is synchronous: call it outside an event loop")
        deployments.append(deployment)
    return deployments


# How often the runner looks for runs to start; a resumed gate waits for this poll. Prefect's
# default of 10 s made a decision take 8-10 s to reach the next task;
# 0.5 s costs one cheap query per half second against the Prefect server.
POLL_SECONDS = 0.5


def serve_deployments(deployments: list[RunnerDeployment], limit: int | None = None) -> None:
    """Serve `deployments` until interrupted; schedules stay active on exit."""
    from prefect import serve

    serve(*deployments, pause_on_shutdown=False, limit=limit, query_seconds=POLL_SECONDS,
          print_starting_message=False)


def serve_all(limit: int | None = None) -> None:
    """Serve every deployment of prefect.yaml, with each active inspection plan's own schedule."""
    serve_deployments(runner_deployments(load_specs(), _plan_schedules()), limit=limit)


def _plan_schedules() -> dict[str, list[Schedule]]:
    # Applying a deployment replaces all its schedules, so the plans' schedules go in with it.
    from itss import drill_schedules, plan_schedules, schedule_sync
    from models.core.db import session_scope

    try:
        with session_scope() as session:
            return {module.DEPLOYMENT_NAME: schedule_sync.as_prefect(module.wanted(session))
                    for module in (plan_schedules, drill_schedules)}
    except Exception:  # no database yet: prefect.yaml's schedules still serve
        logging.getLogger(__name__).exception("could not read inspection plans; serving without their schedules")
        return {}


def serve_entrypoint(entrypoint: str) -> None:
    """Serve one flow, `package.module:flow`, as a deployment named like the flow (tests, benchmarks)."""
    spec = DeploymentSpec(name="", entrypoint=entrypoint)
    found = spec.load_flow()
    spec.name = found.name
    serve_deployments(runner_deployments([spec]))
