"""It runs by itself: on the real `itss up`, Prefect's scheduler fires the sweeper, the quarterly review
and an inspection plan on their schedules — nothing here calls a flow or a sweep function.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from zoneinfo import ZoneInfo

from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort

from tests.support.peers import http_server
from tests.support.system import System, wait_until

SHANGHAI = ZoneInfo("Asia/Shanghai")


def runs_of(system: System, deployment: str, limit: int = 200) -> list:
    with system.prefect_client() as client:
        return client.read_flow_runs(deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[deployment])),
                                     sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=limit)


def test_prefects_scheduler_runs_the_sweeper_every_interval(system: System) -> None:
    """Within 90 s of `itss up` being ready, two sweeper runs that Prefect's scheduler created have completed."""
    def two_completed() -> list:
        done = [r for r in runs_of(system, "gate_sweeper")
                if r.auto_scheduled and r.state_type == StateType.COMPLETED]
        return done if len(done) >= 2 else []

    remaining = 90 - (time.monotonic() - system.started)  # type: ignore[attr-defined]
    done = wait_until(two_completed, timeout=max(remaining, 1), what="two scheduled gate_sweeper runs completed")
    lateness = [(r.start_time - r.expected_start_time).total_seconds() for r in done if r.start_time]
    print(f"sweeper start lateness: p50 {statistics.median(lateness):.2f} s, max {max(lateness):.2f} s "
          f"over {len(lateness)} runs")
    health = wait_until(lambda: (h := system.get("/health").json())["components"].get("sweeper", {}).get(
        "last_completed_at") and h, timeout=30, what="/health to show the last sweep")
    assert health["components"]["sweeper"]["status"] == "ok"
    assert health["components"]["database"]["status"] == "ok"
    assert health["components"]["prefect"]["status"] == "ok"
    assert set(health["components"]["outbox"]) == {"pending", "failed", "dead"}
    assert "Traceback" not in system.log("prefect-server")


def test_quarterly_review_is_scheduled_for_0800_shanghai_on_the_first_day_of_next_quarter(system: System) -> None:
    now = dt.datetime.now(SHANGHAI)
    first_month = ((now.month - 1) // 3 + 1) * 3 + 1
    year = now.year + (first_month > 12)
    expected = dt.datetime(year, (first_month - 1) % 12 + 1, 1, 8, 0, tzinfo=SHANGHAI)
    scheduled = wait_until(lambda: [r for r in runs_of(system, "quarterly_review")
                                    if r.state_type == StateType.SCHEDULED],
                           timeout=60, what="a scheduled quarterly_review run")
    nearest = min(r.expected_start_time for r in scheduled)
    assert nearest == expected, f"next review at {nearest.astimezone(SHANGHAI)}, expected {expected}"


def test_an_inspection_plan_with_a_one_minute_cron_runs_on_its_own(system: System) -> None:
    with http_server() as port:
        ci = system.post("/cis", "oncall", json={"name": "sys-web-01", "ci_type": "server", "ip": "127.0.0.1",
                                                 "tags": ["sys-web"]})
        assert ci.status_code == 201, ci.text
        plan = {"name": "every minute", "cron": "* * * * *", "timezone": "Asia/Shanghai",
                "scope": {"tags": ["sys-web"]},
                "checks": [{"key": "web", "name": "Portal health", "probe": "http",
                            "params": {"url": f"http://{{host}}:{port}/health", "keyword": "healthy"}}]}
        created = system.post("/inspection-plans", "pm", json=plan)
        assert created.status_code == 201, created.text

        def scheduled_run_with_results() -> dict | None:
            for run in system.get("/inspection-runs", "pm").json():
                if run["trigger"] == "schedule" and run["status"] != "running":
                    results = system.get(f"/inspection-runs/{run['id']}/results", "pm").json()
                    if results:
                        return {"run": run, "results": results}
            return None

        found = wait_until(scheduled_run_with_results, timeout=240, interval=2,
                           what="a scheduled run of the one-minute plan with stored results")
    assert [(r["check_key"], r["status"]) for r in found["results"]] == [("web", "ok")]
