"""`itss demo` loads a realistic inspection plan for the demo inventory."""

from __future__ import annotations

from sqlmodel import Session, select

from itss.demo import load_demo
from models.inspection import InspectionPlan
from models.inspection_plan import PlanSpec, targets_of


def test_demo_loads_the_daily_core_plan(session: Session) -> None:
    load_demo(session)
    session.commit()
    plan = session.exec(select(InspectionPlan)).one()
    spec = PlanSpec.model_validate(plan.spec)
    assert spec.name == "EGOV daily core inspection" and spec.cron == "0 9 * * *"
    assert {c.probe for c in spec.checks} == {"ping", "tcp", "http", "tls_expiry", "snmp_get"}
    assert len(targets_of(session, spec)) == 18  # core and high criticality of the 20 demo CIs
