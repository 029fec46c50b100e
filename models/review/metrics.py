"""The figures of the quarterly delivery check, computed by the database (aggregates, never a loop over rows).

Records without a contract (an alert for an unknown CI, an estate-wide change) count in the review of
every contract; inspection plans are estate-wide, so their figures appear in every contract's review.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, case, cast, func, or_
from sqlmodel import Session, col, select

from models.changes.tables import ChangeRequest, ChangeStatus, ChangeType
from models.core.rows import stored_id
from models.core.sql import minutes_between
from models.incidents.clocks import settle_clocks
from models.incidents.grading import Level
from models.incidents.tables import Incident, IncidentStatus
from models.inspection.plan import PlanSpec
from models.inspection.planned_runs import planned_runs
from models.inspection.tables import CheckStatus, InspectionPlan, InspectionResult, InspectionRun, RunStatus
from models.review.extra_metrics import extra_metrics
from models.review.tables import Complaint, Risk, RiskStatus, Satisfaction
from models.sla.policies import FaultClass
from models.sla.sla_clock import Verdict

IMPLEMENTED = [ChangeStatus.SUCCEEDED.value, ChangeStatus.ROLLED_BACK.value, ChangeStatus.ROLLBACK_FAILED.value]


def quarter_bounds(year: int, quarter: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The first instant of the quarter and of the next one, in the operating timezone."""
    if quarter not in (1, 2, 3, 4):
        raise ValueError("quarter must be 1, 2, 3 or 4")
    start = datetime(year, 3 * quarter - 2, 1, tzinfo=zone)
    end = datetime(year + quarter // 4, 3 * (quarter % 4) + 1, 1, tzinfo=zone)
    return start, end


def previous_quarter(year: int, quarter: int) -> tuple[int, int]:
    """The quarter before (2027, 1) → (2026, 4)."""
    return (year - 1, 4) if quarter == 1 else (year, quarter - 1)


def _rate(part: Any, whole: Any) -> float | None:
    return round(float(part) / float(whole), 4) if whole else None


def _mean(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


def _ours(column: Any, contract_id: int) -> Any:
    return or_(column == contract_id, column.is_(None))


def inspection_metrics(session: Session, start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    """Per plan: runs planned by its cycle, executed, missed, on demand, failed, and the exceptions found."""
    in_period = (col(InspectionRun.started_at) >= start) & (col(InspectionRun.started_at) < end)
    runs = {row[0]: row[1:] for row in session.exec(select(
        InspectionRun.plan_id,
        func.sum(case((and_(col(InspectionRun.trigger) == "schedule",
                            col(InspectionRun.status) == RunStatus.COMPLETED.value), 1), else_=0)),
        func.sum(case((col(InspectionRun.trigger) != "schedule", 1), else_=0)),
        func.sum(case((col(InspectionRun.status) == RunStatus.FAILED.value, 1), else_=0)),
    ).where(in_period).group_by(col(InspectionRun.plan_id)))}
    exceptions = dict(session.exec(
        select(col(InspectionRun.plan_id), func.count(col(InspectionResult.id)))
        .join(InspectionResult, col(InspectionResult.run_id) == col(InspectionRun.id))
        .where(in_period, col(InspectionResult.status) != CheckStatus.OK.value)
        .group_by(col(InspectionRun.plan_id))).all())
    plans: list[dict[str, Any]] = []
    for plan in session.exec(select(InspectionPlan).order_by(InspectionPlan.name)):
        spec = PlanSpec.model_validate(plan.spec)
        window_start, window_end = max(start, plan.created_at), min(end, now)
        planned = planned_runs(spec.cron, spec.timezone, window_start, window_end) if plan.active and \
            window_start < window_end else 0
        executed, on_demand, failed = (int(v or 0) for v in runs.get(stored_id(plan), (0, 0, 0)))
        plans.append({"plan": plan.name, "planned": planned, "executed": executed,
                      "missed": max(planned - executed, 0), "on_demand": on_demand, "failed": failed,
                      "exceptions": int(exceptions.get(stored_id(plan), 0))})
    planned = sum(p["planned"] for p in plans)
    executed = sum(min(p["executed"], p["planned"]) for p in plans)
    return {"plans": plans, "planned": planned, "executed": executed,
            "missed": sum(p["missed"] for p in plans), "implementation_rate": _rate(executed, planned)}


# (measure, verdict column): the verdicts the clocks stored (models/sla_clock.verdict), never a second rule here.
MEASURES = [("response", Incident.response_verdict), ("on_site", Incident.on_site_verdict),
            ("resolution", Incident.resolution_verdict)]
OPEN = [Verdict.RUNNING.value, Verdict.NOT_STARTED.value]


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _fraction(part: int, whole: int) -> dict[str, Any]:
    return {"numerator": part, "denominator": whole, "rate": _rate(part, whole)}


def incident_metrics(session: Session, contract_id: int, start: datetime, end: datetime) -> dict[str, Any]:
    """Incidents reported in the period (README "Counting rules"): by level; and over the SLA population
    (the transition phase out) MTTA, MTTR, escalation and SLA achievement per class and measure."""
    period = and_(_ours(Incident.contract_id, contract_id), col(Incident.reported_at) >= start,
                  col(Incident.reported_at) < end)
    by_level = dict(session.exec(select(Incident.level, func.count()).where(period).group_by(Incident.level)).all())
    total, transition = session.exec(select(func.count(), _count(Incident.sla_applicable == False))  # noqa: E712
                                     .where(period)).one()
    sla_period = and_(period, col(Incident.sla_applicable) == True)  # noqa: E712 - the transition phase has no SLA
    sla_total, escalated, mtta, mttr, provisional = session.exec(select(  # type: ignore[call-overload]  # why: sqlmodel types select() for at most 4 columns
        func.count(), _count(Incident.escalated == True),  # noqa: E712
        func.avg(minutes_between(session, Incident.reported_at, Incident.acknowledged_at)),
        func.avg(minutes_between(session, Incident.reported_at, Incident.resolved_at)),
        _count(Incident.sla_provisional == True),  # noqa: E712
    ).where(sla_period)).one()
    columns = []
    for _measure, verdict_column in MEASURES:
        columns += [_count(col(verdict_column).in_([Verdict.MET.value, Verdict.MISSED.value])),
                    _count(verdict_column == Verdict.MET.value), _count(col(verdict_column).in_(OPEN))]
    rows = session.exec(select(Incident.fault_class, *columns).where(sla_period).group_by(Incident.fault_class))
    sla: dict[str, dict[str, dict[str, Any]]] = {c.value: {} for c in FaultClass}
    totals = {m: [0, 0, 0] for m, _ in MEASURES}
    found = {FaultClass(row[0]).value: row[1:] for row in rows}
    for fault_class in sla:
        values = found.get(fault_class, (0,) * 9)
        for index, (measure, _) in enumerate(MEASURES):
            measured, met, still_open = (int(v or 0) for v in values[3 * index:3 * index + 3])
            sla[fault_class][measure] = {"measured": measured, "met": met, "achievement": _rate(met, measured),
                                         "open": still_open}
            for slot, value in enumerate((measured, met, still_open)):
                totals[measure][slot] += value
    return {
        "total": int(total), "by_level": {lv.value: int(by_level.get(lv, by_level.get(lv.value, 0))) for lv in Level},
        "transition_excluded": int(transition), "sla_applicable": int(sla_total), "provisional": int(provisional),
        "escalated": int(escalated), "mtta_minutes": _mean(mtta), "mttr_minutes": _mean(mttr), "sla": sla,
        "timely_response_rate": _rate(totals["response"][1], totals["response"][0]),
        "timely_resolution_rate": _rate(totals["resolution"][1], totals["resolution"][0]),
        "escalation_rate": _rate(escalated, sla_total),
        "fractions": {"timely_response": {**_fraction(totals["response"][1], totals["response"][0]),
                                          "open": totals["response"][2]},
                      "timely_on_site": {**_fraction(totals["on_site"][1], totals["on_site"][0]),
                                         "open": totals["on_site"][2]},
                      "timely_resolution": {**_fraction(totals["resolution"][1], totals["resolution"][0]),
                                            "open": totals["resolution"][2]},
                      "escalation": _fraction(int(escalated), int(sla_total))},
    }


def change_metrics_for(session: Session, contract_id: int, start: datetime, end: datetime) -> dict[str, Any]:
    """Changes finished in the period: by type, outcomes, success rate, emergency share, outage."""
    period = and_(_ours(ChangeRequest.contract_id, contract_id), col(ChangeRequest.finished_at) >= start,
                  col(ChangeRequest.finished_at) < end)
    rows = session.exec(select(ChangeRequest.change_type, ChangeRequest.status, func.count(),
                               func.coalesce(func.sum(ChangeRequest.outage_minutes), 0.0))
                        .where(period).group_by(ChangeRequest.change_type, ChangeRequest.status)).all()
    by_type = {t.value: 0 for t in ChangeType}
    outcomes: dict[str, dict[str, int]] = {t.value: {} for t in ChangeType}
    outage, total, implemented, succeeded = 0.0, 0, 0, 0
    for change_type, status, count, minutes in rows:  # one row per type and status: a handful
        change_type, status = ChangeType(change_type).value, ChangeStatus(status).value
        by_type[change_type] += count
        outcomes[change_type][status] = int(count)
        total += count
        outage += float(minutes)
        implemented += count if status in IMPLEMENTED else 0
        succeeded += count if status == ChangeStatus.SUCCEEDED.value else 0
    return {"total": total, "by_type": by_type, "outcomes": outcomes, "implemented": implemented,
            "succeeded": succeeded, "success_rate": _rate(succeeded, implemented),
            "emergency_share": _rate(by_type[ChangeType.EMERGENCY.value], total), "outage_minutes": round(outage, 2)}


def compliance_metrics(session: Session, contract_id: int, start: datetime, end: datetime) -> dict[str, Any]:
    """Process compliance: changes deployed without the approvals their type needs, incidents closed without
    consent, CMDB updates later than 24 h after a successful change."""
    changed = and_(_ours(ChangeRequest.contract_id, contract_id), col(ChangeRequest.finished_at) >= start,
                   col(ChangeRequest.finished_at) < end)
    unapproved = session.exec(select(func.count()).where(
        changed, col(ChangeRequest.status).in_(IMPLEMENTED), ChangeRequest.change_type != ChangeType.STANDARD.value,
        col(ChangeRequest.approved_at).is_(None))).one()
    late_cmdb = session.exec(select(func.count()).where(
        changed, ChangeRequest.status == ChangeStatus.SUCCEEDED.value, cast(ChangeRequest.ci_ids, String) != "[]",
        or_(col(ChangeRequest.cmdb_updated_at).is_(None),
            minutes_between(session, ChangeRequest.finished_at, ChangeRequest.cmdb_updated_at) > 24 * 60))).one()
    no_consent = session.exec(select(func.count()).where(
        _ours(Incident.contract_id, contract_id), Incident.status == IncidentStatus.CLOSED.value,
        col(Incident.closed_at) >= start, col(Incident.closed_at) < end, Incident.consented == False)).one()  # noqa: E712
    return {"changes_without_approval": int(unapproved), "incidents_closed_without_consent": int(no_consent),
            "late_cmdb_updates": int(late_cmdb)}


def satisfaction_metrics(session: Session, contract_id: int, start: datetime, end: datetime) -> dict[str, Any]:
    """Scores given in the period (count, mean, share satisfied: 4 or 5) and complaints received."""
    count, mean, satisfied = session.exec(select(
        func.count(), func.avg(col(Satisfaction.score)), func.coalesce(func.sum(case((col(Satisfaction.score) >= 4, 1),
                                                                                else_=0)), 0),
    ).where(_ours(Satisfaction.contract_id, contract_id), col(Satisfaction.rated_at) >= start,
            col(Satisfaction.rated_at) < end)).one()
    complaints, open_complaints = session.exec(select(
        func.count(), func.coalesce(func.sum(case((col(Complaint.status) == "open", 1), else_=0)), 0),
    ).where(_ours(Complaint.contract_id, contract_id), col(Complaint.received_at) >= start,
            col(Complaint.received_at) < end)).one()
    return {"surveys": int(count), "mean_score": _mean(mean), "satisfied_share": _rate(satisfied, count),
            "complaints": int(complaints), "complaints_open": int(open_complaints)}


def risk_metrics(session: Session, contract_id: int, start: datetime, end: datetime) -> dict[str, Any]:
    """The register: risks not closed, and of the mitigations planned for the period, the share implemented."""
    start_day, end_day = start.date(), end.date()
    open_risks, planned, implemented = session.exec(select(
        func.coalesce(func.sum(case((col(Risk.status) != RiskStatus.CLOSED.value, 1), else_=0)), 0),
        func.coalesce(func.sum(case((and_(col(Risk.mitigation_due) >= start_day,
                                          col(Risk.mitigation_due) < end_day), 1), else_=0)), 0),
        func.coalesce(func.sum(case((and_(col(Risk.mitigation_due) >= start_day, col(Risk.mitigation_due) < end_day,
                                          col(Risk.mitigation_done_at).is_not(None),
                                          col(Risk.mitigation_done_at) < end), 1), else_=0)), 0),
    ).where(_ours(Risk.contract_id, contract_id))).one()
    return {"open": int(open_risks), "mitigations_planned": int(planned), "mitigations_implemented": int(implemented),
            "mitigation_rate": _rate(implemented, planned)}


def quarter_metrics(session: Session, contract_id: int, year: int, quarter: int, *, zone: ZoneInfo,
                    now: datetime) -> dict[str, Any]:
    """Every figure of one contract's quarter."""
    start, end = quarter_bounds(year, quarter, zone)
    settle_clocks(session, start, end, now)  # a clock still running at `now` past its target counts as missed
    return {
        "period": {"year": year, "quarter": quarter, "start": start.isoformat(), "end": end.isoformat()},
        "inspections": inspection_metrics(session, start, end, now),
        "incidents": incident_metrics(session, contract_id, start, end),
        "changes": change_metrics_for(session, contract_id, start, end),
        "compliance": compliance_metrics(session, contract_id, start, end),
        "satisfaction": satisfaction_metrics(session, contract_id, start, end),
        "risks": risk_metrics(session, contract_id, start, end),
        **extra_metrics(session, start, end),
    }
