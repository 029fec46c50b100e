"""Faults on the real `itss up`: an alert stream, kill -9 of one of its processes, and the count afterwards.

Used by tests/system/test_faults.py and benchmarks/faults.py. Everything talks to loopback only.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from uuid import UUID

import httpx

from tests.support import procs
from tests.support.net import Receiver
from tests.support.system import System, wait_until

# Which process of `itss up` each fault kills (a substring of its command line).
TARGETS = {"api": "uvicorn api.main:app", "prefect-server": "prefect server start", "runner": "itss serve"}
# The runner starts a run of a deployment built from an entrypoint as `python -m prefect.engine`
# (one built from a flow object would be multiprocessing's `spawn_main`; `itss serve` builds none).
FLOW_RUN = ("-m prefect.engine", "spawn_main")


def family(system: System) -> list[tuple[int, int, str]]:
    """(pid, ppid, command line) of every process under `itss up`."""
    return procs.family(system.proc.pid)


def child_pid(system: System, target: str) -> int | None:
    """The pid of one of `itss up`'s children (api, prefect-server, runner), or None."""
    found = [pid for pid, _, args in family(system) if TARGETS[target] in args]
    return found[0] if found else None


def flow_run_pids(system: System) -> list[int]:
    """Flow-run processes started by the runner (not the multiprocessing resource tracker)."""
    return [pid for pid, _, args in family(system)
            if any(marker in args for marker in FLOW_RUN) and "resource_tracker" not in args]


@dataclass
class AlertStream:
    """Posts `count` firing alerts over `fingerprints` distinct problems at `rate` a second, in a thread."""

    system: System
    tag: str
    count: int
    fingerprints: int
    rate: float
    accepted: dict[int, str] = field(default_factory=dict)  # alert id -> fingerprint
    refused: list[str] = field(default_factory=list)  # connection errors and non-202 answers
    thread: threading.Thread | None = None

    def title(self, k: int) -> str:
        return f"{self.tag} problem {k}"

    def start(self) -> AlertStream:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        headers = self.system.headers("desk")
        with httpx.Client(timeout=15) as client:
            for i in range(self.count):
                k = i % self.fingerprints
                alert = {"source": "faults", "id": f"{self.tag}-{k}", "status": "firing", "title": self.title(k),
                         "severity": "critical", "description": f"fault test {self.tag}"}
                try:
                    answer = client.post(f"{self.system.api}/alerts/webhook", json=alert, headers=headers)
                    if answer.status_code == 202:
                        for alert_id in answer.json()["alert_ids"]:
                            self.accepted[alert_id] = f"faults:{self.tag}-{k}"
                    else:
                        self.refused.append(f"HTTP {answer.status_code}")
                except httpx.HTTPError as exc:
                    self.refused.append(type(exc).__name__)
                time.sleep(1 / self.rate)

    def join(self) -> None:
        assert self.thread is not None
        self.thread.join(self.count / self.rate + 120)


def kill(pid: int) -> None:
    """kill -9, as the kernel's OOM killer or a careless admin would."""
    os.kill(pid, signal.SIGKILL)


@dataclass
class Outcome:
    """What the system made of an alert stream after a fault."""

    acknowledged: int
    stored: int
    incidents: int
    paged: int
    duplicate_gates: int
    duplicate_events: int
    duplicate_notifications: int
    seconds_to_paged: float

    @property
    def lost(self) -> int:
        return self.acknowledged - self.stored


def count_up(system: System, stream: AlertStream, inbox_messages, *, since: float, timeout: float = 180) -> Outcome:
    """Wait until every incident of the stream is paged (acknowledge gate open and its notice sent), then count
    losses and duplicates. `since` is the monotonic time of recovery; `inbox_messages(path)` reads the inbox."""
    stored_ids = {a["id"] for a in system.get("/alerts", "admin", params={"limit": 1000}).json()}
    stored = len(set(stream.accepted) & stored_ids)
    titles = {stream.title(k) for k in range(stream.fingerprints)}

    def incidents() -> dict[int, dict]:
        found = {i["id"]: i for i in system.get("/incidents", "admin", params={"limit": 1000}).json()
                 if i["title"] in titles}
        return found

    def gates() -> list[dict]:
        return system.get("/approvals", "oncall").json()

    last: dict[str, object] = {}  # what the last poll saw, for the failure message

    def paged() -> dict[int, dict] | None:
        found = incidents()
        # One list call, not one GET per alert: under CI load 40 GETs every 2 s were load of their own.
        listed = {a["id"]: a["incident_id"] for a in system.get("/alerts", "admin", params={"limit": 1000}).json()}
        applied = {listed.get(a) for a in stream.accepted}
        last.update(alerts_unapplied=sum(listed.get(a) is None for a in stream.accepted), incidents=len(found))
        if None in applied or not found or set(applied) - set(found):
            return None  # the processor has not applied every stored alert yet
        open_acks = {int(g["record_id"]) for g in gates() if g["gate_key"] == "acknowledge"}
        noticed = {m.get("title", "") for m in inbox_messages("/engineer")}
        last.update(without_ack_gate=sorted(set(found) - open_acks),
                    not_noticed=sorted(i for i, inc in found.items() if f"Acknowledge: {inc['title']}" not in noticed))
        if all(i in open_acks and f"Acknowledge: {inc['title']}" in noticed for i, inc in found.items()):
            return found
        return None

    try:
        found = wait_until(paged, timeout=timeout, interval=2, what="every incident of the stream paged")
    except AssertionError as exc:  # say which incidents were not paged and where their runs stood
        runs = {i: system.get(f"/incidents/{i}", "admin").json()["incident"].get("flow_run_id")
                for i in last.get("without_ack_gate", [])}
        raise AssertionError(f"{exc}; last poll: {last}; their runs: {_run_states(system, runs)}") from None
    seconds = time.monotonic() - since
    ack_gates = [g for g in gates() if g["gate_key"] == "acknowledge" and int(g["record_id"]) in found]
    duplicate_gates = sum(n - 1 for n in Counter(int(g["record_id"]) for g in ack_gates).values())
    duplicate_events = 0
    for incident_id in found:
        events = system.get(f"/incidents/{incident_id}/timeline", "admin").json()
        flow_steps = Counter((e["kind"], e.get("detail")) for e in events if "alert" not in e["kind"])
        duplicate_events += sum(n - 1 for n in flow_steps.values())
    notices = Counter((m.get("title"), m.get("body")) for m in inbox_messages("/engineer")
                      if any(m.get("title", "").endswith(inc["title"]) for inc in found.values()))
    return Outcome(acknowledged=len(stream.accepted), stored=stored, incidents=len(found), paged=len(found),
                   duplicate_gates=duplicate_gates,
                   duplicate_events=duplicate_events, duplicate_notifications=sum(n - 1 for n in notices.values()),
                   seconds_to_paged=seconds)


def _run_states(system: System, runs: dict[int, str | None]) -> dict[int, str]:
    """Incident id -> the state of its flow run in Prefect (for failure messages)."""
    states: dict[int, str] = {}
    try:
        with system.prefect_client() as client:
            for incident_id, run_id in runs.items():
                state = client.read_flow_run(UUID(run_id)).state if run_id else None
                states[incident_id] = f"{state.type.value} {state.name}" if state else "no run"
    except Exception as exc:  # noqa: BLE001 - a failure message must not fail on its diagnostics
        states[-1] = f"unreadable: {exc!r}"
    return states


RECOVERY = 180  # seconds: every incident paged within 3 minutes of recovery


def assert_nothing_lost(system: System, stream: AlertStream, inbox: Receiver, recovered_at: float) -> None:
    """Every acknowledged alert stored, every problem paged within RECOVERY, nothing doubled."""
    outcome = count_up(system, stream, inbox.messages, since=recovered_at, timeout=RECOVERY)
    print(f"{stream.tag}: {outcome}")
    assert outcome.acknowledged > 0
    assert outcome.lost == 0, outcome
    assert outcome.incidents == stream.fingerprints, outcome
    assert (outcome.duplicate_gates, outcome.duplicate_events, outcome.duplicate_notifications) == (0, 0, 0), outcome
