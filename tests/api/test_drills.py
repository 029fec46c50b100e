"""/drills without Prefect: plan validation, the PM's four-eyes approval, the six-year retention and purge."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models.core.audit import AuditEvent
from models.core.clock import utcnow
from models.directory.roles import RoleKey
from models.drills.service import purge_expired
from models.drills.tables import DrillPlan, DrillRun, PlanStatus

PLAN = {"name": "核心数据库切换演练", "scenario": "主库宕机，切换到备库", "emergency_plan": "数据库故障应急预案 v3",
        "participants": [{"role": "engineer", "duty": "switch over"}, {"role": "project_manager"}],
        "objectives": ["RTO ≤ 30 min"], "cron": "0 10 15 6 *"}


def test_plan_errors_name_the_field(client: TestClient, headers) -> None:
    pm = headers[RoleKey.PROJECT_MANAGER]
    for change, field in [({"cron": "every day"}, "cron"), ({"timezone": "Mars/Base"}, "timezone"),
                          ({"participants": []}, "participants"), ({"scope_ci_ids": [999]}, "scope_ci_ids"),
                          ({"participants": [{"role": "janitor"}]}, "participants.0.role")]:
        response = client.post("/drills/plans", json={**PLAN, **change}, headers=pm)
        assert response.status_code == 422, response.text
        assert field in {e["field"] for e in response.json()["errors"]}, response.json()
    assert client.post("/drills/plans", json=PLAN, headers=headers[RoleKey.CUSTOMER_REP]).status_code == 403
    assert client.post("/drills/plans", json=PLAN).status_code == 401


def test_pm_approves_someone_elses_plan_only(client: TestClient, headers, make_person, session: Session) -> None:
    pm = headers[RoleKey.PROJECT_MANAGER]
    plan = client.post("/drills/plans", json=PLAN, headers=pm).json()
    own = client.post(f"/drills/plans/{plan['id']}/approve", headers=pm)
    assert own.status_code == 409 and "four-eyes" in own.json()["detail"]
    assert client.post(f"/drills/plans/{plan['id']}/approve", headers=headers[RoleKey.ENGINEER]).status_code == 403
    other = make_person("pm2", RoleKey.PROJECT_MANAGER)
    approved = client.post(f"/drills/plans/{plan['id']}/approve", headers=other)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert client.post(f"/drills/plans/{plan['id']}/approve", headers=other).status_code == 409
    assert session.get(DrillPlan, plan["id"]).status == PlanStatus.APPROVED
    assert client.post(f"/drills/plans/{plan['id']}/retire", headers=other).json()["status"] == "retired"
    assert client.post(f"/drills/plans/{plan['id']}/retire", headers=other).status_code == 409


def test_a_drill_record_younger_than_six_years_cannot_be_deleted(client: TestClient, headers,
                                                                 session: Session) -> None:
    plan = DrillPlan(name="p", scenario="s", emergency_plan="e", cron="0 10 15 6 *", status=PlanStatus.APPROVED)
    session.add(plan)
    session.flush()
    started = utcnow() - timedelta(days=6 * 365)  # nearly six years ago: still kept
    young = DrillRun(plan_id=plan.id, flow_run_id="young", started_at=started,
                     retain_until=started.replace(year=started.year + 6))
    old = DrillRun(plan_id=plan.id, flow_run_id="old", started_at=started - timedelta(days=10),
                   retain_until=utcnow() - timedelta(days=1))
    session.add(young)
    session.add(old)
    session.commit()
    pm = headers[RoleKey.PROJECT_MANAGER]
    refused = client.delete(f"/drills/runs/{young.id}", headers=pm)
    assert refused.status_code == 409 and "six years" in refused.json()["detail"]
    assert client.delete(f"/drills/runs/{young.id}", headers=headers[RoleKey.ENGINEER]).status_code == 403
    assert client.get(f"/drills/runs/{young.id}", headers=pm).status_code == 200

    assert purge_expired(session) == [old.id]  # the daily housekeeping job
    session.commit()
    assert [r.id for r in session.exec(select(DrillRun))] == [young.id]
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "drill.purged")).one()
    assert audit.record_id == str(old.id) and audit.actor == "system:retention"


def test_an_evaluation_is_taken_once_with_bounded_input_and_an_abandoned_drill_is_not_evaluated(
        client: TestClient, headers, session: Session) -> None:
    """Found on the running system: a second evaluation replaced the first while the PM signed off the summary
    written from the first; 1e400 minutes was stored as infinity; an abandoned drill looked ended."""
    from models.drills.service import record_abandoned
    from models.drills.tables import DrillStatus

    plan = DrillPlan(name="p", scenario="s", emergency_plan="e", cron="0 10 15 6 *", status=PlanStatus.APPROVED)
    session.add(plan)
    session.flush()
    ended = DrillRun(plan_id=plan.id, flow_run_id="ended", started_at=utcnow(), status=DrillStatus.ENDED,
                     retain_until=utcnow() + timedelta(days=6 * 366))
    running = DrillRun(plan_id=plan.id, flow_run_id="running", started_at=utcnow(),
                       retain_until=utcnow() + timedelta(days=6 * 366))
    session.add_all([ended, running])
    session.commit()
    engineer = headers[RoleKey.ENGINEER]
    for body, field in [('{"objectives_met": "yes", "response_minutes": 5}', "objectives_met"),
                        ('{"objectives_met": true, "response_minutes": 1e400}', "response_minutes"),
                        ('{"objectives_met": true, "response_minutes": 5, "improvements": ["%s"]}' % ("x" * 1001),
                         "improvements")]:
        refused = client.post(f"/drills/runs/{ended.id}/evaluation", content=body,
                              headers={**engineer, "Content-Type": "application/json"})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"].startswith(field), refused.text
    first = client.post(f"/drills/runs/{ended.id}/evaluation", headers=engineer,
                        json={"objectives_met": True, "response_minutes": 5, "improvements": ["drill twice a year"]})
    assert first.status_code == 201, first.text
    again = client.post(f"/drills/runs/{ended.id}/evaluation", headers=engineer,
                        json={"objectives_met": False, "response_minutes": 50})
    assert again.status_code == 409 and "sign-off" in again.json()["detail"]
    assert client.get(f"/drills/runs/{ended.id}", headers=engineer).json()["evaluation"]["response_minutes"] == 5

    record_abandoned(session, running, actor="person:1", at=utcnow(), reason="network change freeze")
    session.commit()
    shown = client.get(f"/drills/runs/{running.id}", headers=engineer).json()
    assert shown["run"]["status"] == "terminated" and "abandoned" in shown["run"]["termination_reason"]
    assert [s["kind"] for s in shown["steps"]] == ["abandoned"]
    assert client.post(f"/drills/runs/{running.id}/evaluation", headers=engineer,
                       json={"objectives_met": True, "response_minutes": 5}).status_code == 409
