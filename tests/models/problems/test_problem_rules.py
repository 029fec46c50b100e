"""Problem rules: allowed moves, the closing condition, and problems from recurring inspection exceptions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from models.cmdb.tables import ConfigurationItem
from models.inspection.tables import CheckStatus, InspectionPlan, InspectionResult, InspectionRun
from models.problems.rules import close_refusal, move_refusal
from models.problems.service import from_inspections
from models.problems.tables import Problem, ProblemSource, ProblemStatus

FIXED = datetime(2026, 3, 1, tzinfo=UTC)


def test_moves_follow_the_life_cycle() -> None:
    assert move_refusal("investigate", ProblemStatus.LOGGED) is None
    assert move_refusal("known_error", ProblemStatus.INVESTIGATING) is None
    assert "known_error" in move_refusal("fix", ProblemStatus.INVESTIGATING)
    assert move_refusal("close", ProblemStatus.KNOWN_ERROR) is not None


def test_closing_needs_a_succeeded_fix_and_a_quiet_period() -> None:
    def refusal(**kw):
        args = {"status": ProblemStatus.FIX_SCHEDULED, "fixed_at": FIXED, "last_recurrence_at": None,
                "now": FIXED + timedelta(days=30), "quiet_days": 30} | kw
        return close_refusal(**args)

    assert refusal() is None  # exactly at the end of the quiet period
    assert "30 days" in refusal(now=FIXED + timedelta(days=29, hours=23))
    assert "not succeeded" in refusal(fixed_at=None)
    assert "recurred" in refusal(last_recurrence_at=FIXED + timedelta(days=2))
    assert refusal(last_recurrence_at=FIXED - timedelta(days=2)) is None  # before the fix: the fault it fixed
    assert refusal(status=ProblemStatus.KNOWN_ERROR) is not None


def test_a_check_failing_in_three_runs_within_two_weeks_becomes_a_problem(session: Session) -> None:
    ci = ConfigurationItem(name="sw-core-01", ci_type="switch")
    plan = InspectionPlan(name="daily", spec={})
    session.add_all([ci, plan])
    session.flush()
    now = datetime(2026, 6, 20, tzinfo=UTC)
    for day, status in [(1, CheckStatus.WARNING), (3, CheckStatus.CRITICAL), (5, CheckStatus.OK), (20, CheckStatus.WARNING)]:
        run = InspectionRun(plan_id=plan.id, started_at=now - timedelta(days=day))
        session.add(run)
        session.flush()
        for key, st in (("cpu", status), ("fan", CheckStatus.CRITICAL if day < 10 else CheckStatus.OK)):
            session.add(InspectionResult(run_id=run.id, ci_id=ci.id, check_key=key, probe="snmp", status=st,
                                         checked_at=now - timedelta(days=day)))
    session.commit()
    # cpu failed in two runs within 14 days (the third is older): no problem; fan failed in three.
    created = from_inspections(session, now=now)
    session.commit()
    problems = list(session.exec(select(Problem)))
    assert [p.id for p in problems] == created and len(problems) == 1
    assert problems[0].source == ProblemSource.INSPECTION and "fan" in problems[0].title
    assert from_inspections(session, now=now) == []  # once
