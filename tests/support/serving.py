"""Serve one flow as a deployment in a subprocess (`itss serve --entrypoint`), against the test harness."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL

ROOT = Path(__file__).resolve().parents[2]


class ServedFlow:
    """A runner process serving `entrypoint`, logging to `workdir/serve.log`."""

    def __init__(self, entrypoint: str, workdir: Path, env: dict[str, str] | None = None) -> None:
        self.entrypoint = entrypoint
        self.workdir = workdir
        self.extra_env = env or {}
        self.log = workdir / "serve.log"
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ, PREFECT_API_URL=str(PREFECT_API_URL.value()), PYTHONPATH=str(ROOT),
                   PREFECT_LOCAL_STORAGE_PATH=str(self.workdir / "results"), PREFECT_SERVER_ANALYTICS_ENABLED="false", **self.extra_env)
        return subprocess.Popen([sys.executable, "-m", "itss.cli", "serve", "--entrypoint", self.entrypoint],
                                cwd=ROOT, env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
                                start_new_session=True)

    def kill9(self) -> None:
        """Kill the runner and anything it started, as a crash would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def restart(self) -> None:
        self.kill9()
        self.process = self._start()

    def wait_registered(self, deployment: str, timeout: float = 180) -> None:
        """Block until the deployment exists in Prefect."""
        deadline = time.monotonic() + timeout
        with get_client(sync_client=True) as client:
            while time.monotonic() < deadline:
                try:
                    client.read_deployment_by_name(deployment)
                    return
                except Exception:
                    time.sleep(0.3)
        raise AssertionError(f"{deployment} never registered:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def wait_state(flow_run_id: UUID | str, predicate, timeout: float, served: ServedFlow) -> str:
    """Wait until the run's state satisfies `predicate`; returns the state name."""
    deadline = time.monotonic() + timeout
    state = None
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            state = client.read_flow_run(UUID(str(flow_run_id))).state
            if state is not None and predicate(state):
                return state.name
            time.sleep(0.2)
    raise AssertionError(f"state not reached; last {state}; serve log:\n{served.tail()}")
