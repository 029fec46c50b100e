"""Starting a run by deployment name survives the deployment being deleted and applied again (a new id)."""

from __future__ import annotations

import pytest
from prefect.client.orchestration import get_client

from itss import runs

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def apply(flow_name: str, name: str) -> str:
    """Apply a deployment (no runner needed: a run only has to be created); returns its id."""
    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name(flow_name)
        return str(client.create_deployment(flow_id=flow_id, name=name))


def test_a_redeployed_deployment_gets_its_runs_started_again() -> None:
    first = apply("redeployed", "redeployed")
    assert runs.start_flow("redeployed/redeployed", {}) is not None  # its id is now cached
    with get_client(sync_client=True) as client:
        client.delete_deployment(first)
    second = apply("redeployed", "redeployed")
    assert second != first
    started = runs.start_flow("redeployed/redeployed", {})
    assert started is not None, "the stale cached deployment id was used"
    with get_client(sync_client=True) as client:
        assert str(client.read_flow_run(started).deployment_id) == second


def test_the_dispatcher_starts_runs_on_the_prefect_server_in_effect_now() -> None:
    """The dispatcher thread keeps one client; one made while another server was in effect (in CI, an
    ephemeral server spawned before the harness) started every incident's run there: none was paged."""
    import prefect.context
    from prefect.settings import PREFECT_API_URL, temporary_settings

    apply("followed", "followed")
    with (temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}),  # nothing listens there
          prefect.context._temporary_global_settings_context(prefect.context.get_settings_context())):
        before = runs._dispatcher.submit(runs._dispatcher_client).result()
    assert str(before.api_url).startswith("http://127.0.0.1:9/")

    started = runs._dispatcher.submit(
        lambda: runs.start_flow("followed/followed", {}, client=runs._dispatcher_client())).result()
    assert started is not None, "the dispatcher kept the client of the server in effect before"
