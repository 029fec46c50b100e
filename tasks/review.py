"""Tasks of the quarterly review: compile the checklist (figures, measures, risks, documents), the
deliverable's reviews and archive, and the fan-out to every active contract."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from sqlalchemy import func
from sqlmodel import Session, col, select

from config.settings import get_settings
from itss.run_names import name_at_creation
from models.contracts.tables import Contract, ContractStatus
from models.core.audit import record_audit
from models.core.clock import utcnow
from models.core.db import session_scope
from models.core.rows import must_get, stored_id
from models.directory.roles import RoleKey
from models.gates.tables import GateSpec
from models.incidents.tables import Incident
from models.review.metrics import previous_quarter, quarter_bounds, quarter_metrics, risk_metrics
from models.review.tables import ImprovementMeasure, QuarterlyReview, ReviewStatus, Risk, RiskStatus, moves_forward
from models.review.targets import TARGETS, evaluate, trends
from tasks.gates import GateOutcome
from tasks.notify import announce
from tasks.review_report import review_html, review_markdown, review_xlsx

MANAGERS = [RoleKey.PROJECT_MANAGER, RoleKey.OPS_MANAGER, RoleKey.SERVICE_LEVEL_MANAGER]


def which_quarter(year: int | None, quarter: int | None, today: date) -> tuple[int, int]:
    """The quarter asked for, or the one before `today`'s (the schedule fires on its first day)."""
    if (year is None) != (quarter is None):
        raise ValueError("give year and quarter together, or neither for the previous quarter")
    if year is not None and quarter is not None:
        if quarter not in (1, 2, 3, 4):
            raise ValueError(f"quarter {quarter}: give 1, 2, 3 or 4")
        return year, quarter
    return previous_quarter(today.year, (today.month - 1) // 3 + 1)


def _monthly_incidents(session: Session, contract_id: int, year: int, quarter: int) -> list[tuple[str, int]]:
    zone = get_settings().tz
    first, _ = quarter_bounds(*previous_quarter(year, quarter), zone)
    months = []
    for index in range(6):
        start = datetime(first.year + (first.month + index - 1) // 12, (first.month + index - 1) % 12 + 1, 1,
                         tzinfo=zone)
        end = datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=zone)
        count = session.exec(select(func.count()).where(
            (col(Incident.contract_id) == contract_id) | col(Incident.contract_id).is_(None),
            col(Incident.reported_at) >= start, col(Incident.reported_at) < end)).one()
        months.append((start.strftime("%Y-%m"), int(count)))
    return months


def _measures(session: Session, review: QuarterlyReview, targets: list[dict[str, Any]], due: date) -> None:
    """One improvement measure per unmet target, and the risk of missing it again in the register."""
    by_key = {t.key: t for t in TARGETS}
    for row in targets:
        if row["met"] is not False:
            continue
        target = by_key[row["key"]]
        finding = f"{row['label']}: {row['value']} (required {row['target']})"
        found = session.exec(select(ImprovementMeasure).where(ImprovementMeasure.review_id == review.id,
                                                              ImprovementMeasure.target == target.key)).first()
        if found is None:
            session.add(ImprovementMeasure(review_id=stored_id(review), contract_id=review.contract_id,
                                           target=target.key, finding=finding, measure=target.measure,
                                           owner_role=target.owner, due_on=due))
        key = f"review:{review.contract_id}:{target.key}"
        risk = session.exec(select(Risk).where(Risk.key == key)).first()
        if risk is None:
            session.add(Risk(contract_id=review.contract_id, key=key, title=f"{target.label} missed again",
                             owner_role=target.owner, mitigation=target.measure, mitigation_due=due))
        elif risk.status == RiskStatus.CLOSED:  # it came back: reopen with the new finding
            risk.status, risk.mitigation_due, risk.mitigation_done_at = RiskStatus.OPEN, due, None
            risk.updated_at = utcnow()
            session.add(risk)


@task(name="compile-review", cache_policy=NO_CACHE)
def compile_review(contract_id: int, year: int, quarter: int, flow_run_id: str) -> int | None:
    """Compute the quarter's figures, the measures and risks, and the HTML, XLSX and Markdown documents.

    A run re-executing after a gate finds its own compiled review and keeps it (the PM approved that one);
    an archived quarter is never compiled again (None)."""
    settings = get_settings()
    with session_scope() as session:
        contract = session.get(Contract, contract_id)
        if contract is None:
            raise ValueError(f"no contract {contract_id}")
        review = session.exec(select(QuarterlyReview).where(QuarterlyReview.contract_id == contract_id,
                                                            QuarterlyReview.year == year,
                                                            QuarterlyReview.quarter == quarter)).first()
        if review is not None and review.status != ReviewStatus.REQUESTED and (
                review.flow_run_id == flow_run_id or review.status == ReviewStatus.ARCHIVED):
            return stored_id(review) if review.status != ReviewStatus.ARCHIVED else None
        now = utcnow()
        metrics = quarter_metrics(session, contract_id, year, quarter, zone=settings.tz, now=now)
        before = quarter_metrics(session, contract_id, *previous_quarter(year, quarter), zone=settings.tz, now=now)
        if review is None:
            review = QuarterlyReview(contract_id=contract_id, year=year, quarter=quarter)
            session.add(review)
            session.flush()
        targets = evaluate(metrics)
        start, end = quarter_bounds(year, quarter, settings.tz)
        # Measures fall due a set time after compilation (a late review must not set dates already past).
        _measures(session, review, targets, (now.astimezone(settings.tz) + timedelta(
            days=settings.improvement_due_days)).date())
        session.flush()
        metrics["risks"] = risk_metrics(session, contract_id, start, end)  # the summary counts the risks just added
        measures = [m.model_dump(mode="json") for m in session.exec(select(ImprovementMeasure).where(
            col(ImprovementMeasure.review_id) == review.id).order_by(col(ImprovementMeasure.id)))]
        risks = [r.model_dump(mode="json") for r in session.exec(
            select(Risk).where((col(Risk.contract_id) == contract_id) | col(Risk.contract_id).is_(None),
                               col(Risk.status) != RiskStatus.CLOSED).order_by(col(Risk.id)))]
        context = dict(contract=contract, period=metrics["period"], start=start, end=end, compiled=now,
                       metrics=metrics, targets=targets, trends=trends(metrics, before), measures=measures,
                       risks=risks)
        review.metrics = {**metrics, "targets": targets, "trends": context["trends"]}
        review.html = review_html(context, _monthly_incidents(session, contract_id, year, quarter))
        review.xlsx = review_xlsx(context)
        review.summary_md = review_markdown(context)
        review.status, review.flow_run_id, review.compiled_at = ReviewStatus.COMPILED, flow_run_id, now
        session.add(review)
        record_audit(session, actor=f"flow:{flow_run_id}", action="review.compiled", record_type="quarterly_review",
                     record_id=review.id, detail=f"{contract.code} {year} Q{quarter}: "
                                                 f"{sum(t['met'] is False for t in targets)} target(s) unmet")
        review_id, summary = stored_id(review), review.summary_md
    create_markdown_artifact(summary, key=f"quarterly-review-{contract_id}-{year}-q{quarter}",
                             description=f"Delivery implementation checklist {year} Q{quarter}")
    return review_id


def report_link(review_id: int) -> str:
    """Where people read the report."""
    return f"{get_settings().public_base_url.rstrip('/')}/reviews/{review_id}/report.html"


def pm_gate(review_id: int, title: str, contract_id: int) -> GateSpec:
    """The project manager reviews the compiled checklist before it goes to the customer."""
    return GateSpec(key="pm-review", subject=f"Review the delivery checklist: {title}",
                    details_md=f"Read it at {report_link(review_id)}. **approve** submits it to the customer; "
                               "**return** sends it back with your comments.",
                    eligible_roles=[RoleKey.PROJECT_MANAGER], options=["approve", "return"], veto_options=[],
                    contract_id=contract_id, record_type="quarterly_review", record_id=str(review_id))


def customer_gate(review_id: int, title: str, contract_id: int) -> GateSpec:
    """The customer reviews the submitted checklist (000 §6)."""
    return GateSpec(key="customer-review", subject=f"Delivery checklist for your review: {title}",
                    details_md=f"Read it at {report_link(review_id)}. **accept** archives it; **return** asks us to "
                               "revise it.", eligible_roles=[RoleKey.CUSTOMER_REP], options=["accept", "return"],
                    veto_options=[], contract_id=contract_id, record_type="quarterly_review",
                    record_id=str(review_id))


@task(name="set-review-status", cache_policy=NO_CACHE)
def set_review_status(review_id: int, status: ReviewStatus, flow_run_id: str,
                      outcome: GateOutcome | None = None) -> None:
    """Move the deliverable along its life cycle, audited with who decided and why."""
    with session_scope() as session:
        review = must_get(session, QuarterlyReview, review_id)
        if not moves_forward(review.status, status):  # already there or past it: a re-executed run
            return
        before = review.status
        review.status = status
        if status == ReviewStatus.ARCHIVED:
            review.archived_at = utcnow()
        session.add(review)
        actor = outcome.decider if outcome else f"flow:{flow_run_id}"
        record_audit(session, actor=actor, action=f"review.{status.value}", record_type="quarterly_review",
                     record_id=review_id, before={"status": before.value}, after={"status": status.value},
                     detail="; ".join(outcome.comments) if outcome else None)


@task(name="announce-review", cache_policy=NO_CACHE, retries=1)
def announce_review(review_id: int, event: str) -> int:
    """Tell the managers the checklist is ready, waits for the customer, was returned or archived."""
    with session_scope() as session:
        review = must_get(session, QuarterlyReview, review_id)
        contract = must_get(session, Contract, review.contract_id)
        title = f"[quarterly review {event}] {contract.code} {review.year} Q{review.quarter}"
        unmet = sum(t["met"] is False for t in review.metrics.get("targets", []))
        contract_id = review.contract_id
    return announce(event=f"review.{event}", dedupe_prefix=f"review:{review_id}:{event}", roles=MANAGERS,
                    title=title, body=f"{unmet} target(s) unmet; improvement measures proposed for each.",
                    contract_id=contract_id, link=report_link(review_id))


@task(name="start-contract-reviews", cache_policy=NO_CACHE)
def start_reviews(year: int, quarter: int) -> list[str]:
    """One review run per active contract, each waiting at its own gates (idempotent per contract and quarter)."""
    context = FlowRunContext.get()
    deployment_id = context.flow_run.deployment_id if context and context.flow_run else None
    if deployment_id is None:
        raise RuntimeError("reviewing every contract needs the quarterly_review deployment; pass contract_id to "
                           "review one contract in process")
    with session_scope() as session:
        contracts = list(session.exec(select(Contract.id).where(Contract.status == ContractStatus.ACTIVE)))
    runs = []
    with get_client(sync_client=True) as client:
        for contract_id in contracts:
            run = client.create_flow_run_from_deployment(
                deployment_id, parameters={"contract_id": contract_id, "year": year, "quarter": quarter},
                name=name_at_creation("quarterly_review", {"contract_id": contract_id, "year": year,
                                                           "quarter": quarter}),
                idempotency_key=f"review-{contract_id}-{year}-q{quarter}")
            runs.append(str(run.id))
    get_run_logger().info("started %d contract reviews for %d Q%d", len(runs), year, quarter)
    return runs
