"""Each test on the Prefect harness ends with no unfinished flow run (tests/conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.states import Completed, Scheduled

from models.core.clock import utcnow
from tests.conftest import delete_unfinished_flow_runs

pytestmark = pytest.mark.usefixtures("prefect_harness")


@flow(name="isolation-probe")
def probe() -> None:
    """A flow whose runs are only created, never executed."""


def test_leftover_scheduled_runs_are_deleted_finished_ones_kept() -> None:
    with get_client(sync_client=True) as client:
        later = client.create_flow_run(probe, state=Scheduled(scheduled_time=utcnow() + timedelta(hours=1)))
        done = client.create_flow_run(probe, state=Completed())
        assert delete_unfinished_flow_runs() >= 1
        left = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[later.id, done.id])))
    assert [run.id for run in left] == [done.id]
