"""Decision → next gate on Prefect workers: the production topology (tests/support/topology.py) on PostgreSQL.

For 1 and then N concurrent incidents: wait until each run is suspended at its acknowledge gate, post all the
decisions at once, and time from each decision's 200 to its restore gate being opened by the resumed run (the
gate row's created_at). Needs PostgreSQL on 127.0.0.1:5432.

    .venv/bin/python -m benchmarks.worker_gates --concurrent 10 --query-seconds 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.system import wait_until  # noqa: E402
from tests.support.topology import Topology, postgres_answers, start_topology  # noqa: E402
from tests.system.test_topology import _contract, _flow_run_state, _gate  # noqa: E402


def _open_incidents(topo: Topology, contract_id: int, count: int) -> list[dict]:
    gates = []
    ids = []
    for index in range(count):
        made = topo.post("/incidents", "desk", json={"title": f"bench {index}", "symptom": "x",
                                                     "contract_id": contract_id})
        made.raise_for_status()
        ids.append(made.json()["incident"]["id"])
    for incident_id in ids:
        gate = wait_until(lambda i=incident_id: _gate(topo, i, "acknowledge", "oncall"), timeout=600, interval=1,
                          what="the acknowledge gate")
        wait_until(lambda g=gate: _flow_run_state(topo, g["flow_run_id"]) == "Suspended", timeout=600,
                   interval=1, what="the run suspended")
        gates.append(gate | {"incident_id": incident_id})
    return gates


# The worker's own lines are in its log; the run's lines (its output no longer flows through the worker:
# stream_output is off) are read from Prefect's API, as the UI shows them.
WORKER_STEPS = (("picked up", "submitting flow run '{id}'"),
                ("process started", "Flow run '{name}' submitted to infra"))
RUN_STEPS = (("engine up", "Running 1 deployment pull step"), ("pull step done", "All deployment steps completed"))
STEPS = WORKER_STEPS + RUN_STEPS


def _breakdown(topo: Topology, run_id: str, decided_at: float, gate_at: float) -> dict[str, float] | None:
    """Seconds from the decision to each step of the resumed run (worker logs and the run's logs; one clock)."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    with topo.prefect_client() as client:
        name = client.read_flow_run(run_id).name
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
    day = dt.datetime.fromtimestamp(decided_at).date()
    found: dict[str, float] = {}
    for worker in topo.workers.values():
        for line in worker.text().splitlines():
            for label, needle in WORKER_STEPS:
                if needle.format(id=run_id, name=name) in line:
                    clock = dt.datetime.combine(day, dt.time.fromisoformat(line[:12])).timestamp()
                    if decided_at - 1 <= clock <= gate_at + 1:
                        found[label] = clock - decided_at
    for log in logs:
        for label, needle in RUN_STEPS:
            clock = log.timestamp.timestamp()
            if needle in log.message and decided_at - 1 <= clock <= gate_at + 1:
                found[label] = clock - decided_at
    if len(found) < len(STEPS):
        return None
    return found | {"next gate": gate_at - decided_at}


def _round(topo: Topology, contract_id: int, count: int, breakdowns: list[dict[str, float]]) -> list[float]:
    gates = _open_incidents(topo, contract_id, count)

    def decide(gate: dict) -> tuple[int, float]:
        response = topo.post(f"/approvals/{gate['id']}/decision", "oncall", json={"decision": "acknowledge"})
        response.raise_for_status()
        return gate["incident_id"], time.time()

    with ThreadPoolExecutor(max_workers=count) as pool:
        decided = dict(pool.map(decide, gates))
    latencies = []
    for incident_id, at in decided.items():
        restore = wait_until(lambda i=incident_id: _gate(topo, i, "restore", "oncall"), timeout=600, interval=0.2,
                             what="the restore gate")
        created = dt.datetime.fromisoformat(restore["created_at"])
        if created.tzinfo is None:
            created = created.replace(tzinfo=dt.UTC)
        latencies.append(created.timestamp() - at)
        found = _breakdown(topo, restore["flow_run_id"], at, created.timestamp())
        if found:
            breakdowns.append(found)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrent", type=int, default=10)
    parser.add_argument("--singles", type=int, default=5, help="one-incident rounds")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--query-seconds", type=float, default=1)
    args = parser.parse_args()
    if not postgres_answers():
        raise SystemExit("needs PostgreSQL on 127.0.0.1:5432")
    with tempfile.TemporaryDirectory() as tmp:
        topo = start_topology(Path(tmp), workers=args.workers, query_seconds=args.query_seconds,
                              concurrency_limit=max(10, args.concurrent + 2))
        try:
            contract_id = _contract(topo, "BENCH")
            single_steps: list[dict[str, float]] = []
            many_steps: list[dict[str, float]] = []
            singles = [x for _ in range(args.singles) for x in _round(topo, contract_id, 1, single_steps)]
            many = _round(topo, contract_id, args.concurrent, many_steps)
        finally:
            topo.stop()
    for label, values in (("1 incident", singles), (f"{args.concurrent} concurrent", many)):
        values = sorted(values)
        print(f"{label:>14}: n={len(values)} p50 {statistics.median(values):.2f} s  "
              f"min {values[0]:.2f} s  max {values[-1]:.2f} s  (worker poll {args.query_seconds} s, "
              f"{args.workers} workers)")
    for label, steps in (("1 incident", single_steps), (f"{args.concurrent} concurrent", many_steps)):
        if steps:
            parts = ", ".join(f"{key} {statistics.median(s[key] for s in steps):.2f} s"
                              for key in [k for k, _ in STEPS] + ["next gate"])
            print(f"{label:>14}: median seconds after the decision: {parts}")


if __name__ == "__main__":
    main()
