"""Nothing lost, nobody unpaged: kill -9 of each process of the real `itss up` during an alert stream.

For each fault: every alert answered 202 is stored, every incident of the stream gets its acknowledge
gate and the on-call's notice within 3 minutes of recovery, and no gate, timeline step or notification
is doubled. Nobody restarts anything: the supervisor brings dead children back, the scheduled sweeper
brings dead runs back. One system per test (a kill must not leak into the next test).
"""

from __future__ import annotations

import time
from pathlib import Path
from uuid import UUID

from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import StateType
from prefect.states import Cancelled, Completed

from tests.support.faults import RECOVERY, AlertStream, assert_nothing_lost, child_pid, count_up, flow_run_pids, kill
from tests.support.net import Receiver
from tests.support.system import System, wait_until


def test_kill_9_of_the_runner(system: System, inbox: tuple[Receiver, Path]) -> None:
    stream = AlertStream(system, "runner", count=40, fingerprints=6, rate=4).start()
    wait_until(lambda: flow_run_pids(system), timeout=120, interval=0.2, what="flow runs executing")
    old = child_pid(system, "runner")
    kill(old)
    wait_until(lambda: (pid := child_pid(system, "runner")) and pid != old, timeout=60, what="the runner back")
    recovered_at = time.monotonic()
    stream.join()
    assert_nothing_lost(system, stream, inbox[0], recovered_at)


def test_kill_9_of_flow_run_processes_mid_step(system: System, inbox: tuple[Receiver, Path]) -> None:
    stream = AlertStream(system, "flowrun", count=40, fingerprints=6, rate=4).start()
    killed = 0
    deadline = time.monotonic() + 120
    while killed < 3 and time.monotonic() < deadline:  # three runs killed while they execute
        for pid in flow_run_pids(system)[:1]:
            kill(pid)
            killed += 1
        time.sleep(0.5)
    assert killed, "no flow-run process was ever seen"
    recovered_at = time.monotonic()
    stream.join()
    assert_nothing_lost(system, stream, inbox[0], recovered_at)
    audit = system.get("/audit", "admin", params={"action": "run.recovered"}).json()
    print(f"recovered runs: {[a.get('detail') for a in audit]}")


def test_a_run_cancelled_or_completed_in_prefect_is_restored_audited_and_told(
        system: System, inbox: tuple[Receiver, Path]) -> None:
    stream = AlertStream(system, "bypass", count=2, fingerprints=2, rate=2).start()
    stream.join()
    count_up(system, stream, inbox[0].messages, since=time.monotonic(), timeout=RECOVERY)
    incidents = [i for i in system.get("/incidents", "admin").json() if i["title"].startswith("bypass ")]
    runs = {i["id"]: system.get(f"/incidents/{i['id']}", "admin").json()["incident"]["flow_run_id"] for i in incidents}
    (cancel_id, cancel_run), (complete_id, complete_run) = sorted(runs.items())
    with system.prefect_client() as client:
        client.set_flow_run_state(UUID(cancel_run), Cancelled(message="stopped from the UI"), force=True)
        client.set_flow_run_state(UUID(complete_run), Completed(message="forced from the UI"), force=True)

    def restored() -> bool:
        with system.prefect_client() as client:
            found = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(
                any_=[UUID(cancel_run), UUID(complete_run)])))
        return all(r.state_type == StateType.PAUSED for r in found) and len(found) == 2

    wait_until(restored, timeout=RECOVERY, interval=2, what="both runs back waiting at their gates")
    audit = system.get("/audit", "admin", params={"limit": 500}).json()
    recovered = {(a["record_id"], a["action"]) for a in audit if a["action"].startswith("run.")}
    assert {(str(cancel_id), "run.recovered"), (str(cancel_id), "run.cancel_bypassed"),
            (str(complete_id), "run.recovered")} <= recovered, recovered
    told = wait_until(lambda: [m for m in inbox[0].messages("/engineer") if m["title"].startswith("Run recovered")],
                      timeout=60, what="the engineers told")
    assert len(told) == 2, told
    outcome = count_up(system, stream, inbox[0].messages, since=time.monotonic(), timeout=RECOVERY)
    assert (outcome.duplicate_gates, outcome.duplicate_events) == (0, 0), outcome
