"""Shared fixtures: a migrated database (SQLite, or PostgreSQL via ITSS_TEST_DATABASE_URL),
cleaned after every test; an API client; tokens per role; one Prefect test harness per session."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path


def _worker_database(url: str) -> str:
    """Under pytest-xdist each worker gets a PostgreSQL database of its own (tests truncate every table)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not url.startswith("postgresql"):
        return url
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = f"{parsed.database}_{worker}"
    with psycopg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432, user=parsed.username or "postgres",
                         dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    return parsed.set(database=name).render_as_string(hide_password=False)


# Configure before any project module reads its settings.
_TMP = Path(tempfile.mkdtemp(prefix="itss-tests-"))
os.environ["ITSS_DATA_DIR"] = str(_TMP)
_TEST_URL = os.environ.get("ITSS_TEST_DATABASE_URL")
os.environ["ITSS_DATABASE_URL"] = _worker_database(_TEST_URL) if _TEST_URL else f"sqlite:///{_TMP}/itss.db"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("ITSS_GATE_SECRET", "test-gate-secret")
# In-process API tests have no scheduler to watch; system tests run the real pulse.
os.environ["ITSS_PULSE_ENABLED"] = "false"

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402
from sqlmodel import Session  # noqa: E402

from models.core.db import get_engine  # noqa: E402
from models.core.migrate import upgrade  # noqa: E402
from models.directory.reference import ensure_reference_data  # noqa: E402
from models.directory.roles import RoleKey  # noqa: E402
from models.directory.service import create_person, issue_token  # noqa: E402
from models.tables import metadata  # noqa: E402

DB_FIXTURES = {"session", "client", "headers", "make_person", "database"}
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop this worker's own PostgreSQL database."""
    if _TEST_URL and os.environ["ITSS_DATABASE_URL"] != _TEST_URL:
        import psycopg
        from sqlalchemy.engine import make_url

        from api.alert_processor import stop_processor

        stop_processor()  # a test may have woken it without the app's shutdown; it must not outlive its database
        get_engine().dispose()
        parsed = make_url(os.environ["ITSS_DATABASE_URL"])
        with psycopg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
                             user=parsed.username or "postgres", dbname="postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')  # type: ignore[arg-type]


# The longest test files, longest first (measured in CI on 2 cores, seconds of one worker each: the
# sweeper's minute-long targets ~340, each fault file ~300, ...). xdist (--dist loadfile, with
# --no-loadscope-reorder) hands files out in this order, so none of them starts when the others are
# done: ordered by test count, the 340 s file started last and CI waited for it alone.
LONGEST_FIRST = [
    "tests/system/unattended/test_sweeper_escalation.py",
    "tests/system/faults/test_kill_processes.py",
    "tests/system/faults/test_kill_runs.py",
    "tests/system/test_knowledge_problems.py",
    "tests/system/unattended/test_pulse.py",
    "tests/system/unattended/test_schedules.py",
    "tests/system/test_drills.py",
    "tests/system/test_topology.py",
    "tests/system/test_what_people_see.py",
    "tests/flows/test_quarterly_review.py",
    "tests/system/test_template_approval.py",
    "tests/itss/test_up.py",
    "tests/flows/test_release_deployment.py",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that touches the project database (CI reruns them on PostgreSQL); longest files first."""
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))  # stable: order within kept


@pytest.fixture(scope="session")
def database() -> str:
    """Migrate the test database to head once per session; returns its URL."""
    url = os.environ["ITSS_DATABASE_URL"]
    upgrade(url)
    with Session(get_engine()) as session:
        ensure_reference_data(session)
        session.commit()
    return url


def clean_database() -> None:
    """Delete every row, then restore reference data: each test leaves the database as it found it."""
    engine = get_engine()
    tables = [t for t in reversed(metadata.sorted_tables)]
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    names = ", ".join(f'"{t.name}"' for t in tables)
                    conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                else:
                    for table in tables:
                        conn.execute(table.delete())
            break
        except OperationalError:
            # A run the test started in the background (a dispatch, a last alert batch) may still hold
            # a row lock; PostgreSQL then picks the TRUNCATE as the deadlock victim. It is retried.
            if attempt == 4:
                raise
    with Session(engine) as session:
        ensure_reference_data(session)
        session.commit()


@pytest.fixture
def session(database: str) -> Iterator[Session]:
    """A session on the clean test database."""
    with Session(get_engine(), expire_on_commit=False) as db_session:
        yield db_session
    clean_database()


@pytest.fixture
def client(session: Session) -> Iterator[TestClient]:
    """An API client (no credentials; pass `headers`)."""
    from api.main import app

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def make_person(session: Session) -> Callable[..., dict[str, str]]:
    """Create a person with roles; returns the Authorization headers of a fresh token."""

    def make(name: str, *roles: RoleKey) -> dict[str, str]:
        person = create_person(session, name=name, roles=list(roles), actor="test")
        _, secret = issue_token(session, person_id=person.id, actor="test")
        session.commit()
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture
def headers(make_person: Callable[..., dict[str, str]]) -> dict[RoleKey, dict[str, str]]:
    """One person per ITSS role, keyed by role: their Authorization headers."""
    return {role: make_person(f"{role.value}-user", role) for role in RoleKey}


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server for the whole session (it takes ~15 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests keep screenshots and reports for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def tmp_data_dir(tmp_path: Path) -> Path:
    """A throwaway data directory."""
    return tmp_path


@pytest.fixture
def live_api(session: Session, prefect_harness: None) -> Iterator[str]:
    """The API served by a real uvicorn on a free loopback port; yields its base URL."""
    import contextvars
    import threading
    import time

    import uvicorn

    from api.main import app
    from tests.support.net import free_port

    port = free_port()
    # log_config=None: uvicorn's dictConfig would flush and drop the process's handlers, Prefect's API log
    # handler among them, whose flush waits for every queued log to reach Prefect (forever under libfaketime).
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", log_config=None))
    thread = threading.Thread(target=contextvars.copy_context().run, args=(server.run,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def frozen_clock() -> Iterator[Callable[..., datetime]]:
    """Set the project's one clock (models.core.clock) for this test: `frozen_clock(at)`; the system clock after."""
    from models.core import clock

    def freeze(at: datetime) -> datetime:
        clock.set_now(at)
        return clock.now()

    yield freeze
    clock.set_now(None)


@pytest.fixture(autouse=True)
def _no_prefect_leftovers(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test on the Prefect harness starts with no flow run of another test still waiting or running.

    A scheduled run left by one test (a change waiting for its window, a suspended gate) would otherwise
    be picked up by a runner serving the same deployment in the next test."""
    yield
    if "prefect_harness" in request.fixturenames:
        delete_unfinished_flow_runs()


def delete_unfinished_flow_runs() -> int:
    """Delete every flow run on the Prefect server that is not in a final state; returns how many."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    unfinished = [StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.PAUSED, StateType.CANCELLING]
    deleted = 0
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=unfinished))), limit=200)
        for run in runs:
            client.delete_flow_run(run.id)
            deleted += 1
    return deleted
