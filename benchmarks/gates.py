"""Gate latency: from the decision POST returning to the next task starting; prints p50/p95.

    .venv/bin/python -m benchmarks.gates [--gates 20]

(a) suspended gates in a served deployment (the durable kind, a new flow-run process on resume);
(b) in-process pauses (`pause_flow_run`, poll_interval=1). Uses a temporary Prefect server
(prefect_test_harness), a temporary SQLite project database and the API on loopback.
"""

from __future__ import annotations

import argparse
import contextvars
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(tempfile.mkdtemp(prefix="itss-bench-gates-"))
os.environ.update(ITSS_DATA_DIR=str(WORK), ITSS_DATABASE_URL=f"sqlite:///{WORK}/itss.db",
                  ITSS_GATE_SECRET="bench", PREFECT_SERVER_ANALYTICS_ENABLED="false",
                  PREFECT_LOGGING_LEVEL="WARNING")

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from prefect.client.orchestration import get_client  # noqa: E402
from prefect.deployments import run_deployment  # noqa: E402
from prefect.settings import PREFECT_API_URL  # noqa: E402
from prefect.testing.utilities import prefect_test_harness  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from models.core.db import get_engine  # noqa: E402
from models.core.migrate import upgrade  # noqa: E402
from models.directory.reference import ensure_reference_data  # noqa: E402
from models.directory.roles import RoleKey  # noqa: E402
from models.directory.service import create_person, issue_token  # noqa: E402
from models.gates.tables import ApprovalGate  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_api() -> str:
    from api.main import app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=contextvars.copy_context().run, args=(server.run,), daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}"


def token() -> dict[str, str]:
    with Session(get_engine()) as session:
        ensure_reference_data(session)
        person = create_person(session, name="bench-cab", roles=[RoleKey.CAB_MEMBER], actor="bench")
        _, secret = issue_token(session, person_id=person.id, actor="bench")
        session.commit()
    return {"Authorization": f"Bearer {secret}"}


def gate_of(flow_run_id: str, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(get_engine()) as session:
            found = session.exec(select(ApprovalGate.id).where(ApprovalGate.flow_run_id == flow_run_id)).first()
        if found is not None:
            return found
        time.sleep(0.05)
    raise RuntimeError(f"no gate for run {flow_run_id}")


def wait_paused(flow_run_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            state = client.read_flow_run(flow_run_id).state
            if state and state.is_paused():
                return
            time.sleep(0.05)
    raise RuntimeError(f"run {flow_run_id} never paused")


def decide_and_measure(api: str, headers: dict, gate_id: int, stamp: Path) -> float:
    response = httpx.post(f"{api}/approvals/{gate_id}/decision", json={"decision": "approve"}, headers=headers,
                          timeout=60)
    returned = time.time()
    response.raise_for_status()
    deadline = time.monotonic() + 60
    while not stamp.exists() or not stamp.read_text():
        if time.monotonic() > deadline:
            raise RuntimeError(f"next task never started for gate {gate_id}")
        time.sleep(0.01)
    return float(stamp.read_text()) - returned


def suspended(api: str, headers: dict, n: int) -> list[float]:
    env = dict(os.environ, PREFECT_API_URL=str(PREFECT_API_URL.value()), PYTHONPATH=str(ROOT))
    argv = [sys.executable, "-m", "itss.cli", "serve", "--entrypoint", "benchmarks.gate_flow:bench_gate"]
    serve = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=(WORK / "serve.log").open("w"), stderr=subprocess.STDOUT)
    try:
        runs = []
        for i in range(n):
            while True:
                try:
                    run = run_deployment("bench_gate/bench_gate", parameters={"stamp": str(WORK / f"s{i}")},
                                         timeout=0)
                    break
                except Exception:  # deployment not registered yet
                    time.sleep(0.3)
            runs.append(run)
        latencies = []
        for i, run in enumerate(runs):
            gate_id = gate_of(str(run.id))
            wait_paused(str(run.id))
            latencies.append(decide_and_measure(api, headers, gate_id, WORK / f"s{i}"))
        return latencies
    finally:
        serve.terminate()
        serve.wait(20)


def paused(api: str, headers: dict, n: int) -> list[float]:
    from benchmarks.gate_flow import bench_gate

    latencies = []
    for i in range(n):
        stamp = WORK / f"p{i}"
        thread = threading.Thread(target=contextvars.copy_context().run,
                                  args=(bench_gate,), kwargs={"stamp": str(stamp), "wait": "pause"}, daemon=True)
        thread.start()
        with Session(get_engine()) as session:
            deadline = time.monotonic() + 60
            while (gate := session.exec(select(ApprovalGate).where(
                    ApprovalGate.subject == f"benchmark p{i}")).first()) is None and time.monotonic() < deadline:
                time.sleep(0.05)
        assert gate is not None
        wait_paused(gate.flow_run_id)
        latencies.append(decide_and_measure(api, headers, gate.id, stamp))
        thread.join(60)
    return latencies


def report(name: str, values: list[float]) -> None:
    ordered = sorted(values)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    print(f"{name:<42} n={len(values):<3} p50={statistics.median(values):6.2f} s  p95={p95:6.2f} s  "
          f"max={ordered[-1]:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gates", type=int, default=20)
    args = parser.parse_args()
    upgrade(os.environ["ITSS_DATABASE_URL"])
    with prefect_test_harness(server_startup_timeout=120):
        api = start_api()
        headers = token()
        results = {"suspended gate, served deployment": suspended(api, headers, args.gates),
                   "in-process pause (poll_interval=1)": paused(api, headers, args.gates)}
    print(f"\nGate latency: decision POST returned -> next task started ({args.gates} gates each)")
    for name, values in results.items():
        report(name, values)


if __name__ == "__main__":
    main()
