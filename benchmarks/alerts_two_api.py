"""The alert webhook with two API processes (`itss api --workers 2`) on PostgreSQL: the highest sustained rate
with p99 ≤ 100 ms and nothing lost.

    .venv/bin/python -m benchmarks.alerts_two_api --rates 100,200,300 --seconds 20

A local Prefect server (the emergency deployment registered, so new incidents start runs), a fresh PostgreSQL
project database, the API under uvicorn with two workers; posting as in benchmarks/alerts.py (open loop, 64
threads, latency from each post's scheduled time). After each rate: wait until the inbox is drained and count
the alerts on incidents (the advisory lock lets one processor at a time apply them, whichever process took them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from benchmarks.alerts import WARM_UP, load, payload, wait
from tests.support.net import free_port
from tests.support.system import _admin_pg

ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="100,200,300")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--fingerprints", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="itss-bench-alerts2-"))
    database = f"itss_bench_{uuid.uuid4().hex[:8]}"
    _admin_pg(f'CREATE DATABASE "{database}"', PG)
    url = f"{PG}{database}"
    prefect_port, api_port = free_port(), free_port()
    env = dict(os.environ, ITSS_DATA_DIR=str(work), ITSS_API_PORT=str(api_port), ITSS_DATABASE_URL=url,
               PREFECT_HOME=str(work / "prefect"), PREFECT_API_URL=f"http://127.0.0.1:{prefect_port}/api",
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING", COLUMNS="200")
    bin_dir = Path(sys.executable).parent
    procs = [subprocess.Popen([str(bin_dir / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
                               str(prefect_port)], env=env, stdout=(work / "prefect.log").open("w"),
                              stderr=subprocess.STDOUT)]
    engine = create_engine(url)
    results = []
    try:
        wait(f"http://127.0.0.1:{prefect_port}/api/health", timeout=600)
        subprocess.run([str(bin_dir / "itss"), "db", "upgrade"], env=env, cwd=work, check=True, capture_output=True)
        setup = ("from flows.emergency_response import emergency_response as f; "
                 "f.to_deployment(name='emergency_response').apply()")
        subprocess.run([sys.executable, "-c", setup], env=env, cwd=ROOT, check=True, capture_output=True)
        token = subprocess.run([str(bin_dir / "itss"), "user", "add", "alertmanager", "--role", "service_desk"],
                               env=env, cwd=work, check=True, capture_output=True,
                               text=True).stdout.strip().splitlines()[-1]
        procs.append(subprocess.Popen([str(bin_dir / "itss"), "api", "--workers", str(args.workers), "--host",
                                       "127.0.0.1", "--port", str(api_port)], env=env, cwd=work,
                                      stdout=(work / "api.log").open("w"), stderr=subprocess.STDOUT))
        base = f"http://127.0.0.1:{api_port}"
        wait(f"{base}/health", timeout=600)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
            for i in range(WARM_UP * args.workers):  # both processes warm (imports, statement caches)
                client.post("/alerts/alertmanager", json=payload(90_000 + i, 0)).raise_for_status()
        for rate in [int(r) for r in args.rates.split(",")]:
            before = _counted(engine)
            print(f"posting {rate}/s for {args.seconds} s", flush=True)
            latencies, errors = load(base, token, rate, args.seconds, args.fingerprints)
            posted_at = time.perf_counter()
            with engine.connect() as conn:
                while conn.execute(text("SELECT count(*) FROM alert_inbox WHERE status = 'pending'")).scalar():
                    time.sleep(0.05)
            drained = time.perf_counter() - posted_at
            lost = len(latencies) - (_counted(engine) - before)
            ordered = sorted(latencies)
            p99 = ordered[max(0, round(0.99 * len(ordered)) - 1)]
            results.append((rate, len(latencies), errors, lost, statistics.median(latencies), p99, ordered[-1],
                            drained))
            time.sleep(5)  # let queued dispatches settle between rates
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(30)
        engine.dispose()
        _admin_pg(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)', PG)
    print(f"\nAlertmanager intake, {args.workers} API processes, PostgreSQL, {args.fingerprints} fingerprints")
    print("| rate | posted | errors | lost | p50 | p99 | max | inbox drained after |")
    print("|---|---|---|---|---|---|---|---|")
    for rate, posted, errors, lost, p50, p99, top, drained in results:
        print(f"| {rate}/s × {args.seconds} s | {posted} | {errors} | {lost} | {p50 * 1000:.1f} ms | "
              f"{p99 * 1000:.1f} ms | {top * 1000:.0f} ms | {drained:.1f} s |")
    met = [r for r in results if r[5] <= 0.100 and r[3] == 0 and r[2] == 0]
    print(f"highest sustained rate with p99 ≤ 100 ms and 0 lost: {max(r[0] for r in met) if met else 'none'}/s")


def _counted(engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT coalesce(sum(alert_count), 0) FROM incident "
                                     "WHERE fingerprint < 'alertmanager:bench90000'")).scalar())


if __name__ == "__main__":
    main()
