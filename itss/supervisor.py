"""`itss up`: run the Prefect server, the API and a deployment runner as child processes.

Children get their own session so a terminal Ctrl-C reaches only this supervisor, which then
stops them in order (runner, API, server) and waits for each. A child that dies on its own is
started again with backoff: one crashed process must not take the system (and its paging) down.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prefect.settings import PREFECT_API_URL
from rich.console import Console

from config.settings import Settings
from itss import prefect_auth
from itss.demo_estate import load_ports

STOP_TIMEOUT = 15.0
# Restart backoff: 1 s, 2 s, 4 s … at most MAX_BACKOFF; a child that stayed up STABLE_AFTER seconds
# starts again from 1 s (a crash loop backs off, a rare crash comes back at once).
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
STABLE_AFTER = 60.0


@dataclass
class Child:
    """One supervised process and where its output goes."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    argv: list[str] = field(default_factory=list)
    started_at: float = field(default_factory=time.monotonic)
    restarts: int = 0
    backoff: float = FIRST_BACKOFF
    restart_at: float | None = None
    pass_fds: tuple[int, ...] = ()
    stop_signal: int = signal.SIGTERM


@dataclass
class Supervisor:
    """Starts, watches and stops the embedded system's processes."""

    settings: Settings
    console: Console
    children: list[Child] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.logs = (self.settings.data_dir / "logs").resolve()
        self.logs.mkdir(parents=True, exist_ok=True)
        # The only place that copies the environment: children inherit it plus Prefect's settings.
        self.env = dict(os.environ)
        self.env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
        self.env.setdefault("PREFECT_HOME", str(self.settings.prefect_home))
        # Runs send heartbeats often enough for the sweeper to find one whose process vanished.
        self.env.setdefault("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", str(self.settings.flow_heartbeat_seconds))

    def start(self, name: str, argv: list[str], pass_fds: tuple[int, ...] = (),
              stop_signal: int = signal.SIGTERM) -> Child:
        """Start `argv` with output to data_dir/logs/<name>.log (and `pass_fds` inherited)."""
        log = self.logs / f"{name}.log"
        child = Child(name, self._spawn(argv, log, pass_fds, stop_signal), log, argv=list(argv), pass_fds=pass_fds,
                      stop_signal=stop_signal)
        self.children.append(child)
        return child

    def _spawn(self, argv: list[str], log: Path, pass_fds: tuple[int, ...] = (),
               stop_signal: int = signal.SIGTERM) -> subprocess.Popen[bytes]:
        with log.open("ab") as handle:  # the child holds its own copy of the descriptor
            return subprocess.Popen(
                argv, env=self.env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
                pass_fds=pass_fds, preexec_fn=_stop_with_parent(os.getpid(), stop_signal),
            )

    def check(self, now: float | None = None) -> None:
        """Schedule a restart of every child that died, and restart those whose backoff is over."""
        now = time.monotonic() if now is None else now
        for child in self.children:
            if child.restart_at is None and child.process.poll() is not None:
                if now - child.started_at >= STABLE_AFTER:
                    child.backoff = FIRST_BACKOFF
                child.restart_at = now + child.backoff
                message = (f"{child.name} exited ({child.process.returncode}); restarting in "
                           f"{child.backoff:.0f} s (restart {child.restarts + 1}); see {child.log}")
                self.console.print(f"[red]{message}[/]")
                self._note(child, message)
                child.backoff = min(child.backoff * 2, MAX_BACKOFF)
            elif child.restart_at is not None and now >= child.restart_at:
                self.restart(child)

    def restart(self, child: Child) -> None:
        """Start a dead child again in its place (stop order stays the start order)."""
        child.process = self._spawn(child.argv, child.log, child.pass_fds, child.stop_signal)
        child.started_at = time.monotonic()
        child.restart_at = None
        child.restarts += 1
        message = f"{child.name} restarted (pid {child.process.pid}, restart {child.restarts})"
        self.console.print(f"[yellow]{message}[/]")
        self._note(child, message)

    def _note(self, child: Child, message: str) -> None:
        # The child's own log says why it was restarted, next to its last words.
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        with child.log.open("a") as handle:
            handle.write(f"{stamp}Z itss up: {message}\n")

    def wait_http(self, child: Child, url: str, timeout: float) -> None:
        """Wait until `url` answers 200, or fail naming the log to read."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if child.process.poll() is not None:
                raise RuntimeError(f"{child.name} exited with {child.process.returncode}; see {child.log}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{child.name} did not answer {url} within {timeout:.0f} s; see {child.log}")

    def stop(self) -> None:
        """Stop children in reverse start order: their stop signal, then SIGKILL after a grace period."""
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.send_signal(child.stop_signal)
                try:
                    child.process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    # Said where an operator looks: a run the kill interrupted shows Crashed in Prefect.
                    message = f"{child.name} did not stop within {STOP_TIMEOUT:.0f} s; killed (SIGKILL)"
                    self.console.print(f"[red]{message}[/]")
                    self._note(child, message)
                    # The whole process group (each child leads its own session): a runner killed while
                    # it started a flow run would otherwise leave that run's process behind, orphaned,
                    # calling a Prefect server that is about to stop (seen on a fresh clone, 7 Dec).
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(child.process.pid, signal.SIGKILL)
                    child.process.wait()
        self.children.clear()

    def watch(self) -> int:
        """Keep the children up (restarting any that die) until Ctrl-C or SIGTERM; returns 0."""
        stop = {"requested": False}

        def request_stop(_signum: int, _frame: object) -> None:
            stop["requested"] = True

        previous: dict[int, Callable | int | None] = {
            sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            while not stop["requested"]:
                self.check()
                time.sleep(0.5)
            return 0
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _stop_with_parent(parent: int, stop_signal: int) -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to send the child its stop signal when this supervisor dies.

    Children live in their own sessions, so a supervisor killed with -9 (or by the OOM killer) left
    the server, API and runner running, holding the ports the next `itss up` needs."""
    if not sys.platform.startswith("linux"):
        return None

    def hook() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, stop_signal)
        if os.getppid() != parent:  # the supervisor died before the request was in place
            os._exit(1)

    return hook



def bin_path(name: str) -> str:
    """A console script installed beside this interpreter (the venv's bin)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


REFUSE = (
    "PREFECT_API_URL is set ({url}) and {why}. `itss up` runs the flows itself only with its own local "
    "Prefect server; on a shared server run `itss deploy` once (it creates the work pool and applies the "
    "deployments), `prefect worker start --pool itss` on the worker hosts, and `itss api` for the API "
    "(see the README's production section). Or unset PREFECT_API_URL for a local system."
)


def join_existing(api_url: str, console: Console) -> None:
    """Join a shared Prefect server only as its API: never rewrite its deployments or serve beside its workers."""
    from prefect.client.orchestration import get_client

    from itss.deploy import served_elsewhere

    try:
        with get_client(sync_client=True) as client:
            pooled, served = served_elsewhere(client)
    except Exception as exc:  # unreachable, wrong auth: say so rather than start half a system
        console.print(f"[red]The Prefect server at {api_url} does not answer ({type(exc).__name__}: {exc}).[/]")
        raise SystemExit(2) from None
    if served:
        why = f"its deployments {', '.join(served)} are served by another runner (another `itss up`)"
    elif not pooled:
        why = "it has no ITSS deployments on a work pool"
    else:
        console.print(f"Joining the Prefect server at {api_url}: its deployments ({', '.join(pooled)}) run on "
                      "its work pool's workers; this runs the API only and changes no deployment.")
        return
    console.print(f"[red]{REFUSE.format(url=api_url, why=why)}[/]")
    raise SystemExit(2)


def api_listener(settings: Settings) -> socket.socket:
    """The API's listening socket, owned by the supervisor: while a dead API restarts, monitors' posts
    wait in its backlog instead of being refused."""
    listener = socket.create_server((settings.api_host, settings.api_port), backlog=2048)
    listener.set_inheritable(True)
    return listener


def run(settings: Settings, console: Console, on_ready: Callable[[str, str], None]) -> int:
    """Bring everything up, call `on_ready(ui_url, api_url)`, and run until interrupted."""
    sup = Supervisor(settings, console)
    try:
        if load_ports(settings) is not None:
            # First, so the demo CIs answer before any run can probe them.
            sup.start("demo-estate", [bin_path("itss"), "demo-estate"])
        external = PREFECT_API_URL.value()
        serve = True
        if external:
            api_url = external.rstrip("/")
            ui_url = api_url.removesuffix("/api")
            serve = False
            join_existing(api_url, console)  # raises SystemExit with what to run instead
        else:
            port = settings.prefect_port
            api_url, ui_url = f"http://127.0.0.1:{port}/api", f"http://127.0.0.1:{port}"
            sup.env["PREFECT_API_URL"] = api_url
            # The server refuses every API call without these credentials; every child is a client.
            auth = prefect_auth.ensure_auth_string(settings)
            sup.env[prefect_auth.SERVER_VAR] = sup.env[prefect_auth.CLIENT_VAR] = auth
            console.print(f"Prefect UI credentials: {prefect_auth.auth_file(settings)}")
            server = sup.start(
                "prefect-server",
                [bin_path("prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            )
            with console.status("Starting the local Prefect server (SQLite)…"):
                sup.wait_http(server, f"{api_url}/health", timeout=120)
        listener = api_listener(settings)
        api = sup.start(
            "api",
            [sys.executable, "-m", "uvicorn", "api.main:app", "--fd", str(listener.fileno()),
             "--no-access-log"],
            pass_fds=(listener.fileno(),),
        )
        if serve:
            # SIGINT: Prefect 3.8's runner stops cleanly on KeyboardInterrupt; its SIGTERM handler calls
            # an async stop without awaiting it and leaves a warning and tracebacks in runner.log.
            sup.start("runner", [bin_path("itss"), "serve"], stop_signal=signal.SIGINT)
        base = f"http://{settings.api_host}:{settings.api_port}"
        with console.status("Starting the API…"):
            sup.wait_http(api, f"{base}/health", timeout=60)
        on_ready(ui_url, base)
        return sup.watch()
    finally:
        with console.status("Stopping…"):
            sup.stop()
        console.print("Stopped.")
