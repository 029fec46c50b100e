"""A realistic past quarter for the demo contract, so the first review a new user opens shows real figures.

Generated, reproducibly (a fixed seed): about forty incidents through the import (working hours, nights, a
statutory holiday, lunch-break arrivals, a few late responses and resolutions, two still open), changes of every
type with their outcomes, the daily inspection's runs (two missed), satisfaction scores, a complaint and a risk.
Loaded once: a second call changes nothing.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from models.changes.tables import ChangeRequest, ChangeStatus, ChangeType
from models.contracts.tables import Contract
from models.core.rows import id_of, stored_id
from models.directory.people import Person
from models.directory.roles import RoleKey
from models.incidents.importer import import_rows
from models.incidents.tables import Incident, IncidentStatus
from models.inspection.plan import PlanSpec, targets_of
from models.inspection.service import close_run
from models.inspection.tables import CheckStatus, InspectionPlan, InspectionResult, InspectionRun, RunStatus
from models.review.metrics import previous_quarter, quarter_bounds
from models.review.tables import Complaint, Risk, RiskStatus, Satisfaction

ACTOR = "system:demo"
SYMPTOMS = [
    ("OA 系统登录超时", "oa-srv-01", "login page times out"),
    ("邮件发送延迟", "mail-srv-01", "outgoing mail queued for 20 min"),
    ("门户访问缓慢", "web-srv-01", "portal pages load in 15 s"),
    ("GIS 图层加载失败", "gis-srv-01", "map tiles return 502"),
    ("VPN 频繁断开", "vpn-01", "remote users dropped every few minutes"),
    ("数据库连接数告警", "db-srv-01", "connections at 95 % of max"),
    ("存储路径丢失", "san-01", "one multipath path down"),
    ("核心交换机端口抖动", "core-sw-01", "port Gi1/0/12 flapping"),
]
MAJOR = [("核心数据库宕机", "db-srv-01", {"core_unavailable_pct": 70, "expected_recovery_hours": 13}),
         ("虚拟化主机故障", "virt-host-01", {"core_unavailable_pct": 40, "expected_recovery_hours": 8}),
         ("出口路由中断", "edge-rt-01", {"core_unavailable_pct": 70, "expected_recovery_hours": 2})]


def past_quarter(today: date) -> tuple[int, int]:
    """The quarter before `today`'s."""
    return previous_quarter(today.year, (today.month - 1) // 3 + 1)


def _incident_rows(rng: random.Random, start: datetime, end: datetime, code: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    days = (end - start).days
    for n in range(40):
        day = start + timedelta(days=rng.randrange(days - 1))
        night = n % 7 == 0
        reported = day.replace(hour=rng.choice([1, 3, 22]) if night else rng.randint(8, 17),
                               minute=rng.randrange(60))
        major = n % 9 == 4
        if major:
            title, ci, facts = MAJOR[(n // 9) % len(MAJOR)]
            symptom = "major fault: business interrupted"
        else:
            title, ci, symptom = SYMPTOMS[n % len(SYMPTOMS)]
            facts = {}
        ack = reported + timedelta(minutes=rng.choice([3, 5, 6, 8, 9, 12, 15]) if n % 5 else 4)
        row: dict[str, Any] = {"title": title, "symptom": symptom, "ci": ci, "contract_code": code,
                               "reported_at": reported.isoformat(), "acknowledged_at": ack.isoformat(),
                               "escalated": major or n % 11 == 3, "reporting_org": "市电子政务办公室",
                               **facts}
        if n % 3 != 2:  # most need a visit; lunch-break arrivals among them
            visit = timedelta(minutes=rng.choice([35, 50, 80, 110, 125, 150]) if not major else
                              rng.choice([30, 45, 70]))
            row["on_site_at"] = (ack + visit).isoformat()
        resolved = ack + timedelta(hours=rng.choice([2, 3, 5, 8, 20, 26]) if not major else rng.choice([2, 3, 5]))
        if n in (38, 39):  # reported late in the quarter, still open when it ended
            row.pop("on_site_at", None)
            row["reported_at"] = (end - timedelta(hours=3 + n)).isoformat()
            row["acknowledged_at"] = (end - timedelta(hours=3 + n) + timedelta(minutes=6)).isoformat()
        elif resolved < end:
            row["resolved_at"] = resolved.isoformat()
            row["closed_at"] = (resolved + timedelta(hours=4)).isoformat()
            row["consented"] = n % 13 != 6
        rows.append(row)
    return rows


def _changes(session: Session, rng: random.Random, start: datetime, contract_id: int, person_id: int) -> None:
    plan = [(ChangeType.STANDARD, ChangeStatus.SUCCEEDED)] * 4 + [(ChangeType.NORMAL, ChangeStatus.SUCCEEDED)] * 6 + [
        (ChangeType.NORMAL, ChangeStatus.ROLLED_BACK), (ChangeType.NORMAL, ChangeStatus.REJECTED),
        (ChangeType.MAJOR, ChangeStatus.SUCCEEDED), (ChangeType.EMERGENCY, ChangeStatus.SUCCEEDED)]
    for index, (kind, status) in enumerate(plan):
        finished = (start + timedelta(days=5 + 6 * index)).replace(hour=23, minute=30)
        # Standard changes are pre-authorised; the emergency one went in without its approval (a finding).
        approved = kind not in (ChangeType.STANDARD, ChangeType.EMERGENCY)
        session.add(ChangeRequest(
            title=f"{kind.value} change #{index + 1}: patch and configuration", change_type=kind, status=status,
            requested_by=person_id, contract_id=contract_id, ci_ids=[], started_at=finished - timedelta(hours=1),
            finished_at=finished, outage_minutes=rng.choice([0, 0, 5, 15]) if status != ChangeStatus.REJECTED else 0,
            approved_at=finished - timedelta(days=2) if approved else None))


def _inspections(session: Session, start: datetime, end: datetime) -> None:
    plan = session.exec(select(InspectionPlan).order_by(col(InspectionPlan.id))).first()
    if plan is None:
        return
    plan.created_at = min(plan.created_at, start)  # the plan ran all quarter
    session.add(plan)
    spec = PlanSpec.model_validate(plan.spec)
    targets = targets_of(session, spec)
    # Every run holds a result for each check on each CI it applies to, as a real run does.
    pairs = [(ci, check) for ci in targets for check in spec.checks
             if not check.applies_to or ci.ci_type in set(check.applies_to)]
    day, missed = start, {start + timedelta(days=17), start + timedelta(days=52)}
    while day < end:
        if day not in missed and pairs:
            run = InspectionRun(plan_id=stored_id(plan), trigger="schedule", status=RunStatus.RUNNING,
                                started_at=day.replace(hour=9), targets=len(targets))
            session.add(run)
            session.flush()
            for index, (ci, check) in enumerate(pairs):
                warning = index == 0 and day.day in (3, 19)  # twice a month the first check warns
                session.add(InspectionResult(
                    run_id=stored_id(run), ci_id=stored_id(ci), check_key=check.key, probe=check.probe,
                    status=CheckStatus.WARNING if warning else CheckStatus.OK,
                    message="slow answer" if warning else "ok", checked_at=run.started_at))
            session.flush()
            close_run(session, stored_id(run), status=RunStatus.COMPLETED)
            run.finished_at = day.replace(hour=9, minute=2)
        day += timedelta(days=1)


def load_demo_history(session: Session, contract_id: int, today: date, zone: ZoneInfo) -> dict[str, Any] | None:
    """Load the past quarter's history for the demo contract once; None when it is there already."""
    contract = session.get(Contract, contract_id)
    year, quarter = past_quarter(today)
    start, end = quarter_bounds(year, quarter, zone)
    if contract is None or session.exec(select(Incident.id).where(
            Incident.contract_id == contract_id, Incident.reported_at >= start,
            Incident.reported_at < end)).first() is not None:
        return None
    rng = random.Random(f"itss-demo-{year}-{quarter}")
    ids = import_rows(session, _incident_rows(rng, start, end, contract.code), actor=ACTOR)
    person = session.exec(select(id_of(Person)).where(Person.name == "change")).first() or \
        session.exec(select(id_of(Person))).first()
    if person is None:
        raise LookupError("the demo history needs a person to request its changes: load the demo people first")
    _changes(session, rng, start, contract_id, int(person))
    _inspections(session, start, end)
    closed = session.exec(select(Incident).where(col(Incident.id).in_(ids),
                                                 Incident.status == IncidentStatus.CLOSED)).all()
    for index, incident in enumerate(closed[:15]):
        if incident.closed_at is None:  # never: the import closes them with a time; skipped rather than guessed
            continue
        session.add(Satisfaction(incident_id=stored_id(incident), contract_id=contract_id,
                                 score=[5, 4, 4, 5, 3][index % 5], rated_at=incident.closed_at + timedelta(days=1)))
    session.add(Complaint(contract_id=contract_id, subject="回访不及时 slow call-back after a VPN fault",
                          received_at=start + timedelta(days=40), status="closed",
                          closed_at=start + timedelta(days=44)))
    session.add(Risk(contract_id=contract_id, title="SAN 控制器老化 Ageing SAN controllers",
                     owner_role=RoleKey.ENGINEER, status=RiskStatus.MITIGATING,
                     mitigation="replace both controllers in a change window", mitigation_due=(start + timedelta(
                         days=60)).date()))
    session.flush()
    return {"year": year, "quarter": quarter, "incidents": len(ids)}
