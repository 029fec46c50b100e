"""The production topology on one machine, as the README's runbook builds it on many hosts.

A Prefect server (`prefect server start`) on its own PostgreSQL database with basic auth, the project
database on PostgreSQL, `itss deploy`, process workers (`prefect worker start`), each with its own data
dir and PREFECT_HOME as if on its own host, and the API (`itss api --workers N`). Every process runs in
its own session, so a "host" can be killed with everything it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.net import free_port
from tests.support.system import _MAKE_PEOPLE, BIN, PEOPLE, _admin_pg, wait_until

PG_HOST, PG_PORT = "127.0.0.1", 5432


def postgres_answers() -> bool:
    """Whether a PostgreSQL server listens on 127.0.0.1:5432 (trust auth, user postgres)."""
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=2):
            return True
    except OSError:
        return False


@dataclass
class Host:
    """One process of the topology: its command, environment, log and process."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    log: Path
    proc: subprocess.Popen | None = None

    def start(self) -> Host:
        self.cwd.mkdir(parents=True, exist_ok=True)
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=handle, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        return self

    def kill(self) -> None:
        """kill -9 the process and everything it started (flow runs start in sessions of their own): the host dies."""
        if self.proc is None:
            return
        family = _descendants(self.proc.pid)
        for pid in [self.proc.pid, *family]:
            _kill(pid)
        self.proc.wait(30)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Topology:
    """The running topology and how to reach it."""

    root: Path
    api: str
    prefect_api: str
    auth: str
    env: dict[str, str]  # a client host's environment (PREFECT_API_URL, auth, ITSS_DATABASE_URL, ...)
    tokens: dict[str, str] = field(default_factory=dict)
    server: Host | None = None
    api_host: Host | None = None
    workers: dict[str, Host] = field(default_factory=dict)
    databases: list[str] = field(default_factory=list)

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, path: str, who: str = "admin") -> httpx.Response:
        return httpx.get(f"{self.api}{path}", headers=self.headers(who), timeout=30)

    def post(self, path: str, who: str = "admin", **kwargs) -> httpx.Response:
        return httpx.post(f"{self.api}{path}", headers=self.headers(who), timeout=30, **kwargs)

    def prefect_client(self):
        from prefect.client.orchestration import SyncPrefectClient

        return SyncPrefectClient(self.prefect_api, auth_string=self.auth)

    def cli(self, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run a console script of this venv (`itss`, `prefect`) as an operator on a client host."""
        return subprocess.run([str(BIN / argv[0]), *argv[1:]], env=self.env, cwd=self.root / "operator",
                              capture_output=True, text=True, timeout=timeout)

    def start_worker(self, name: str, query_seconds: float = 1) -> Host:
        """`prefect worker start --pool itss` as on its own host: own data dir, own PREFECT_HOME."""
        home = self.root / name
        env = dict(self.env, ITSS_DATA_DIR=str(home / "data"), PREFECT_HOME=str(home / "prefect"),
                   PREFECT_WORKER_QUERY_SECONDS=str(query_seconds), PREFECT_FLOWS_HEARTBEAT_FREQUENCY="30")  # Prefect's minimum
        worker = Host(name, [str(BIN / "prefect"), "worker", "start", "--pool", "itss", "--name", name],
                      env, home, home / "worker.log").start()
        self.workers[name] = worker
        return worker

    def worker_running(self, flow_run_id: str) -> Host | None:
        """The worker whose session holds the process of this flow run, if one is running it now."""
        for worker in self.workers.values():
            if worker.proc is None or worker.proc.poll() is not None:
                continue
            for pid in _descendants(worker.proc.pid):
                if f"PREFECT__FLOW_RUN_ID={flow_run_id}".encode() in _environ(pid):
                    return worker
        return None

    def stop(self) -> None:
        for worker in self.workers.values():
            _stop(worker)
        for host in (self.api_host, self.server):
            if host is not None:
                _stop(host)
        for name in self.databases:
            _admin_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f"postgresql://postgres@{PG_HOST}:{PG_PORT}/")


def start_topology(root: Path, *, workers: int = 2, api_workers: int = 2, query_seconds: float = 1,
                   concurrency_limit: int = 10) -> Topology:
    """Everything up and deployed; raises (after cleaning up) when a part does not come up."""
    suffix = uuid.uuid4().hex[:10]
    prefect_db, itss_db = f"prefect_topo_{suffix}", f"itss_topo_{suffix}"
    base = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/"
    prefect_port, api_port = free_port(), free_port()
    auth = f"itss:{secrets.token_urlsafe(16)}"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ITSS_"))}
    env = dict(clean, PREFECT_API_URL=f"http://127.0.0.1:{prefect_port}/api", PREFECT_API_AUTH_STRING=auth,
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_HOME=str(root / "operator" / "prefect"),
               ITSS_DATABASE_URL=f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{itss_db}",
               ITSS_DATA_DIR=str(root / "operator" / "data"), ITSS_GATE_SECRET=secrets.token_urlsafe(32),
               ITSS_PUBLIC_BASE_URL=f"http://127.0.0.1:{api_port}", COLUMNS="200",
               ITSS_RUN_HEARTBEAT_TIMEOUT_SECONDS="75")
    topo = Topology(root=root, api=f"http://127.0.0.1:{api_port}", prefect_api=env["PREFECT_API_URL"], auth=auth,
                    env=env)
    (root / "operator").mkdir(parents=True, exist_ok=True)
    try:
        for name in (prefect_db, itss_db):
            _admin_pg(f'CREATE DATABASE "{name}"', base)
            topo.databases.append(name)
        server_env = dict(clean, PREFECT_HOME=str(root / "prefect-server" / "home"),
                          PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_SERVER_API_AUTH_STRING=auth,
                          PREFECT_API_DATABASE_CONNECTION_URL=f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/"
                                                              f"{prefect_db}")
        topo.server = Host("prefect-server", [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                                              "--port", str(prefect_port)],
                           server_env, root / "prefect-server", root / "prefect-server.log").start()
        wait_until(lambda: _alive(topo.server) and httpx.get(f"{topo.prefect_api}/health", timeout=5,
                                                             auth=tuple(auth.split(":", 1))).status_code == 200,
                   timeout=180, what="the Prefect server on PostgreSQL")
        migrated = topo.cli("itss", "db", "upgrade")
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        made = subprocess.run([sys.executable, "-c", _MAKE_PEOPLE, json.dumps(PEOPLE)], env=env, cwd=root / "operator",
                              capture_output=True, text=True, timeout=300)
        assert made.returncode == 0, made.stderr
        topo.tokens = json.loads(made.stdout.strip().splitlines()[-1])
        deployed = topo.cli("itss", "deploy", "--concurrency-limit", str(concurrency_limit))
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        for index in range(workers):
            topo.start_worker(f"worker-{chr(ord('a') + index)}", query_seconds)
        api_env = dict(env, ITSS_DATA_DIR=str(root / "api-host" / "data"), PREFECT_HOME=str(root / "api-host" / "p"))
        topo.api_host = Host("api", [str(BIN / "itss"), "api", "--workers", str(api_workers), "--port",
                                     str(api_port)], api_env, root / "api-host", root / "api.log").start()
        wait_until(lambda: _alive(topo.api_host) and httpx.get(f"{topo.api}/health", timeout=5).status_code
                   in (200, 503), timeout=180, what="the API under uvicorn")
    except BaseException:
        topo.stop()
        raise
    return topo


def _alive(host: Host | None) -> bool:
    if host is None or host.proc is None or host.proc.poll() is not None:
        raise AssertionError(f"{host.name if host else '?'} exited; its log:\n{host.text()[-4000:] if host else ''}")
    return True


def _stop(host: Host) -> None:
    """SIGTERM twice (an idle `prefect worker start` ignores the first), then kill the session."""
    if host.proc is None:
        return
    for _ in range(2):
        if host.proc.poll() is None:
            host.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                host.proc.wait(10)
    host.kill()


def _descendants(root: int) -> list[int]:
    """Every process below `root` in the process tree."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rpartition(")")[2].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _environ(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return b""


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
