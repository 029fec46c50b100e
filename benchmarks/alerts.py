"""Alert intake under load: Alertmanager payloads at a sustained rate; p50/p99 latency and loss.

    .venv/bin/python -m benchmarks.alerts [--rate 200] [--seconds 30] [--fingerprints 500]

Starts a local Prefect server (with the emergency_response deployment registered, so new incidents
really create flow runs after the response) and the API with uvicorn in their own processes, on a
temporary SQLite project database; this process posts the payloads open-loop on loopback from 64 threads.
The webhook answers 202 once the alert is stored in the inbox; the alert processor applies it a
moment later. Loss check: every firing alert posted is counted on exactly one open incident, and the
benchmark prints how long after receipt alerts reached their incidents.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from tests.support.net import free_port

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(tempfile.mkdtemp(prefix="itss-bench-alerts-"))
WARM_UP = 20


def wait(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


def payload(fingerprint: int, index: int) -> dict:
    return {
        "version": "4", "groupKey": f"{{}}:{{alertname=\"bench{fingerprint}\"}}", "truncatedAlerts": 0,
        "status": "firing", "receiver": "itss", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [{"status": "firing", "fingerprint": f"bench{fingerprint:05d}",
                    "labels": {"alertname": f"bench{fingerprint}", "instance": f"app-srv-{fingerprint % 20:02d}:9100",
                               "severity": "warning"},
                    "annotations": {"summary": f"benchmark alert {fingerprint} #{index}"},
                    "startsAt": "2026-11-24T02:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": ""}],
    }


def load(base: str, token: str, rate: int, seconds: int, fingerprints: int,
         senders: int = 64) -> tuple[list[float], int]:
    """Open-loop load from `senders` threads, each with a keep-alive client; latency counts from the
    scheduled send time, so a late sender cannot hide the server's queueing."""
    total = rate * seconds
    latencies: list[float] = []
    errors = [0]
    by_second: dict[int, list[float]] = {}
    lock = threading.Lock()
    ready = threading.Barrier(senders + 1)
    start: list[float] = []

    def sender(offset: int) -> None:
        # Clients are built and connected before the clock starts: 64 SSL contexts cost this
        # process ~1 s of CPU, which would otherwise show up as the server's latency.
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            client.get("/health")
            ready.wait()
            begin = start[0]
            for i in range(offset, total, senders):
                scheduled = begin + i / rate
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                try:
                    ok = client.post("/alerts/alertmanager", json=payload(i % fingerprints, i)).status_code == 202
                except httpx.HTTPError:
                    ok = False
                with lock:
                    latencies.append(time.perf_counter() - scheduled)
                    by_second.setdefault(i // rate, []).append(latencies[-1])
                    errors[0] += int(not ok)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(senders)]
    for thread in threads:
        thread.start()
    start.append(time.perf_counter() + 0.2)
    ready.wait()
    for thread in threads:
        thread.join()
    for second, values in sorted(by_second.items()):
        values.sort()
        print(f"  second {second:3d}: p50 {values[len(values) // 2] * 1000:7.1f} ms, max {values[-1] * 1000:7.1f} ms")
    return latencies, errors[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--fingerprints", type=int, default=500)
    args = parser.parse_args()

    prefect_port, api_port = free_port(), free_port()
    env = dict(os.environ, ITSS_DATA_DIR=str(WORK), ITSS_API_PORT=str(api_port), PREFECT_HOME=str(WORK / "prefect"),
               PREFECT_API_URL=f"http://127.0.0.1:{prefect_port}/api", PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_LOGGING_LEVEL="WARNING")
    os.environ.update(env)
    bin_dir = Path(sys.executable).parent
    procs = [subprocess.Popen([str(bin_dir / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
                               str(prefect_port)], env=env, stdout=(WORK / "prefect.log").open("w"),
                              stderr=subprocess.STDOUT)]
    try:
        wait(f"http://127.0.0.1:{prefect_port}/api/health")
        print("prefect server up", flush=True)
        setup = ("from flows.emergency_response import emergency_response as f; "
                 "f.to_deployment(name='emergency_response').apply()")
        subprocess.run([sys.executable, "-c", setup], env=env, cwd=ROOT, check=True, capture_output=True)
        print("deployment registered", flush=True)
        token = subprocess.run([str(bin_dir / "itss"), "user", "add", "alertmanager", "--role", "service_desk"],
                               env=env | {"COLUMNS": "200"}, cwd=ROOT, check=True, capture_output=True,
                               text=True).stdout.strip().splitlines()[-1]
        procs.append(subprocess.Popen([sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
                                       "--port", str(api_port), "--no-access-log", "--log-level", "warning"],
                                      env=env, cwd=ROOT, stdout=(WORK / "api.log").open("w"), stderr=subprocess.STDOUT))
        base = f"http://127.0.0.1:{api_port}"
        wait(f"{base}/health")
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
            for i in range(WARM_UP):  # warm the server (imports, statement caches); not counted below
                client.post("/alerts/alertmanager", json=payload(90_000 + i, 0)).raise_for_status()
        print(f"API up; posting {args.rate}/s for {args.seconds} s", flush=True)
        latencies, errors = load(base, token, args.rate, args.seconds, args.fingerprints)
        from sqlalchemy import create_engine, text

        engine = create_engine(f"sqlite:///{WORK}/itss.db")
        posted_at = time.perf_counter()
        with engine.connect() as conn:  # the processor applies what is still pending
            while conn.execute(text("SELECT count(*) FROM alert_inbox WHERE status = 'pending'")).scalar():
                time.sleep(0.05)
        applied_after = time.perf_counter() - posted_at
        time.sleep(5)  # let queued dispatches finish before counting runs
        with engine.connect() as conn:
            query = ("SELECT count(*), coalesce(sum(alert_count), 0) FROM incident "
                     "WHERE fingerprint < 'alertmanager:bench90000'")
            incidents, counted = conn.execute(text(query)).one()
            runs = conn.execute(text("SELECT count(*) FROM incident WHERE flow_run_id IS NOT NULL "
                                     "AND flow_run_id NOT LIKE 'claim:%'")).scalar() - WARM_UP
            failed = conn.execute(text("SELECT count(*) FROM alert_inbox WHERE status = 'failed'")).scalar()
            lag = conn.execute(text("SELECT max(julianday(processed_at) - julianday(received_at)) * 86400000, "
                                    "avg(julianday(processed_at) - julianday(received_at)) * 86400000 "
                                    "FROM alert_inbox")).one()
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(20)

    ordered = sorted(latencies)
    p99 = ordered[max(0, round(0.99 * len(ordered)) - 1)]
    posted = len(latencies)
    print(f"\nAlertmanager intake: {args.rate}/s for {args.seconds} s, {args.fingerprints} fingerprints, SQLite")
    print(f"posted {posted}, errors {errors}, incidents {incidents}, alerts counted on incidents {counted}, "
          f"lost {posted - counted}, failed to apply {failed}, flow runs created {runs}")
    print(f"applied to incidents {applied_after:.1f} s after the last post; inbox to incident: "
          f"mean {lag[1]:.0f} ms, max {lag[0]:.0f} ms")
    print(f"latency p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
          f"max {ordered[-1] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
