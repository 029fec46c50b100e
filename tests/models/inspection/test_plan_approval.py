"""An inspection plan that runs commands on CIs waits for approval, again after every change; others do not."""

from __future__ import annotations

from sqlmodel import Session

from itss.plan_schedules import wanted
from models.cmdb.tables import CIType, ConfigurationItem
from models.core.clock import utcnow
from models.inspection.plan import PlanSpec
from models.inspection.service import save_plan

PING = {"key": "ping", "name": "reachable", "probe": "ping"}
SSH = {"key": "load", "name": "load", "probe": "ssh_command", "params": {"command": "uptime"}}


def _spec(*checks: dict, cron: str = "0 9 * * *") -> PlanSpec:
    return PlanSpec.model_validate({"name": "p", "cron": cron, "scope": {"names": ["app-01"]}, "checks": checks})


def test_command_plans_wait_for_approval_and_get_no_schedule_until_then(session: Session) -> None:
    session.add(ConfigurationItem(name="app-01", ci_type=CIType.SERVER, ip="127.0.0.1"))
    session.commit()
    plan = save_plan(session, _spec(PING), actor="test", author=None)
    assert plan.approval_status == "approved" and plan.version == 1
    plan = save_plan(session, _spec(PING, SSH), actor="test", author=None)
    assert (plan.approval_status, plan.version) == ("pending", 2)
    session.commit()
    assert [s.parameters["plan"] for s in wanted(session)] == []  # not scheduled while pending
    plan.approval_status, plan.approved_at = "approved", utcnow()  # what the approval run records
    session.commit()
    assert [s.parameters["plan"] for s in wanted(session)] == ["p"]
    assert save_plan(session, _spec(PING, SSH), actor="test").approval_status == "approved"  # unchanged: still
    changed = save_plan(session, _spec(PING, SSH, cron="0 10 * * *"), actor="test")
    assert (changed.approval_status, changed.version) == ("pending", 3)  # any change: approved again
