"""Faults, a maximum-size import and an alert storm on the real `itss up` (loopback only).

    .venv/bin/python -m benchmarks.faults [--parts faults,import,storm] [--alerts 100] [--fingerprints 25]
                                          [--storm 10000]

faults: for each of kill -9 of the API, the Prefect server, the runner and flow-run processes, a fresh
  `itss up` gets an alert stream of --alerts alerts over --fingerprints problems (4/s); the process is
  killed mid-stream. Prints alerts acknowledged (202) vs stored, incidents paged (acknowledge gate open and
  the on-call's notice sent) and how long after recovery, and duplicates of gates, timeline steps and
  notifications. For the API: seconds from the kill until it answers again.
import: one import of ITSS_MAX_IMPORT_ROWS rows while /health and the alert webhook are probed 10 times a
  second each; prints their p50/p99 during the import.
storm: --storm alerts (distinct problems, in posts of ITSS_MAX_ALERTS_PER_REQUEST) and the peak number of
  flow-run processes over the next 3 minutes (ITSS_RUNNER_LIMIT caps it).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

from config.settings import Settings
from tests.support.faults import AlertStream, child_pid, count_up, flow_run_pids, kill
from tests.support.system import System, start_system, wait_until
from tests.system.conftest import apprise_inbox


def fault(name: str, alerts: int, fingerprints: int) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"itss-bench-faults-{name}-"))
    receiver, config = apprise_inbox(work)
    system = start_system(work / "sys", env={"ITSS_APPRISE_CONFIG": str(config)})
    try:
        stream = AlertStream(system, name.replace("-", ""), count=alerts, fingerprints=fingerprints, rate=4).start()
        wait_until(lambda: len(stream.accepted) >= alerts // 4, timeout=120, what="the stream under way")
        extra = ""
        if name == "flow-run":
            killed = 0
            deadline = time.monotonic() + 120
            while killed < 3 and time.monotonic() < deadline:
                for pid in flow_run_pids(system)[:1]:
                    kill(pid)
                    killed += 1
                time.sleep(0.5)
            extra = f", {killed} flow-run processes killed"
        else:
            old = child_pid(system, name)
            killed_at = time.monotonic()
            kill(old)
            if name == "api":
                wait_until(lambda: system.get("/health").status_code == 200, timeout=300, interval=0.2, what="API")
                extra = f", API answered again after {time.monotonic() - killed_at:.1f} s"
            else:
                wait_until(lambda: (pid := child_pid(system, name)) and pid != old, timeout=300, what=name)
        recovered = time.monotonic()
        stream.join()
        outcome = count_up(system, stream, receiver.messages, since=recovered, timeout=600)
        print(f"kill -9 {name}: {outcome.acknowledged} alerts acknowledged, {outcome.stored} stored "
              f"({outcome.lost} lost), {len(stream.refused)} refused; {outcome.paged}/{outcome.incidents} incidents "
              f"paged {outcome.seconds_to_paged:.0f} s after recovery; duplicates: gates {outcome.duplicate_gates}, "
              f"timeline {outcome.duplicate_events}, notifications {outcome.duplicate_notifications}{extra}",
              flush=True)
    finally:
        system.stop()
        receiver.stop()


def _probe(system: System, stop: threading.Event, latencies: dict[str, list[float]]) -> None:
    alert = {"source": "bench", "id": "import-probe", "status": "firing", "title": "probe during import"}
    with httpx.Client(timeout=60) as client:
        while not stop.is_set():
            for key, call in (("health", lambda: client.get(f"{system.api}/health")),
                              ("webhook", lambda: client.post(f"{system.api}/alerts/webhook", json=alert,
                                                              headers=system.headers("desk")))):
                started = time.perf_counter()
                call()
                latencies[key].append(time.perf_counter() - started)
            time.sleep(0.1)


def biggest_import() -> None:
    work = Path(tempfile.mkdtemp(prefix="itss-bench-import-"))
    system = start_system(work / "sys")
    try:
        rows = Settings().max_import_rows
        csv = "title,symptom,reported_at,resolved_at,closed_at\n" + "".join(
            f"imported {i},disk full on host {i},2025-03-01 10:00,2025-03-01 12:00,2025-03-02 09:00\n"
            for i in range(rows))
        latencies: dict[str, list[float]] = {"health": [], "webhook": []}
        stop = threading.Event()
        prober = threading.Thread(target=_probe, args=(system, stop, latencies), daemon=True)
        prober.start()
        time.sleep(3)
        for values in latencies.values():
            values.clear()
        started = time.monotonic()
        answer = httpx.post(f"{system.api}/incidents/import?format=csv", content=csv.encode(),
                            headers=system.headers("desk"), timeout=1800)
        took = time.monotonic() - started
        stop.set()
        prober.join()
        print(f"import of {rows} rows ({len(csv) / 1e6:.1f} MB): HTTP {answer.status_code} in {took:.1f} s", flush=True)
        for key, values in latencies.items():
            values.sort()
            p99 = values[max(0, int(len(values) * 0.99) - 1)] if values else float("nan")
            print(f"  {key} during the import: {len(values)} calls, p50 {statistics.median(values) * 1000:.0f} ms, "
                  f"p99 {p99 * 1000:.0f} ms", flush=True)
    finally:
        system.stop()


def storm(count: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="itss-bench-storm-"))
    system = start_system(work / "sys")
    settings = Settings()
    try:
        peak, stop = [0], threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], len(flow_run_pids(system)))
                time.sleep(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        per_post = settings.max_alerts_per_request
        accepted = 0
        for start in range(0, count, per_post):
            alerts = [{"status": "firing", "labels": {"alertname": "Storm", "instance": f"host-{i}:9100"},
                       "annotations": {"summary": f"storm {i}"}, "startsAt": "2026-11-24T02:15:00Z",
                       "fingerprint": f"storm{i}"} for i in range(start, min(start + per_post, count))]
            payload = {"version": "4", "groupKey": "storm", "status": "firing", "receiver": "itss", "alerts": alerts}
            answer = httpx.post(f"{system.api}/alerts/alertmanager", json=payload, headers=system.headers("desk"),
                                timeout=300)
            accepted += answer.json().get("accepted", 0) if answer.status_code == 202 else 0
        whole = httpx.post(f"{system.api}/alerts/alertmanager", headers=system.headers("desk"), timeout=300,
                           json={"version": "4", "groupKey": "storm", "status": "firing", "receiver": "itss",
                                 "alerts": [{"status": "firing", "labels": {"alertname": "S"}, "startsAt":
                                             "2026-11-24T02:15:00Z", "fingerprint": f"big{i}"}
                                            for i in range(45_000)]})
        time.sleep(180)
        stop.set()
        sampler.join()
        print(f"storm of {count} alerts ({accepted} accepted): peak {peak[0]} flow-run processes at once "
              f"(ITSS_RUNNER_LIMIT {settings.runner_limit}); one 45,000-alert post: HTTP {whole.status_code} "
              f"{whole.text[:160]}", flush=True)
    finally:
        system.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="faults,import,storm")
    parser.add_argument("--faults", default="api,prefect-server,runner,flow-run")
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--fingerprints", type=int, default=25)
    parser.add_argument("--storm", type=int, default=10_000)
    args = parser.parse_args()
    parts = args.parts.split(",")
    if "faults" in parts:
        for name in args.faults.split(","):
            fault(name, args.alerts, args.fingerprints)
    if "import" in parts:
        biggest_import()
    if "storm" in parts:
        storm(args.storm)


if __name__ == "__main__":
    main()
