"""The real system for system tests: `itss up` in a subprocess on free ports with its own data dir.

Tests drive it as its users do — the API, the page, Prefect's scheduler and the scheduled sweeper —
and never call a flow or a sweep function. With ITSS_TEST_DATABASE_URL pointing at PostgreSQL, each
system gets a fresh PostgreSQL database of its own (dropped when it stops).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.support.net import free_port

BIN = Path(sys.executable).parent
T = TypeVar("T")

# One person per role; the name is the key of System.tokens.
PEOPLE: dict[str, list[str]] = {
    "admin": ["admin"], "desk": ["service_desk"], "oncall": ["engineer"], "oncall2": ["engineer"],
    "support": ["technical_support"], "pm": ["project_manager"], "change": ["change_manager"],
    "cab1": ["cab_member"], "cab2": ["cab_member"], "opsmgr": ["ops_manager"], "customer": ["customer_rep"],
    "leader": ["leadership"], "slm": ["service_level_manager"],
}

_MAKE_PEOPLE = """
import json, sys
from models.core.db import session_scope
from models.directory.service import create_person, issue_token
from models.core.migrate import upgrade
from models.directory.reference import ensure_reference_data
from models.directory.roles import RoleKey
from config.settings import get_settings
upgrade(get_settings().resolved_database_url)
tokens = {}
with session_scope() as session:
    ensure_reference_data(session)
    for name, roles in json.loads(sys.argv[1]).items():
        person = create_person(session, name=name, roles=[RoleKey(r) for r in roles], actor="test",
                               email=f"{name}@example.test")
        session.flush()
        tokens[name] = issue_token(session, person_id=person.id, actor="test")[1]
print(json.dumps(tokens))
"""


def wait_until(predicate: Callable[[], T], *, timeout: float, what: str, interval: float = 0.5) -> T:
    """Poll `predicate` until it returns something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:  # not up yet / not there yet
            last_error = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}"
                                 + (f" (last error: {last_error!r})" if last_error else ""))
        time.sleep(interval)


def _admin_pg(sql: str, base_url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    with psycopg.connect(host=url.host or "127.0.0.1", port=url.port or 5432, user=url.username or "postgres",
                         dbname="postgres", autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@dataclass
class System:
    """A running `itss up` and how to reach it."""

    api: str
    prefect_api: str
    data_dir: Path
    tokens: dict[str, str]
    env: dict[str, str]
    proc: subprocess.Popen[str]
    output: Path
    _pg_database: str | None = None
    _pg_base: str | None = None
    _stopped: bool = field(default=False, repr=False)

    def headers(self, name: str) -> dict[str, str]:
        """Authorization headers of the demo/test person `name`."""
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def get(self, path: str, who: str = "admin", **kwargs: Any) -> httpx.Response:
        """GET on the API as `who`."""
        return httpx.get(f"{self.api}{path}", headers=self.headers(who), timeout=60, **kwargs)

    def post(self, path: str, who: str = "admin", **kwargs: Any) -> httpx.Response:
        """POST on the API as `who`."""
        return httpx.post(f"{self.api}{path}", headers=self.headers(who), timeout=60, **kwargs)

    def patch(self, path: str, who: str = "admin", **kwargs: Any) -> httpx.Response:
        """PATCH on the API as `who`."""
        return httpx.patch(f"{self.api}{path}", headers=self.headers(who), timeout=60, **kwargs)

    @contextmanager
    def prefect_client(self) -> Iterator[Any]:
        """A synchronous Prefect client bound to this system's Prefect server."""
        from prefect.client.orchestration import SyncPrefectClient

        with SyncPrefectClient(self.prefect_api, auth_string=self.env.get("PREFECT_API_AUTH_STRING")) as client:
            yield client

    def log(self, name: str) -> str:
        """The log of one child process (prefect-server, api, runner)."""
        path = self.data_dir / "logs" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def run_cli(self, *argv: str, timeout: float = 300, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run a console script of this venv (`itss`, `prefect`) against this system."""
        return subprocess.run([str(BIN / argv[0]), *argv[1:]], env=self.env, cwd=cwd or self.data_dir.parent,
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def stop(self) -> int:
        """Ctrl-C, as a user stops it; returns the exit code."""
        if self._stopped:
            return self.proc.returncode or 0
        self._stopped = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if self._pg_database and self._pg_base:
            _admin_pg(f'DROP DATABASE IF EXISTS "{self._pg_database}" WITH (FORCE)', self._pg_base)
        return self.proc.returncode


def system_env(data_dir: Path, api_port: int, prefect_port: int, extra: dict[str, str] | None) -> dict[str, str]:
    """The environment of a fresh user: no inherited ITSS_/PREFECT_ settings, own ports and data dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ITSS_"))}
    env.update(ITSS_DATA_DIR=str(data_dir), ITSS_API_PORT=str(api_port), ITSS_PREFECT_PORT=str(prefect_port),
               ITSS_PUBLIC_BASE_URL=f"http://127.0.0.1:{api_port}", COLUMNS="200",
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.update(extra or {})
    return env


def start_system(tmp_path: Path, *, demo: bool = False, env: dict[str, str] | None = None,
                 people: dict[str, list[str]] | None = None, timeout: float = 300) -> System:
    """`itss up [--demo]` on free loopback ports with its own data dir; waits until the API and Prefect answer.

    Without the demo, one person per role (PEOPLE) is created first through the project's own
    directory service, as `itss user add` does, so the test holds their tokens.
    """
    data_dir = tmp_path / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    api_port, prefect_port = free_port(), free_port()
    full_env = system_env(data_dir, api_port, prefect_port, env)
    pg_base = os.environ.get("ITSS_TEST_DATABASE_URL", "")
    pg_database = None
    if pg_base.startswith("postgresql") and "ITSS_DATABASE_URL" not in (env or {}):
        from sqlalchemy.engine import make_url

        pg_database = f"itss_sys_{uuid.uuid4().hex[:12]}"
        _admin_pg(f'CREATE DATABASE "{pg_database}"', pg_base)
        full_env["ITSS_DATABASE_URL"] = make_url(pg_base).set(database=pg_database).render_as_string(
            hide_password=False)
    tokens: dict[str, str] = {}
    if not demo:
        made = subprocess.run([sys.executable, "-c", _MAKE_PEOPLE, json.dumps(people or PEOPLE)], env=full_env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert made.returncode == 0, made.stderr
        tokens = json.loads(made.stdout.strip().splitlines()[-1])
    output = tmp_path / "itss-up.out"
    handle = output.open("w")
    argv = [str(BIN / "itss"), "up"] + (["--demo"] if demo else [])
    proc = subprocess.Popen(argv, env=full_env, cwd=tmp_path, stdout=handle, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    system = System(api=f"http://127.0.0.1:{api_port}", prefect_api=f"http://127.0.0.1:{prefect_port}/api",
                    data_dir=data_dir, tokens=tokens, env=full_env, proc=proc, output=output,
                    _pg_database=pg_database, _pg_base=pg_base or None)
    full_env["PREFECT_API_URL"] = system.prefect_api
    try:
        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"itss up exited with {proc.returncode}:\n{output.read_text()}")
            return "Press Ctrl-C to stop." in output.read_text()

        wait_until(ready, timeout=timeout, what="`itss up` to say it is ready")
        auth = data_dir / "secrets" / "prefect-auth"
        if auth.exists():
            full_env["PREFECT_API_AUTH_STRING"] = auth.read_text().strip()
        def deployments_applied() -> bool:
            # Ready for a test means the runner has applied prefect.yaml too (it starts after the API).
            with system.prefect_client() as client:
                names = {d.name for d in client.read_deployments()}
            return {"gate_sweeper", "routine_inspection", "emergency_response"} <= names

        wait_until(deployments_applied, timeout=timeout, what="the runner to apply the deployments")
        if demo:
            tokens_file = data_dir / "demo-tokens.txt"
            for line in tokens_file.read_text().splitlines():
                name, _role, secret = line.split()
                tokens[name] = secret
    except BaseException:
        system.stop()
        raise
    return system
