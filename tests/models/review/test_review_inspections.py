"""The review's inspection figures per plan: only runs started inside the quarter (its first instant counts,
its end does not), each plan's own runs and exceptions, on-demand and failed runs apart."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from models.cmdb.tables import ConfigurationItem
from models.inspection.tables import CheckStatus, InspectionPlan, InspectionResult, InspectionRun, RunStatus
from models.review.metrics import inspection_metrics

SH = ZoneInfo("Asia/Shanghai")
START, END = datetime(2026, 7, 1, tzinfo=SH), datetime(2026, 10, 1, tzinfo=SH)
SPEC = {"cron": "0 9 * * 1", "scope": {"names": ["app-01"]}, "checks": [{"key": "ping", "name": "reachable", "probe": "ping"}]}


def plan(session: Session, name: str) -> InspectionPlan:
    found = InspectionPlan(name=name, spec={"name": name, **SPEC}, created_at=START - timedelta(days=30))
    session.add(found)
    session.flush()
    return found


def run(session: Session, of: InspectionPlan, at: datetime, ci: ConfigurationItem, *, trigger: str = "schedule",
        status: RunStatus = RunStatus.COMPLETED, exceptions: int = 0) -> None:
    added = InspectionRun(plan_id=of.id, started_at=at, trigger=trigger, status=status)
    session.add(added)
    session.flush()
    for n in range(exceptions + 1):  # one OK check besides the exceptions
        session.add(InspectionResult(run_id=added.id, ci_id=ci.id, check_key=f"c{n}", probe="tcp", checked_at=at,
                                     status=CheckStatus.CRITICAL if n < exceptions else CheckStatus.OK))


def test_runs_count_from_the_quarters_first_instant_to_before_its_end_per_plan(session: Session) -> None:
    ci = ConfigurationItem(name="app-01", ci_type="server")
    session.add(ci)
    app, db = plan(session, "a-db-app"), plan(session, "b-db-db")
    run(session, app, START, ci, exceptions=2)  # the first instant of the quarter: counted
    run(session, app, START - timedelta(seconds=1), ci, exceptions=5)  # the quarter before
    run(session, app, END, ci, exceptions=7)  # the next quarter
    run(session, app, START + timedelta(days=3), ci, trigger="manual")
    run(session, app, START + timedelta(days=9), ci, status=RunStatus.FAILED)
    run(session, db, START + timedelta(days=10), ci, exceptions=1)
    session.commit()

    figures = inspection_metrics(session, START, END, END + timedelta(days=2))
    by_plan = {p["plan"]: p for p in figures["plans"]}
    assert [p["plan"] for p in figures["plans"]] == ["a-db-app", "b-db-db"]
    assert {k: by_plan["a-db-app"][k] for k in ("executed", "on_demand", "failed", "exceptions")} == {
        "executed": 1, "on_demand": 1, "failed": 1, "exceptions": 2}
    assert {k: by_plan["b-db-db"][k] for k in ("executed", "on_demand", "failed", "exceptions")} == {
        "executed": 1, "on_demand": 0, "failed": 0, "exceptions": 1}
    weeks = by_plan["a-db-app"]["planned"]  # Mondays 09:00 in Q3 2026
    assert weeks == 13 and by_plan["a-db-app"]["missed"] == 12
    assert figures["planned"] == 26 and figures["executed"] == 2 and figures["missed"] == 24
