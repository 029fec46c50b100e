"""Shared fixtures: a migrated database (SQLite, or PostgreSQL via ITSS_TEST_DATABASE_URL),
cleaned after every test; an API client; tokens per role; one Prefect test harness per session."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

# Configure before any project module reads its settings.
_TMP = Path(tempfile.mkdtemp(prefix="itss-tests-"))
os.environ["ITSS_DATA_DIR"] = str(_TMP)
os.environ["ITSS_DATABASE_URL"] = os.environ.get("ITSS_TEST_DATABASE_URL") or f"sqlite:///{_TMP}/itss.db"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("ITSS_GATE_SECRET", "test-gate-secret")

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from models.db import get_engine  # noqa: E402
from models.directory import create_person, issue_token  # noqa: E402
from models.migrate import upgrade  # noqa: E402
from models.reference import ensure_reference_data  # noqa: E402
from models.roles import RoleKey  # noqa: E402
from models.tables import metadata  # noqa: E402

DB_FIXTURES = {"session", "client", "headers", "make_person", "database"}
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that touches the project database, so CI can rerun them on PostgreSQL."""
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


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
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())
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
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=contextvars.copy_context().run, args=(server.run,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
