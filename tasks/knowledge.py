"""Tasks of the knowledge review flow and of the incident hooks (suggested articles, known errors)."""

from __future__ import annotations

from prefect import task

from models.core.db import session_scope
from models.directory.roles import RoleKey
from models.gates.tables import GateSpec
from models.incidents.tables import Incident
from models.knowledge.service import last_writer, link_suggestions, set_state
from models.knowledge.tables import ArticleStatus, KnowledgeArticle
from models.problems.service import link_incident
from tasks.gates import GateOutcome


def _article(session, article_id: int) -> KnowledgeArticle:
    article = session.get(KnowledgeArticle, article_id)
    if article is None:
        raise ValueError(f"no knowledge article {article_id}")
    return article


@task(name="begin-knowledge-review", retries=2, retry_delay_seconds=2)
def begin_review(article_id: int, flow_run_id: str) -> GateSpec:
    """Bind the article to this review run; the gate: technical support or the PM, never its last writer."""
    with session_scope() as session:
        article = _article(session, article_id)
        article.review_flow_run_id = flow_run_id
        session.add(article)
        return GateSpec(key="kb-review", subject=f"Review knowledge article KB-{article.id}: {article.title}",
                        details_md=f"**Symptom**\n\n{article.symptom}\n\n**Cause**\n\n{article.cause}\n\n"
                                   f"**Resolution**\n\n{article.resolution}\n\nApprove to publish it.",
                        eligible_roles=[RoleKey.TECHNICAL_SUPPORT, RoleKey.PROJECT_MANAGER],
                        # Whoever wrote the text last may not approve it (an editor, not only the author).
                        requested_by=last_writer(session, article), record_type="knowledge_article",
                        record_id=str(article.id))


@task(name="finish-knowledge-review")
def finish_review(article_id: int, outcome: GateOutcome) -> str:
    """Approved: reviewed, then published; rejected or expired: back to draft with the reviewer's comment."""
    with session_scope() as session:
        article = _article(session, article_id)
        if article.status != ArticleStatus.IN_REVIEW:  # re-executed after it was recorded
            return article.status.value
        comment = "; ".join(outcome.comments) or None
        if outcome.approved:
            person = outcome.voters[-1] if outcome.voters else None
            set_state(session, article, ArticleStatus.REVIEWED, actor=outcome.decider, person_id=person,
                      expected={ArticleStatus.IN_REVIEW}, detail=comment)
            set_state(session, article, ArticleStatus.PUBLISHED, actor=outcome.decider,
                      expected={ArticleStatus.REVIEWED})
        else:
            set_state(session, article, ArticleStatus.DRAFT, actor=outcome.decider,
                      expected={ArticleStatus.IN_REVIEW}, detail=comment or outcome.outcome)
        return article.status.value


def hints_markdown(articles: list[tuple[KnowledgeArticle, float]], known: list) -> str:
    """What the acknowledge gate tells the engineer: known-error workarounds, then matching articles."""
    lines = []
    for problem in known:
        lines.append(f"**Known error** (problem {problem.id}): {problem.title}\n\nWorkaround: {problem.workaround}")
    if articles:
        lines.append("**Knowledge base** (record the one that solves it: POST /knowledge/{id}/solved):")
        lines.extend(f"- KB-{a.id} {a.title} — {a.resolution[:300]}" for a, _ in articles)
    return "\n\n".join(lines)


@task(name="link-knowledge-and-problems", retries=2, retry_delay_seconds=2)
def link_knowledge(incident_id: int) -> str:
    """Link matching published articles and open problems on the ticket; returns the gate's hints."""
    with session_scope() as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            raise ValueError(f"no incident {incident_id}")
        articles = link_suggestions(session, incident, actor="system:knowledge")
        known = link_incident(session, incident, actor="system:problems")
        return hints_markdown(articles, known)
