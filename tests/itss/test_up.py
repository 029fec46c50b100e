"""`itss up --demo` brings up the Prefect UI, the API and the runner, and stops them cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.net import free_port

pytestmark = pytest.mark.slow
ITSS = str(Path(sys.executable).parent / "itss")


def wait_for(url: str, deadline: float) -> httpx.Response:
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer 200 in time")


def child_pids(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=,ppid=", "-e"], capture_output=True, text=True).stdout
    pairs = [tuple(map(int, line.split())) for line in out.splitlines() if line.strip()]
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in pairs if parent in frontier} - found
        found |= frontier
    return found


def test_up_with_demo_serves_ui_api_and_stops_cleanly(tmp_path: Path) -> None:
    api_port, prefect_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ITSS_"))}
    env.update(ITSS_DATA_DIR=str(tmp_path / "data"), ITSS_API_PORT=str(api_port),
               ITSS_PREFECT_PORT=str(prefect_port), COLUMNS="200")
    started = time.monotonic()
    proc = subprocess.Popen([ITSS, "up", "--demo"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = started + 90  # the promise: everything answers within 90 s
        ui = wait_for(f"http://127.0.0.1:{prefect_port}/", deadline)
        assert "<html" in ui.text.lower()
        assert wait_for(f"http://127.0.0.1:{api_port}/health", deadline).json()["status"] == "ok"
        assert wait_for(f"http://127.0.0.1:{prefect_port}/api/health", deadline).status_code == 200
        # The demo tokens are printed once; read the admin's and use it.
        output = ""
        while "Ctrl-C" not in output and time.monotonic() < deadline:
            output += proc.stdout.readline()
        token = re.search(r"│ admin\s+│ admin\s+│ (itss_\S+)", output)
        assert token, output
        cis = httpx.get(f"http://127.0.0.1:{api_port}/cis?limit=1000",
                        headers={"Authorization": f"Bearer {token.group(1)}"}).json()
        assert len(cis) == 20 and {"core-sw-01", "san-01", "fw-01"} <= {c["name"] for c in cis}
        assert (tmp_path / "data" / "itss.db").exists() and (tmp_path / "data" / "prefect").is_dir()
        children = child_pids(proc.pid)
        assert len(children) >= 3
    finally:
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, rest
    assert "Stopped." in rest
    time.sleep(0.5)
    still = [pid for pid in children if Path(f"/proc/{pid}").exists()]
    assert not still, f"children left running: {still}"
