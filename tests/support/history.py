"""A year (2026) of one contract's history whose 2026 Q3 figures are known in advance.

Every Q3 record below carries the reason it counts the way it does; records of Q2, Q4, another
contract and a paused plan are noise the figures must not pick up. `tests/models/review/test_review_metrics.py`
asserts the answers, worked out by hand from this file.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from models.changes.tables import ChangeRequest, ChangeStatus, ChangeType
from models.cmdb.tables import CIType, ConfigurationItem
from models.contracts.service import create_contract
from models.contracts.tables import ContractCreate
from models.directory.people import Organisation, OrgKind
from models.directory.roles import RoleKey
from models.directory.service import create_person
from models.incidents.grading import Level
from models.incidents.tables import Incident, IncidentStatus
from models.inspection.tables import CheckStatus, InspectionPlan, InspectionResult, InspectionRun, RunStatus
from models.review.tables import Complaint, Risk, RiskStatus, Satisfaction
from models.sla.policies import FaultClass

SH = ZoneInfo("Asia/Shanghai")
M = timedelta(minutes=1)
H = timedelta(hours=1)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def _incident(session: Session, contract_id: int | None, title: str, level: Level, fault: FaultClass,
              reported: datetime, *, ack: timedelta | None, on_site: timedelta | None, resolved: timedelta | None,
              response: timedelta, on_site_target: timedelta, resolution: timedelta, escalated: bool = False,
              closed: timedelta | None = None, consented: bool = False, sla: bool = True) -> Incident:
    """An incident with its instants; on-site and resolution are counted from the acknowledgement, as in seed 002."""
    acked = reported + ack if ack is not None else None
    incident = Incident(
        title=title, contract_id=contract_id, level=level, fault_class=fault, reported_at=reported,
        acknowledged_at=acked, on_site_at=acked + on_site if acked and on_site is not None else None,
        resolved_at=acked + resolved if acked and resolved is not None else None,
        closed_at=reported + closed if closed is not None else None,
        status=IncidentStatus.CLOSED if closed is not None else IncidentStatus.ACKNOWLEDGED,
        response_due=reported + response, on_site_due=acked + on_site_target if acked else None,
        resolution_due=acked + resolution if acked else None, escalated=escalated, consented=consented,
        sla_applicable=sla)
    session.add(incident)
    session.flush()
    return incident


def _major(session: Session, contract_id: int | None, title: str, level: Level, reported: datetime, **kw) -> Incident:
    return _incident(session, contract_id, title, level, FaultClass.MAJOR, reported, response=10 * M,
                     on_site_target=H, resolution=4 * H, **kw)


def _general(session: Session, contract_id: int | None, title: str, reported: datetime, **kw) -> Incident:
    return _incident(session, contract_id, title, Level.ORDINARY, FaultClass.GENERAL, reported, response=10 * M,
                     on_site_target=2 * H, resolution=24 * H, **kw)


def _change(session: Session, person_id: int, contract_id: int | None, title: str, kind: ChangeType,
            status: ChangeStatus, finished: datetime, *, approved: bool = True, ci_ids: list[int] | None = None,
            cmdb_after: timedelta | None = None, outage: float = 0.0) -> None:
    session.add(ChangeRequest(
        title=title, change_type=kind, status=status, requested_by=person_id, contract_id=contract_id,
        ci_ids=ci_ids or [], started_at=finished - H, finished_at=finished, outage_minutes=outage,
        approved_at=finished - 2 * H if approved else None,
        cmdb_updated_at=finished + cmdb_after if cmdb_after is not None else None))


def _runs(session: Session, plan_id: int, days: list[date], at: tuple[int, int], *, trigger: str = "schedule",
          status: RunStatus = RunStatus.COMPLETED) -> list[int]:
    ids = []
    for day in days:
        run = InspectionRun(plan_id=plan_id, trigger=trigger, status=status,
                            started_at=datetime(day.year, day.month, day.day, *at, tzinfo=SH))
        session.add(run)
        session.flush()
        ids.append(int(run.id))
    return ids


def _plan(session: Session, name: str, cron: str, created: datetime, active: bool = True) -> InspectionPlan:
    spec = {"name": name, "cron": cron, "timezone": "Asia/Shanghai", "scope": {"names": ["app-srv-01"]},
            "checks": [{"key": "ping", "name": "ping", "probe": "tcp", "params": {"port": 22}}]}
    plan = InspectionPlan(name=name, spec=spec, active=active, created_at=created)
    session.add(plan)
    session.flush()
    return plan


def load_year(session: Session) -> dict[str, int]:
    """Write the year; returns the ids the tests need (contract, other contract, person)."""
    customer = Organisation(name="某市电子政务办", kind=OrgKind.CUSTOMER)
    session.add(customer)
    session.flush()
    contract = create_contract(session, data=ContractCreate(code="EGOV-2026", name="E-government operations 2026",
                                                            customer_id=customer.id, starts_on=date(2026, 1, 1),
                                                            ends_on=date(2026, 12, 31)), actor="test")
    other = create_contract(session, data=ContractCreate(code="OTHER-2026", name="Another customer",
                                                         customer_id=customer.id, starts_on=date(2026, 1, 1),
                                                         ends_on=date(2026, 12, 31)), actor="test")
    person = create_person(session, name="history-writer", roles=[RoleKey.CHANGE_MANAGER], actor="test")
    ci = ConfigurationItem(name="app-srv-01", ci_type=CIType.SERVER)
    session.add(ci)
    session.flush()
    c, o, p = int(contract.id), int(other.id), int(person.id)

    # Incidents of Q3 (reported 1 Jul - 30 Sep, Asia/Shanghai). Targets: response 10 min; major on site 1 h,
    # resolution 4 h; general on site 2 h, resolution 24 h.
    base = local(2026, 7, 6, 10, 0)
    m1 = _major(session, c, "M1 core DB down", Level.I, base, ack=5 * M, on_site=40 * M, resolved=3 * H - 5 * M,
                escalated=True, closed=6 * H, consented=True)  # all met; MTTR 180 min
    _major(session, c, "M2 storage path lost", Level.II, base + 24 * H, ack=15 * M, on_site=None, resolved=2 * H)
    # ^ response missed; no visit before it was resolved, so on-site is not measured; MTTR 135
    _major(session, c, "M3 core switch loop", Level.III, base + 48 * H, ack=8 * M, on_site=90 * M, resolved=5 * H,
           escalated=True, closed=8 * H, consented=False)  # on-site and resolution missed; closed without consent
    g1 = _general(session, c, "G1 printer queue", local(2026, 8, 3, 9, 0), ack=5 * M, on_site=H, resolved=10 * H,
                  closed=12 * H, consented=True)  # all met; MTTR 605
    _general(session, c, "G2 VPN flaps", local(2026, 9, 1, 9, 0), ack=9 * M, on_site=None, resolved=None)
    # ^ response met; on-site and resolution deadlines passed in Q3 with no stop: both measured and missed
    _general(session, c, "G3 slow portal", local(2026, 9, 7, 9, 0), ack=20 * M, on_site=30 * M, resolved=30 * H)
    # ^ response missed, on-site met, resolution missed; MTTR 20 + 1800 = 1820
    _general(session, None, "G4 unknown host alert", local(2026, 9, 30, 23, 0), ack=5 * M, on_site=None,
             resolved=None)  # no contract: counts for every contract; on-site/resolution due after Q3: not measured
    _general(session, c, "G5 reported in a no-SLA period", local(2026, 7, 2, 9, 0), ack=31 * M, on_site=None,
             resolved=29 * M, sla=False)  # in totals and MTTA/MTTR (60 min) but not in any SLA figure
    # Noise: Q2 and Q4 incidents, and one of another contract in Q3.
    q2 = [_general(session, c, "Q2 incident", day, ack=5 * M, on_site=None, resolved=H, closed=2 * H)
          for day in (local(2026, 4, 10, 9, 0), local(2026, 5, 10, 9, 0))]  # closed in Q2 without consent
    _general(session, c, "Q2 incident, late evening", local(2026, 6, 30, 23, 50), ack=5 * M, on_site=None,
             resolved=H)  # resolved in Q3 but reported in Q2: a Q2 incident
    _general(session, c, "Q4 incident", local(2026, 10, 1, 0, 10), ack=50 * M, on_site=None, resolved=None)
    _major(session, o, "other contract", Level.II, base, ack=50 * M, on_site=None, resolved=None, escalated=True)

    # Changes finished in Q3.
    _change(session, p, c, "N1", ChangeType.NORMAL, ChangeStatus.SUCCEEDED, local(2026, 7, 8, 23, 0), ci_ids=[ci.id],
            cmdb_after=H, outage=10)
    _change(session, p, c, "N2", ChangeType.NORMAL, ChangeStatus.ROLLED_BACK, local(2026, 7, 15, 23, 0), outage=25.5)
    _change(session, p, None, "S1", ChangeType.STANDARD, ChangeStatus.SUCCEEDED, local(2026, 8, 1, 10, 0),
            approved=False)  # standard: pre-authorised, no CIs to update
    _change(session, p, c, "E1", ChangeType.EMERGENCY, ChangeStatus.SUCCEEDED, local(2026, 8, 20, 3, 0),
            approved=False, ci_ids=[ci.id], cmdb_after=30 * H)  # no approval recorded; CMDB 30 h late
    _change(session, p, c, "MJ1", ChangeType.MAJOR, ChangeStatus.SUCCEEDED, local(2026, 9, 12, 2, 0),
            ci_ids=[ci.id], outage=60)  # CMDB never updated
    _change(session, p, c, "R1", ChangeType.NORMAL, ChangeStatus.REJECTED, local(2026, 9, 20, 12, 0), approved=False)
    _change(session, p, c, "Q2 change", ChangeType.NORMAL, ChangeStatus.SUCCEEDED, local(2026, 6, 30, 12, 0))
    _change(session, p, o, "other", ChangeType.EMERGENCY, ChangeStatus.SUCCEEDED, local(2026, 8, 1, 12, 0),
            approved=False)

    # Inspections: a daily plan since January (92 runs planned in Q3, 90 done, one failed, one on demand), a
    # weekly plan created mid-August (7 Mondays), a paused plan (none planned).
    daily = _plan(session, "daily core", "0 9 * * *", local(2026, 1, 1))
    q3_days = [date(2026, 7, 1) + timedelta(days=i) for i in range(92)]
    done = _runs(session, daily.id, [d for d in q3_days if d not in (date(2026, 8, 8), date(2026, 8, 9))], (9, 0))
    _runs(session, daily.id, [date(2026, 8, 8)], (9, 0), status=RunStatus.FAILED)
    _runs(session, daily.id, [date(2026, 8, 9)], (15, 0), trigger="manual")
    _runs(session, daily.id, [date(2026, 6, 30 - i) for i in range(5)], (9, 0))  # Q2
    statuses = [CheckStatus.CRITICAL] * 3 + [CheckStatus.WARNING] * 2 + [CheckStatus.OK] * 10
    for status in statuses:
        session.add(InspectionResult(run_id=done[0], ci_id=ci.id, check_key="ping", probe="tcp", status=status,
                                     checked_at=datetime(2026, 7, 1, 1, 0, tzinfo=UTC)))
    weekly = _plan(session, "weekly storage", "0 2 * * 1", local(2026, 8, 15))
    _runs(session, weekly.id, [date(2026, 8, 17) + timedelta(days=7 * i) for i in range(7)], (2, 0))
    _plan(session, "paused plan", "0 * * * *", local(2026, 1, 1), active=False)

    # Satisfaction and complaints.
    for incident, score, at in ((m1, 5, local(2026, 7, 7, 9, 0)), (g1, 4, local(2026, 8, 4, 9, 0)),
                                (q2[0], 3, local(2026, 9, 2, 9, 0)), (q2[1], 2, local(2026, 9, 29, 9, 0))):
        session.add(Satisfaction(incident_id=incident.id, contract_id=c, score=score, rated_at=at))
    noise = _general(session, o, "other rated", local(2026, 8, 1, 9, 0), ack=5 * M, on_site=None, resolved=H)
    session.add(Satisfaction(incident_id=noise.id, contract_id=o, score=1, rated_at=local(2026, 8, 2, 9, 0)))
    session.add(Complaint(contract_id=c, subject="slow callback", received_at=local(2026, 7, 20, 9, 0),
                          status="closed", closed_at=local(2026, 7, 25, 9, 0)))
    session.add(Complaint(contract_id=c, subject="portal outage", received_at=local(2026, 9, 8, 9, 0)))
    session.add(Complaint(contract_id=c, subject="Q2 complaint", received_at=local(2026, 5, 8, 9, 0)))

    # Risks: two mitigations planned in Q3, one done; one closed (Q2); one due in Q4.
    session.add(Risk(contract_id=c, title="Single DB admin", owner_role=RoleKey.PROJECT_MANAGER,
                     mitigation="train a second admin", mitigation_due=date(2026, 8, 1),
                     mitigation_done_at=local(2026, 7, 20, 9, 0)))
    session.add(Risk(contract_id=c, title="Ageing SAN", owner_role=RoleKey.ENGINEER, status=RiskStatus.MITIGATING,
                     mitigation="replace controllers", mitigation_due=date(2026, 9, 15)))
    session.add(Risk(contract_id=c, title="Old risk", owner_role=RoleKey.ENGINEER, status=RiskStatus.CLOSED,
                     mitigation_due=date(2026, 6, 1), mitigation_done_at=local(2026, 5, 1, 9, 0)))
    session.add(Risk(contract_id=c, title="Licence renewal", owner_role=RoleKey.PROJECT_MANAGER,
                     mitigation_due=date(2026, 10, 10)))
    session.commit()
    return {"contract": c, "other": o, "person": p}
