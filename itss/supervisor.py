"""`itss up`: run the Prefect server, the API and a deployment runner as child processes.

Children get their own session so a terminal Ctrl-C reaches only this supervisor, which then
stops them in order (runner, API, server) and waits for each.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prefect.settings import PREFECT_API_URL
from rich.console import Console

from itss.settings import Settings

STOP_TIMEOUT = 15.0


@dataclass
class Child:
    """One supervised process and where its output goes."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path


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

    def start(self, name: str, argv: list[str]) -> Child:
        """Start `argv` with output to data_dir/logs/<name>.log."""
        log = self.logs / f"{name}.log"
        handle = log.open("ab")
        process = subprocess.Popen(
            argv, env=self.env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        child = Child(name, process, log)
        self.children.append(child)
        return child

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
        """Stop children in reverse start order: SIGTERM, then SIGKILL after a grace period."""
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
                try:
                    child.process.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    child.process.kill()
                    child.process.wait()
        self.children.clear()

    def watch(self) -> int:
        """Block until a child dies (returns 1) or we are interrupted (returns 0)."""
        stop = {"requested": False}

        def request_stop(_signum: int, _frame: object) -> None:
            stop["requested"] = True

        previous: dict[int, Callable | int | None] = {
            sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            while not stop["requested"]:
                for child in self.children:
                    if child.process.poll() is not None:
                        self.console.print(
                            f"[red]{child.name} exited ({child.process.returncode}); see {child.log}[/]"
                        )
                        return 1
                time.sleep(0.5)
            return 0
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def bin_path(name: str) -> str:
    """A console script installed beside this interpreter (the venv's bin)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def run(settings: Settings, console: Console, on_ready: Callable[[str, str], None]) -> int:
    """Bring everything up, call `on_ready(ui_url, api_url)`, and run until interrupted."""
    sup = Supervisor(settings, console)
    try:
        external = PREFECT_API_URL.value()
        if external:
            api_url = external.rstrip("/")
            ui_url = api_url.removesuffix("/api")
            console.print(f"Using the Prefect server at {api_url} (PREFECT_API_URL is set)")
        else:
            port = settings.prefect_port
            api_url, ui_url = f"http://127.0.0.1:{port}/api", f"http://127.0.0.1:{port}"
            sup.env["PREFECT_API_URL"] = api_url
            server = sup.start(
                "prefect-server",
                [bin_path("prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            )
            with console.status("Starting the local Prefect server (SQLite)…"):
                sup.wait_http(server, f"{api_url}/health", timeout=120)
        api = sup.start(
            "api",
            [sys.executable, "-m", "uvicorn", "api.main:app", "--host", settings.api_host,
             "--port", str(settings.api_port), "--no-access-log"],
        )
        sup.start("runner", [bin_path("itss"), "serve"])
        base = f"http://{settings.api_host}:{settings.api_port}"
        with console.status("Starting the API…"):
            sup.wait_http(api, f"{base}/health", timeout=60)
        on_ready(ui_url, base)
        return sup.watch()
    finally:
        with console.status("Stopping…"):
            sup.stop()
        console.print("Stopped.")
