"""The review's register figures at the quarter's edges: scores, complaints and risk mitigations inside
[first instant, next quarter's first instant), another contract's records apart, planned runs of a cron."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from models.contracts.tables import Contract
from models.directory.people import Organisation
from models.directory.roles import RoleKey
from models.incidents.grading import Level
from models.inspection.planned_runs import planned_runs
from models.review.metrics import (
    quarter_bounds,
    quarter_metrics,
    risk_metrics,
    satisfaction_metrics,
)
from models.review.tables import Complaint, Risk, RiskStatus, Satisfaction
from models.sla.policies import FaultClass
from tests.support.history import _incident

SH = ZoneInfo("Asia/Shanghai")
START, END = quarter_bounds(2026, 3, SH)
S = timedelta(seconds=1)


def contracts(session: Session) -> tuple[int, int]:
    org = Organisation(name="Customer", kind="customer")
    session.add(org)
    session.flush()
    ours, theirs = (Contract(code=code, name=code, customer_id=org.id, starts_on=date(2026, 1, 1),
                             ends_on=date(2027, 1, 1)) for code in ("OURS", "THEIRS"))
    session.add_all([ours, theirs])
    session.flush()
    return ours.id, theirs.id


def test_scores_and_complaints_count_inside_the_quarter_and_for_their_contract_only(session: Session) -> None:
    ours, theirs = contracts(session)
    for n, (contract, rated, score) in enumerate([(ours, START, 5), (ours, END - S, 3), (ours, START - S, 1),
                                                  (ours, END, 1), (theirs, START + S, 1)]):
        incident = _incident(session, contract, f"i{n}", Level.ORDINARY, FaultClass.GENERAL, rated - timedelta(days=1),
                             ack=None, on_site=None, resolved=None, response=timedelta(minutes=10),
                             on_site_target=timedelta(hours=2), resolution=timedelta(days=1))
        session.flush()
        session.add(Satisfaction(incident_id=incident.id, contract_id=contract, score=score, rated_at=rated))
    for contract, received, status in [(ours, START, "open"), (ours, END - S, "closed"), (ours, START - S, "open"),
                                       (ours, END, "open"), (theirs, START + S, "open")]:
        session.add(Complaint(contract_id=contract, subject="slow", received_at=received, status=status))
    session.commit()
    figures = satisfaction_metrics(session, ours, START, END)
    assert figures == {"surveys": 2, "mean_score": 4.0, "satisfied_share": 0.5, "complaints": 2,
                       "complaints_open": 1}


def test_a_mitigation_counts_when_due_inside_the_quarter_and_implemented_when_done_before_its_end(
        session: Session) -> None:
    ours, theirs = contracts(session)
    rows = [  # (contract, due, done at, status)
        (ours, START.date(), START, RiskStatus.CLOSED),  # due the first day, done: implemented
        (ours, (END - S).date(), END - S, RiskStatus.MITIGATING),  # due the last day, done its last second
        (ours, (END - S).date(), END, RiskStatus.MITIGATING),  # done after the quarter: planned, not implemented
        (ours, (START - S).date(), START, RiskStatus.OPEN),  # due the quarter before
        (ours, END.date(), END - S, RiskStatus.OPEN),  # due the next quarter
        (ours, START.date(), None, RiskStatus.OPEN),  # due, never done
        (theirs, START.date(), START, RiskStatus.OPEN),
    ]
    for n, (contract, due, done, status) in enumerate(rows):
        session.add(Risk(contract_id=contract, title=f"r{n}", owner_role=RoleKey.PROJECT_MANAGER, status=status,
                         mitigation_due=due, mitigation_done_at=done))
    session.commit()
    assert risk_metrics(session, ours, START, END) == {
        "open": 5, "mitigations_planned": 4, "mitigations_implemented": 2, "mitigation_rate": 0.5}


def test_planned_runs_count_fires_from_the_first_instant_to_before_the_end_in_the_plans_zone() -> None:
    nine = datetime(2026, 7, 1, 9, 0, tzinfo=SH)
    assert planned_runs("0 9 * * *", "Asia/Shanghai", nine, nine + timedelta(days=2)) == 2  # 1 and 2 July
    assert planned_runs("0 9 * * *", "Asia/Shanghai", nine + S, nine + timedelta(days=2, seconds=1)) == 2
    # 08:30-10:00 Shanghai is 00:30-02:00 UTC: 09:00 in the plan's zone fires once, 09:00 UTC never.
    assert planned_runs("0 9 * * *", "Asia/Shanghai", nine - timedelta(minutes=30), nine + timedelta(hours=1)) == 1


def test_a_quarters_figures_name_their_period(session: Session) -> None:
    ours, _ = contracts(session)
    figures = quarter_metrics(session, ours, 2026, 3, zone=SH, now=END + timedelta(days=1))
    assert figures["period"] == {"year": 2026, "quarter": 3, "start": "2026-07-01T00:00:00+08:00",
                                 "end": "2026-10-01T00:00:00+08:00"}


def test_compliance_counts_only_the_quarters_own_faults_of_process(session: Session) -> None:
    from models.changes.tables import ChangeStatus, ChangeType
    from models.directory.service import create_person
    from models.review.metrics import compliance_metrics
    from tests.support.history import _change, _general

    ours, theirs = contracts(session)
    cm = create_person(session, name="cm", roles=[RoleKey.CHANGE_MANAGER], actor="test").id
    unapproved = dict(approved=False)
    for title, finished in (("first instant", START), ("last second", END - S), ("before", START - S),
                            ("after", END)):
        _change(session, cm, ours, title, ChangeType.NORMAL, ChangeStatus.SUCCEEDED, finished, **unapproved)
    _change(session, cm, ours, "standard needs none", ChangeType.STANDARD, ChangeStatus.SUCCEEDED, START, **unapproved)
    _change(session, cm, ours, "rolled back: no CMDB due", ChangeType.NORMAL, ChangeStatus.ROLLED_BACK, START,
            ci_ids=[1])
    _change(session, cm, ours, "late CMDB", ChangeType.NORMAL, ChangeStatus.SUCCEEDED, START + S, ci_ids=[1],
            cmdb_after=timedelta(hours=25))
    _change(session, cm, ours, "late CMDB, last quarter", ChangeType.NORMAL, ChangeStatus.SUCCEEDED, START - S,
            ci_ids=[1], cmdb_after=timedelta(hours=25))
    for contract, closed_at, status in [(ours, START, True), (ours, END - S, True), (ours, START - S, True),
                                        (ours, END, True), (theirs, START + S, True), (ours, START + S, False)]:
        incident = _general(session, contract, "no consent", closed_at - timedelta(hours=2), ack=timedelta(minutes=5),
                            on_site=None, resolved=timedelta(hours=1), closed=timedelta(hours=2))
        if not status:  # resolved, not yet closed
            incident.status, incident.closed_at = incident.status.RESOLVED, closed_at
    session.commit()
    assert compliance_metrics(session, ours, START, END) == {
        "changes_without_approval": 2, "late_cmdb_updates": 1, "incidents_closed_without_consent": 2}


def test_an_empty_quarter_counts_zero_everywhere_and_a_missing_class_too(session: Session) -> None:
    from models.review.metrics import incident_metrics
    from tests.support.history import _general

    ours, _ = contracts(session)
    empty = incident_metrics(session, ours, START, END)
    assert (empty["total"], empty["escalated"], empty["provisional"], empty["transition_excluded"]) == (0, 0, 0, 0)
    assert empty["sla"]["major"]["response"] == {"measured": 0, "met": 0, "achievement": None, "open": 0}
    one = _general(session, ours, "printer", START + timedelta(days=1), ack=timedelta(minutes=5), on_site=None,
                   resolved=None)
    one.sla_provisional = True
    session.commit()
    figures = incident_metrics(session, ours, START, END)
    assert (figures["total"], figures["provisional"], figures["by_level"]["ordinary"]) == (1, 1, 1)
    assert figures["sla"]["major"]["response"]["measured"] == 0  # no major incident: zeros, not an error
