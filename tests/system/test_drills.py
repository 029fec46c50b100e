"""Drills on the real `itss up`: a plan's cron fires through Prefect's scheduler; a Level II incident on a CI
in scope terminates the drill at once; another drill ends, is evaluated, reported and signed off by the PM."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.exceptions import ObjectNotFound

from tests.support.net import Receiver
from tests.support.system import System, wait_until

SHANGHAI = ZoneInfo("Asia/Shanghai")




def plan_body(name: str, ci_id: int, cron: str) -> dict:
    return {"name": name, "scenario": "核心数据库主库宕机，切换到备库", "emergency_plan": "数据库故障应急预案 v3",
            "scope_ci_ids": [ci_id], "participants": [{"role": "engineer", "duty": "切换"}, {"role": "project_manager"}],
            "objectives": ["RTO ≤ 30 min"], "cron": cron, "timezone": "Asia/Shanghai"}


def deployed(system: System) -> None:
    """Wait until the runner has applied the drill deployment (approving syncs the plan's schedule onto it)."""
    def found() -> bool:
        with system.prefect_client() as client:
            try:
                return bool(client.read_deployment_by_name("emergency_drill/emergency_drill"))
            except ObjectNotFound:
                return False
    wait_until(found, timeout=180, what="the emergency_drill deployment")


def approved_plan(system: System, name: str, ci_name: str, cron: str) -> tuple[int, int]:
    deployed(system)
    ci = system.post("/cis", "oncall", json={"name": ci_name, "ci_type": "server", "criticality": "core"})
    assert ci.status_code == 201, ci.text
    plan = system.post("/drills/plans", "oncall", json=plan_body(name, ci.json()["id"], cron))
    assert plan.status_code == 201, plan.text
    approved = system.post(f"/drills/plans/{plan.json()['id']}/approve", "pm")
    assert approved.status_code == 200 and approved.json()["status"] == "approved", approved.text
    return plan.json()["id"], ci.json()["id"]


def the_run(system: System, plan_id: int, timeout: float) -> dict:
    return wait_until(lambda: system.get("/drills/runs", params={"plan_id": plan_id}).json()[0], timeout=timeout,
                      what=f"a drill run of plan {plan_id}")


def decide(system: System, who: str, record_id: int, key_prefix: str, decision: str) -> None:
    def pending() -> dict | None:
        return next((g for g in system.get("/approvals", who).json() if g["record_type"] == "drill_run"
                     and g["record_id"] == str(record_id) and g["gate_key"].startswith(key_prefix)), None)
    gate = wait_until(pending, timeout=300, what=f"{key_prefix} gate")
    decided = system.post(f"/approvals/{gate['id']}/decision", who, json={"decision": decision})
    assert decided.status_code == 200, decided.text


def test_cron_drill_runs_on_its_own_and_a_level_ii_incident_in_scope_terminates_it(
        system: System, inbox: tuple[Receiver, Path]) -> None:
    # Two minutes from now, in the plan's own timezone: Prefect's scheduler must create the run.
    at = datetime.now(SHANGHAI) + timedelta(minutes=2)
    plan_id, ci_id = approved_plan(system, "cron drill", "db-core-01", f"{at.minute} {at.hour} {at.day} {at.month} *")

    def scheduled() -> bool:
        with system.prefect_client() as client:
            deployment = client.read_deployment_by_name("emergency_drill/emergency_drill")
            return f"drill-{plan_id}" in [s.slug for s in client.read_deployment_schedules(deployment.id)]
    wait_until(scheduled, timeout=60, what="the approved plan's schedule on the deployment")

    run = the_run(system, plan_id, timeout=400)
    with system.prefect_client() as client:
        flow_run = client.read_flow_run(run["flow_run_id"])
    assert flow_run.auto_scheduled or flow_run.idempotency_key  # created by the scheduler, not by us
    started = wait_until(lambda: [m for m in inbox[0].messages("/engineer") if "started" in m.get("title", "")],
                         timeout=60, what="participants told the drill started")
    assert "cron drill" in started[0]["title"]
    step = system.post(f"/drills/runs/{run['id']}/steps", "oncall", json={"detail": "停止主库监听，切换 VIP 到备库"})
    assert step.status_code == 201, step.text

    incident = system.post("/incidents", "desk", json={
        "title": "db-core-01 真实故障", "symptom": "主库不可用", "ci_ids": [ci_id],
        "core_unavailable_pct": 30, "expected_recovery_hours": 13})
    assert incident.status_code == 201 and incident.json()["incident"]["level"] == "II", incident.text
    incident_id = incident.json()["incident"]["id"]
    detail = wait_until(lambda: (d := system.get(f"/drills/runs/{run['id']}").json())["run"]["status"] == "terminated"
                        and d, timeout=300, what="the drill terminated")
    assert f"real incident {incident_id}" in detail["run"]["termination_reason"]
    assert [s["kind"] for s in detail["steps"]] == ["started", "step", "terminated"]
    assert detail["steps"][1]["actor"].startswith("person:") and detail["steps"][1]["detail"].startswith("停止主库")
    wait_until(lambda: [m for m in inbox[0].messages("/project_manager") if "terminated" in m.get("title", "")],
               timeout=60, what="everyone told the drill was terminated")
    with system.prefect_client() as client:
        wait_until(lambda: client.read_flow_run(run["flow_run_id"]).state.is_completed(), timeout=300,
                   what="the drill's flow run to complete after the termination")

    refused = httpx.delete(f"{system.api}/drills/runs/{run['id']}", headers=system.headers("pm"), timeout=30)
    assert refused.status_code == 409 and "six years" in refused.json()["detail"]


def test_drill_ends_is_evaluated_reported_and_signed_off_by_the_pm(system: System) -> None:
    plan_id, _ = approved_plan(system, "signed drill", "db-core-02", "0 10 15 6 *")
    assert system.post(f"/drills/plans/{plan_id}/run", "pm").status_code == 202
    run = the_run(system, plan_id, timeout=300)
    assert system.post(f"/drills/runs/{run['id']}/steps", "oncall", json={"detail": "备库提升为主库"}).status_code == 201
    decide(system, "oncall", run["id"], "drill-end", "end")
    wait_until(lambda: system.get(f"/drills/runs/{run['id']}").json()["run"]["status"] == "ended", timeout=300,
               what="the drill ended")
    evaluation = system.post(f"/drills/runs/{run['id']}/evaluation", "pm", json={
        "objectives_met": True, "response_minutes": 7, "problems_found": "VIP 切换脚本需手工确认",
        "improvements": ["切换脚本自动确认"]})
    assert evaluation.status_code == 201, evaluation.text
    decide(system, "pm", run["id"], "drill-signoff", "approve")
    detail = wait_until(lambda: (d := system.get(f"/drills/runs/{run['id']}").json())["run"]["status"] == "signed_off"
                        and d, timeout=300, what="the PM's sign-off recorded")
    assert [s["kind"] for s in detail["steps"]] == ["started", "step", "ended", "evaluated", "signed_off"]
    report = system.get(f"/drills/runs/{run['id']}/report")
    assert report.status_code == 200 and "应急演练评估表" in report.text and "切换脚本自动确认" in report.text
    assert "met" in report.text and "<script" not in report.text
    with system.prefect_client() as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[
            f"drill-{run['id']}-summary"])))
    assert found and "signed drill" in found[-1].data
