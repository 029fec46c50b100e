"""Inspection overhead: the whole routine_inspection flow against the same probes run bare with asyncio.

    .venv/bin/python -m benchmarks.inspection [--sizes 200 2000] [--concurrency 100]

N CIs on loopback (half checked by a TCP probe, half by an HTTP probe of one local server), one plan.
"bare" is run_check over the same targets with a semaphore, nothing stored; "flow" is the flow in
process (Prefect test harness) including run records, bulk result inserts, artifacts and report, on
a temporary SQLite database. Peak memory is the process's max RSS after the flow runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time

WORK = tempfile.mkdtemp(prefix="itss-bench-inspection-")
os.environ.setdefault("ITSS_DATA_DIR", WORK)
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


async def bare(targets, checks, concurrency: int) -> float:
    from tasks.probes import PROBES, ProbeContext, run_check

    ctx, gate = ProbeContext(), asyncio.Semaphore(concurrency)
    params = {c["key"]: PROBES[c["probe"]].params.model_validate(c["params"]) for c in checks}

    async def one(check, target):
        async with gate:
            return await run_check(PROBES[check["probe"]], params[check["key"]], target, ctx, timeout=5)

    started = time.perf_counter()
    jobs = [(checks[i % 2], t) for i, t in enumerate(targets)]
    results = await asyncio.gather(*(one(c, t) for c, t in jobs))
    elapsed = time.perf_counter() - started
    await ctx.aclose()
    assert all(r.status.value == "ok" for r in results), {r.message for r in results if r.status.value != "ok"}
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()

    from prefect.testing.utilities import prefect_test_harness

    from config.settings import get_settings
    from flows.routine_inspection import routine_inspection
    from models.cmdb.tables import ConfigurationItem
    from models.core.db import session_scope
    from models.core.migrate import upgrade
    from models.inspection.plan import PlanSpec
    from models.inspection.service import save_plan
    from tasks.probes import Target
    from tests.support.peers import http_server

    upgrade(get_settings().resolved_database_url)
    rows = []
    with http_server() as port, prefect_test_harness(server_startup_timeout=120):
        for n in args.sizes:
            tag = f"bench{n}"
            checks = [
                {"key": "tcp", "name": "TCP", "probe": "tcp", "params": {"port": port}, "applies_to": ["server"]},
                {"key": "http", "name": "HTTP", "probe": "http", "applies_to": ["application"],
                 "params": {"url": f"http://{{host}}:{port}/health", "keyword": "healthy"}},
            ]
            with session_scope() as session:
                for i in range(n):
                    session.add(ConfigurationItem(name=f"{tag}-{i:05d}", ci_type="server" if i % 2 == 0 else
                                                  "application", ip="127.0.0.1", tags=[tag]))
                session.flush()
                save_plan(session, PlanSpec.model_validate({"name": tag, "cron": "0 9 * * *", "scope": {"tags": [tag]},
                                                            "concurrency": args.concurrency, "checks": checks}),
                          actor="benchmark")
            targets = [Target(ci_id=i, name=f"t{i}", host="127.0.0.1") for i in range(n)]
            bare_s = asyncio.run(bare(targets, checks, args.concurrency))
            started = time.perf_counter()
            summary = routine_inspection(tag, trigger="benchmark")
            flow_s = time.perf_counter() - started
            assert summary["not_ok"] == 0, summary
            rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            rows.append((n, bare_s, flow_s, rss_mb))
            print(f"N={n}: bare {bare_s:.2f} s, flow {flow_s:.2f} s, ratio {flow_s / bare_s:.2f}, "
                  f"peak RSS {rss_mb:.0f} MB", flush=True)
    print("\nroutine_inspection vs bare asyncio probes (loopback, TCP + HTTP mix, concurrency "
          f"{args.concurrency}, SQLite)")
    for n, bare_s, flow_s, rss_mb in rows:
        print(f"  N = {n:5d}: bare {bare_s:6.2f} s   flow {flow_s:6.2f} s   ratio {flow_s / bare_s:4.2f}   "
              f"peak RSS {rss_mb:5.0f} MB")


if __name__ == "__main__":
    main()
