"""Quarterly review figures of the knowledge base, problem management and drills (estate-wide: none of
them belongs to one contract)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from config.settings import get_settings
from models.drills.tables import DrillEvaluation, DrillPlan, DrillRun, DrillStatus, PlanStatus
from models.inspection.planned_runs import planned_runs
from models.knowledge.tables import KnowledgeArticle, KnowledgeLink
from models.problems.tables import Problem, ProblemStatus

DONE = (DrillStatus.ENDED, DrillStatus.EVALUATED, DrillStatus.SIGNED_OFF)


def _count(session: Session, query: Any) -> int:
    return int(session.exec(query).one())


def knowledge_metrics(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """Published articles at the end against the threshold (001 §3.5.3), new and reused ones in the period."""
    published = _count(session, select(func.count()).select_from(KnowledgeArticle).where(
        col(KnowledgeArticle.published_at).is_not(None), col(KnowledgeArticle.published_at) < end,
        KnowledgeArticle.status == "published"))
    new = _count(session, select(func.count()).select_from(KnowledgeArticle).where(
        col(KnowledgeArticle.published_at) >= start, col(KnowledgeArticle.published_at) < end))
    solved = ((col(KnowledgeLink.solved) == True)  # noqa: E712
              & (col(KnowledgeLink.solved_at) >= start) & (col(KnowledgeLink.solved_at) < end))
    reused = _count(session, select(func.count(func.distinct(KnowledgeLink.article_id))).where(solved))
    uses = _count(session, select(func.count()).select_from(KnowledgeLink).where(solved))
    threshold = get_settings().knowledge_threshold
    return {"articles": published, "threshold": threshold, "threshold_met": published >= threshold,
            "new": new, "reused": reused, "uses": uses}


def problem_metrics(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """Problems open at the end, known errors among them, logged and resolved by changes in the period."""
    open_at_end = (col(Problem.created_at) < end) & (col(Problem.closed_at).is_(None) | (col(Problem.closed_at) >= end))
    return {
        "open": _count(session, select(func.count()).select_from(Problem).where(open_at_end)),
        "known_errors": _count(session, select(func.count()).select_from(Problem).where(
            open_at_end, col(Problem.status).in_([ProblemStatus.KNOWN_ERROR, ProblemStatus.FIX_SCHEDULED]))),
        "logged": _count(session, select(func.count()).select_from(Problem).where(
            Problem.created_at >= start, Problem.created_at < end)),
        "resolved_by_changes": _count(session, select(func.count()).select_from(Problem).where(
            col(Problem.change_id).is_not(None), col(Problem.closed_at) >= start, col(Problem.closed_at) < end)),
    }


def drill_metrics(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """Drills planned (approved plans' schedules) against done and terminated, and findings still open."""
    planned = sum(planned_runs(p.cron, p.timezone, start, end) for p in session.exec(
        select(DrillPlan).where(DrillPlan.status == PlanStatus.APPROVED)))
    runs = list(session.exec(select(DrillRun).where(DrillRun.started_at >= start, DrillRun.started_at < end)))
    findings = [m for e in session.exec(select(DrillEvaluation)) for m in e.improvements]
    return {"planned": planned, "done": sum(r.status in DONE for r in runs),
            "terminated": sum(r.status == DrillStatus.TERMINATED for r in runs),
            "signed_off": sum(r.status == DrillStatus.SIGNED_OFF for r in runs),
            "findings_open": sum(not m.get("done") for m in findings)}


def extra_metrics(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """The knowledge, problem and drill figures of one quarter."""
    return {"knowledge": knowledge_metrics(session, start, end), "problems": problem_metrics(session, start, end),
            "drills": drill_metrics(session, start, end)}
