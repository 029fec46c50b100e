"""Knowledge-base services: write, review states, search, suggestions on incidents, use count."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from models.core.audit import AuditEvent, record_audit
from models.core.clock import utcnow
from models.core.rows import stored_id
from models.incidents.tables import Incident, IncidentCI, log_event
from models.knowledge.search import like_escape, match_share, query_terms, rank, search_blob, text_terms
from models.knowledge.tables import ArticleStatus, KnowledgeArticle, KnowledgeLink

# An article is suggested on an incident when this share of its symptom's terms occur in the
# incident's title and symptom (or it names one of the incident's CIs and shares any term).
MATCH_SHARE = 0.5
MAX_SUGGESTIONS = 3


class ArticleStateError(ValueError):
    """The article is not in a state that allows this step (the API answers 409)."""


def _refresh_blob(article: KnowledgeArticle) -> None:
    article.search_text = search_blob(article.title, article.symptom, article.cause, article.resolution,
                                      article.tags)
    article.updated_at = utcnow()


def create_article(session: Session, *, data: dict[str, Any], author_id: int | None, actor: str,
                   source_type: str | None = None, source_id: int | None = None) -> KnowledgeArticle:
    """A new draft article, audited."""
    article = KnowledgeArticle(**data, author_id=author_id, owner_id=author_id, source_type=source_type,
                               source_id=source_id)
    _refresh_blob(article)
    session.add(article)
    session.flush()
    record_audit(session, actor=actor, action="knowledge.created", record_type="knowledge_article",
                 record_id=article.id, after={"title": article.title, "source": f"{source_type}:{source_id}"})
    return article


def update_article(session: Session, article: KnowledgeArticle, *, changes: dict[str, Any], actor: str) -> None:
    """Edit an article; a reviewed or published one goes back to draft (it must be reviewed again)."""
    if article.status == ArticleStatus.IN_REVIEW:
        raise ArticleStateError("the article is in review: wait for the reviewer's decision")
    before = article.status
    for key, value in changes.items():
        setattr(article, key, value)
    if article.status in (ArticleStatus.REVIEWED, ArticleStatus.PUBLISHED):
        # The new text has not been reviewed or published: keep no review that was of the old one.
        article.status = ArticleStatus.DRAFT
        article.reviewed_by = article.reviewed_at = article.published_at = None
    _refresh_blob(article)
    session.add(article)
    record_audit(session, actor=actor, action="knowledge.edited", record_type="knowledge_article",
                 record_id=article.id, before={"status": before.value}, after={"status": article.status.value},
                 detail=", ".join(sorted(changes)))


def last_writer(session: Session, article: KnowledgeArticle) -> int | None:
    """Who wrote the text to be reviewed: the last person who edited it, else its author (four-eyes)."""
    actor = session.exec(select(AuditEvent.actor).where(
        AuditEvent.record_type == "knowledge_article", AuditEvent.record_id == str(article.id),
        AuditEvent.action == "knowledge.edited", col(AuditEvent.actor).startswith("person:"))
        .order_by(col(AuditEvent.id).desc())).first()
    if actor is not None:
        return int(actor.partition(":")[2])
    return article.author_id


def draft_from_incident(session: Session, incident: Incident, *, actor: str,
                        author_id: int | None = None) -> tuple[KnowledgeArticle, bool]:
    """The incident's draft article (symptom, cause, actions); (article, created). One per incident."""
    existing = session.exec(select(KnowledgeArticle).where(KnowledgeArticle.source_type == "incident",
                                                           KnowledgeArticle.source_id == incident.id)).first()
    if existing is not None:
        return existing, False
    ci_ids = sorted(session.exec(select(IncidentCI.ci_id).where(IncidentCI.incident_id == incident.id)))
    data = {"title": incident.title, "symptom": incident.symptom or incident.title, "cause": incident.cause or "",
            "resolution": incident.actions or "", "ci_ids": ci_ids}
    return create_article(session, data=data, author_id=author_id, actor=actor, source_type="incident",
                          source_id=incident.id), True


def set_state(session: Session, article: KnowledgeArticle, status: ArticleStatus, *, actor: str,
              expected: set[ArticleStatus], person_id: int | None = None, detail: str | None = None) -> None:
    """Move an article along draft → in review → reviewed → published, audited."""
    if article.status not in expected:
        allowed = ", ".join(sorted(s.value for s in expected))
        raise ArticleStateError(f"article {article.id} is {article.status.value}; this needs it {allowed}")
    before = article.status
    now = utcnow()
    article.status = status
    if status == ArticleStatus.REVIEWED:
        article.reviewed_by, article.reviewed_at = person_id, now
    elif status == ArticleStatus.PUBLISHED:
        article.published_at = now
    article.updated_at = now
    session.add(article)
    record_audit(session, actor=actor, action=f"knowledge.{status.value}", record_type="knowledge_article",
                 record_id=article.id, before={"status": before.value}, after={"status": status.value},
                 detail=detail)


def search(session: Session, query: str, *, statuses: tuple[ArticleStatus, ...] = (ArticleStatus.PUBLISHED,),
           limit: int = 20) -> list[tuple[KnowledgeArticle, float]]:
    """Articles holding every word of `query` as a substring (Chinese or English), best first."""
    terms = query_terms(query)
    if not terms:
        return []
    condition = [col(KnowledgeArticle.search_text).like(like_escape(t), escape="\\") for t in terms]
    rows = session.exec(select(KnowledgeArticle).where(col(KnowledgeArticle.status).in_(statuses), *condition)
                        .limit(500))
    scored = [(a, rank(_fields(a), terms, a.use_count)) for a in rows]
    scored = [(a, s) for a, s in scored if s > 0]
    scored.sort(key=lambda pair: (-pair[1], pair[0].id))
    return scored[:limit]


def _fields(article: KnowledgeArticle) -> dict[str, str]:
    return {"title": article.title, "symptom": article.symptom, "cause": article.cause,
            "resolution": article.resolution, "tags": " ".join(article.tags)}


def suggestions(session: Session, incident: Incident) -> list[tuple[KnowledgeArticle, float]]:
    """Published articles whose symptom matches the incident's text (or CI), best first."""
    wanted = text_terms(f"{incident.title}\n{incident.symptom}")
    if not wanted:
        return []
    ci_ids = set(session.exec(select(IncidentCI.ci_id).where(IncidentCI.incident_id == incident.id)))
    # Only articles sharing at least one term can match: filter in SQL on a few of the terms.
    sample = sorted(wanted, key=len, reverse=True)[:30]
    rows = session.exec(select(KnowledgeArticle).where(
        KnowledgeArticle.status == ArticleStatus.PUBLISHED,
        or_(*[col(KnowledgeArticle.search_text).like(like_escape(t), escape="\\") for t in sample])).limit(1000))
    found = []
    for article in rows:
        share = match_share(text_terms(f"{article.title}\n{article.symptom}"), wanted)
        if share >= MATCH_SHARE or (share > 0 and ci_ids & set(article.ci_ids)):
            found.append((article, round(share, 3)))
    found.sort(key=lambda pair: (-pair[1], -pair[0].use_count, pair[0].id))
    return found[:MAX_SUGGESTIONS]


def link_suggestions(session: Session, incident: Incident, *, actor: str) -> list[tuple[KnowledgeArticle, float]]:
    """Link the matching published articles on the incident's ticket (once each), with a timeline line."""
    found = suggestions(session, incident)
    linked = set(session.exec(select(KnowledgeLink.article_id).where(KnowledgeLink.incident_id == incident.id)))
    new = [(a, s) for a, s in found if a.id not in linked]
    for article, score in new:
        session.add(KnowledgeLink(incident_id=stored_id(incident), article_id=stored_id(article), score=score))
    if new:
        log_event(session, stored_id(incident), actor=actor, kind="knowledge_linked",
                  detail="; ".join(f"KB-{a.id} {a.title}" for a, _ in new),
                  data={"articles": [a.id for a, _ in new]})
    session.flush()
    return found


def record_solved(session: Session, *, incident_id: int, article: KnowledgeArticle, person_id: int,
                  actor: str) -> KnowledgeLink:
    """An engineer says this article solved the incident: counted once per incident, audited."""
    link = session.exec(select(KnowledgeLink).where(KnowledgeLink.incident_id == incident_id,
                                                    KnowledgeLink.article_id == article.id)).first()
    if link is None:
        link = KnowledgeLink(incident_id=incident_id, article_id=stored_id(article))
    if link.solved:
        return link
    link.solved, link.solved_by, link.solved_at = True, person_id, utcnow()
    session.add(link)
    # In SQL, so two engineers recording at once cannot lose a count.
    session.exec(update(KnowledgeArticle).where(col(KnowledgeArticle.id) == article.id)  # type: ignore[call-overload]
                 .values(use_count=KnowledgeArticle.use_count + 1))
    log_event(session, incident_id, actor=actor, kind="knowledge_solved", detail=f"KB-{article.id} {article.title}",
              data={"article": article.id})
    record_audit(session, actor=actor, action="knowledge.used", record_type="knowledge_article",
                 record_id=article.id, after={"incident_id": incident_id})
    return link
