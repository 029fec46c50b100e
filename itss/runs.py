"""Resume and start flow runs through the Prefect client (the API and the sweeper use this)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

import httpx
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.responses import SetStateStatus
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from prefect.settings import PREFECT_API_URL

from itss.run_names import name_at_creation

log = logging.getLogger(__name__)
WAITING = {StateType.PAUSED}


def resume(flow_run_id: str, run_input: dict, *, within: float = 30.0) -> bool:
    """Resume a waiting run, retrying until Prefect accepts (a run is PAUSED slightly before its
    input schema is stored, and may not have reached its wait yet). False if it never did."""
    deadline = time.monotonic() + within
    delay = 0.05
    # Each call is bounded too: Prefect's default request timeout (60 s) would outlast `within`.
    with get_client(sync_client=True, httpx_settings={"timeout": httpx.Timeout(max(within, 5.0))}) as client:
        while True:
            try:
                result = client.resume_flow_run(UUID(flow_run_id), run_input=run_input)
                if result.status == SetStateStatus.ACCEPT:
                    return True
                reason = getattr(result.details, "reason", "")
            except httpx.HTTPStatusError as exc:
                # Prefect 3.8.8 answers 500, not 404, for a run that does not exist.
                reason = f"HTTP {exc.response.status_code}"
            except Exception as exc:  # Prefect unreachable now: the sweeper retries later
                reason = type(exc).__name__
            try:
                state = client.read_flow_run(UUID(flow_run_id)).state
            except ObjectNotFound:
                log.warning("flow run %s does not exist; nothing to resume", flow_run_id)
                return False
            except Exception:
                state = None
            if state is not None and state.is_final():
                return False
            if time.monotonic() + delay > deadline:
                log.warning("flow run %s not resumed within %.0f s: %s", flow_run_id, within, reason)
                return False
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def state_of(flow_run_id: str) -> StateType | None:
    """The run's current state type, or None if Prefect does not know it."""
    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(UUID(flow_run_id))
        except Exception:
            return None
    return run.state.type if run.state else None


EMERGENCY_DEPLOYMENT = "emergency_response/emergency_response"


# Deployment ids by name: reading the deployment for every run doubled the Prefect calls (and their
# parsing, in the API process) of an alert storm. A deployment re-applied under the same name keeps
# its id; a deleted one is read again.
_deployment_ids: dict[str, UUID] = {}


def start_flow(deployment: str, parameters: dict, *, client: SyncPrefectClient | None = None) -> str | None:
    """Create a flow run of a deployment without waiting for it; None if Prefect refused or is away."""
    try:
        if client is None:
            # Prefect's own retries (five, with backoff) stay: they absorb the 503s its server answers
            # while its SQLite is busy. With one retry, a review's archive-access start failed under CI
            # load (6 Dec); with them, a start can outlast a 60 s client timeout there, and the caller
            # (whose 503 says Retry-After) tries again.
            with get_client(sync_client=True) as own:
                return start_flow(deployment, parameters, client=own)
        # Named after its record from the start: a manager reads the Runs page before the run begins.
        name = name_at_creation(deployment.split("/", 1)[0], parameters)
        try:
            run = client.create_flow_run_from_deployment(_deployment_id(client, deployment), parameters=parameters,
                                                         name=name)
        except (ObjectNotFound, PrefectHTTPStatusError) as exc:
            # The deployment was deleted and applied again under the same name (a redeploy, a runner
            # re-applying its deployments): the cached id is stale. Prefect 3.8.8 answers a run of a
            # deleted deployment with a plain 404, not ObjectNotFound.
            if isinstance(exc, PrefectHTTPStatusError) and exc.response.status_code != 404:
                raise
            _deployment_ids.pop(deployment, None)
            run = client.create_flow_run_from_deployment(_deployment_id(client, deployment), parameters=parameters,
                                                         name=name)
    except Exception as exc:  # no deployment yet, Prefect down: the caller leaves it to the sweeper
        response = getattr(exc, "response", None)  # Prefect's answer says why (never the parameters: they may be data)
        log.warning("could not start %s: %s%s", deployment, type(exc).__name__,
                    f" {response.status_code} {response.text[:300]}" if response is not None else "")
        return None
    return str(run.id)


def _deployment_id(client: SyncPrefectClient, deployment: str) -> UUID:
    if deployment not in _deployment_ids:
        _deployment_ids[deployment] = client.read_deployment_by_name(deployment).id
    return _deployment_ids[deployment]


def dispatch_incident(incident_id: int, *, client: SyncPrefectClient | None = None,
                      holding: str | None = None) -> str | None:
    """Start the emergency-response run of an incident exactly once (claimed in the database; with
    `holding`, the claim its creating transaction took, renewed only if nobody took it over)."""
    from sqlmodel import Session

    from models.core.db import get_engine, serialized_writes
    from models.incidents.dispatch import claim_dispatch, finish_dispatch

    with Session(get_engine()) as session:
        with serialized_writes():
            claim = claim_dispatch(session, incident_id, holding=holding)
        if claim is None:
            return None
        run_id = start_flow(EMERGENCY_DEPLOYMENT, {"incident_id": incident_id}, client=client)
        with serialized_writes():
            kept = finish_dispatch(session, incident_id, claim, run_id)
    if run_id is not None and not kept:
        # Prefect took longer than a claim lives and the sweeper started its own run meanwhile.
        log.warning("incident %s was taken over while its run was being created; deleting run %s", incident_id, run_id)
        delete_run(run_id, client=client)
        return None
    return run_id


def delete_run(flow_run_id: str, *, client: SyncPrefectClient | None = None) -> None:
    """Delete a flow run nobody will use (best effort: the sweeper reconciles what is left)."""
    try:
        if client is None:
            with get_client(sync_client=True) as own:
                own.delete_flow_run(UUID(flow_run_id))
        else:
            client.delete_flow_run(UUID(flow_run_id))
    except Exception as exc:
        log.warning("could not delete flow run %s: %s", flow_run_id, type(exc).__name__)


# Starting runs talks to Prefect, which may be slow or retrying; it must never occupy the API's
# request threads (FastAPI background tasks share them: under an alert storm they starved the API).
# One thread, paced (ITSS_DISPATCH_PER_SECOND): creating a run costs the Prefect server tens of ms
# of CPU, and run creation at full speed during a storm of new incidents took the p99 latency of
# the alert webhooks from 78 ms to 240 ms on two cores. Runs start oldest first.
_dispatcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="itss-dispatch")
_queued = threading.BoundedSemaphore(1000)
_local = threading.local()


def _dispatcher_client() -> SyncPrefectClient:
    # The dispatcher keeps one client open: building one costs ~10 ms of CPU (an SSL context each
    # time), which under an alert storm was a sixth of the API process's time. It is rebuilt when
    # the Prefect server in effect changes: a client kept from before (in a test session, one made
    # before the harness started talked to an ephemeral server) started every run on the wrong server.
    url = PREFECT_API_URL.value()
    if getattr(_local, "client", None) is None or _local.url != url:
        if getattr(_local, "client", None) is not None:
            with contextlib.suppress(Exception):  # closing a client of a server that is gone
                _local.client.__exit__(None, None, None)
        _local.client = get_client(sync_client=True)
        _local.client.__enter__()
        _local.url = url
    return _local.client


def _pace() -> None:
    from config.settings import get_settings

    interval = 1.0 / get_settings().dispatch_per_second
    wait = getattr(_local, "next_at", 0.0) - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    _local.next_at = time.monotonic() + interval


def dispatch_soon(incident_id: int, *, holding: str | None = None) -> bool:
    """Queue the start of an incident's run; False when the queue is full (the sweeper starts it)."""
    if not _queued.acquire(blocking=False):
        return False

    def run() -> None:
        try:
            _pace()
            dispatch_incident(incident_id, client=_dispatcher_client(), holding=holding)
        finally:
            _queued.release()

    _dispatcher.submit(run)
    return True
