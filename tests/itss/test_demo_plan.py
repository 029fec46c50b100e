"""`itss demo` loads a realistic inspection plan for the demo inventory."""

from __future__ import annotations

from sqlmodel import Session, select

from itss.demo import load_demo
from models.inspection.plan import PlanSpec, targets_of
from models.inspection.tables import InspectionPlan


def test_demo_loads_the_daily_core_plan(session: Session) -> None:
    load_demo(session)
    session.commit()
    plan = session.exec(select(InspectionPlan)).one()
    spec = PlanSpec.model_validate(plan.spec)
    assert spec.name == "EGOV daily core inspection" and spec.cron == "0 9 * * *"
    assert {c.probe for c in spec.checks} == {"tcp", "ssh_command", "http", "tls_expiry", "snmp_get"}
    assert len(targets_of(session, spec)) == 18  # core and high criticality of the 20 demo CIs


def test_demo_points_only_at_its_loopback_estate(session: Session) -> None:
    import ipaddress

    from config.settings import get_settings
    from itss.demo_estate import load_ports
    from models.cmdb.tables import ConfigurationItem
    from models.directory.people import Person

    load_demo(session)
    session.commit()
    ports = load_ports(get_settings())
    assert ports is not None
    assert all(ipaddress.ip_address(ci.ip).is_loopback for ci in session.exec(select(ConfigurationItem)))
    spec = PlanSpec.model_validate(session.exec(select(InspectionPlan)).one().spec)
    used = {c.key: c.params.get("port") for c in spec.checks}
    assert used == {"reachable": ports.mgmt, "ssh_port": ports.ssh, "disk": ports.ssh, "portal": None,
                    "tls_cert": ports.https, "uplink": ports.snmp}
    portal = next(c for c in spec.checks if c.key == "portal")
    assert portal.params["url"] == f"https://{{host}}:{ports.https}/health"
    # Each demo person's own channel is their box in the demo inbox, on loopback.
    oncall = session.exec(select(Person).where(Person.name == "oncall")).one()
    assert oncall.notify_urls == f"json://127.0.0.1:{ports.inbox}/inbox/oncall"


def test_the_demo_quarter_s_inspection_runs_hold_the_results_they_count(session: Session) -> None:
    from sqlmodel import func

    from models.inspection.tables import InspectionResult, InspectionRun

    load_demo(session)  # with a past quarter of history, whatever today is
    session.commit()
    runs = session.exec(select(InspectionRun)).all()
    assert 88 <= len(runs) <= 90  # a quarter of daily runs (90-92 days), two missed
    for run in runs:
        stored = session.exec(select(func.count()).where(InspectionResult.run_id == run.id)).one()
        assert run.checks == stored == sum(run.counts.values()) > 0, run
        assert run.finished_at > run.started_at
    assert sum(run.counts.get("warning", 0) for run in runs) == 6  # the 3rd and 19th of each month
