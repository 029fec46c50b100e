"""/knowledge: articles written by hand or from incidents, review through a gate, search, use on incidents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel
from sqlmodel import Session, col, select

from api.deps import Caller, CurrentCaller, InternalRecords, SessionDep, require_roles
from itss.runs import start_flow
from models.cmdb.tables import ConfigurationItem
from models.core.rows import stored_id
from models.core.types import Id
from models.directory.roles import RoleKey
from models.incidents.tables import Incident
from models.knowledge.service import (
    ArticleStateError,
    create_article,
    draft_from_incident,
    record_solved,
    search,
    set_state,
    update_article,
)
from models.knowledge.tables import (
    ArticleCreate,
    ArticlePublic,
    ArticleStatus,
    ArticleUpdate,
    KnowledgeArticle,
    KnowledgeLink,
    LinkPublic,
)

router = APIRouter(prefix="/knowledge", tags=["knowledge"], dependencies=[InternalRecords])
Writer = Annotated[Caller, Depends(require_roles(RoleKey.ENGINEER, RoleKey.TECHNICAL_SUPPORT,
                                                 RoleKey.PROJECT_MANAGER, RoleKey.SERVICE_DESK))]
REVIEW_DEPLOYMENT = "knowledge_review/knowledge_review"


class SearchHit(BaseModel):
    score: float
    article: ArticlePublic


class Solved(BaseModel):
    incident_id: Id


def load(session: Session, article_id: Id) -> KnowledgeArticle:
    """The article, or 404."""
    article = session.get(KnowledgeArticle, article_id)
    if article is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no knowledge article with id {article_id}")
    return article


def _check_cis(session: Session, ci_ids: list[int]) -> None:
    known = set(session.exec(select(ConfigurationItem.id).where(col(ConfigurationItem.id).in_(ci_ids))))
    if set(ci_ids) - known:
        raise HTTPException(422, f"ci_ids: unknown configuration items {sorted(set(ci_ids) - known)}")


@router.post("", response_model=ArticlePublic, status_code=201)
def write_article(data: ArticleCreate, session: SessionDep, caller: Writer) -> KnowledgeArticle:
    """A draft article written by hand."""
    _check_cis(session, data.ci_ids)
    article = create_article(session, data=data.model_dump(), author_id=caller.person_id, actor=caller.actor)
    session.commit()
    return article


@router.post("/from-incident/{incident_id}", response_model=ArticlePublic, status_code=201)
def from_incident(incident_id: Id, session: SessionDep, caller: Writer) -> KnowledgeArticle:
    """The incident's draft article (symptom, cause, actions); the one already drafted if there is one."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise HTTPException(404, f"no incident with id {incident_id}")
    article, _ = draft_from_incident(session, incident, actor=caller.actor, author_id=caller.person_id)
    if article.author_id is None:  # drafted by the flow: whoever takes it up becomes its author
        article.author_id = article.owner_id = caller.person_id
        session.add(article)
    session.commit()
    return article


@router.get("", response_model=list[ArticlePublic])
def list_articles(session: SessionDep, _caller: CurrentCaller, status_: Annotated[
        ArticleStatus | None, Query(alias="status")] = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[KnowledgeArticle]:
    """Articles, newest first."""
    query = select(KnowledgeArticle).order_by(col(KnowledgeArticle.id).desc()).limit(limit)
    if status_ is not None:
        query = query.where(KnowledgeArticle.status == status_)
    return list(session.exec(query))


@router.get("/search", response_model=list[SearchHit])
def search_articles(session: SessionDep, caller: CurrentCaller,
                    q: Annotated[str, Query(min_length=1, max_length=200, description="words, Chinese or English")],
                    include_drafts: bool = False,
                    limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[SearchHit]:
    """Published articles holding every word of `q` (substring match), best first; drafts too on request."""
    statuses = tuple(ArticleStatus) if include_drafts else (ArticleStatus.PUBLISHED,)
    return [SearchHit(score=round(score, 3), article=ArticlePublic.model_validate(a.model_dump()))
            for a, score in search(session, q, statuses=statuses, limit=limit)]


@router.get("/incidents/{incident_id}", response_model=list[LinkPublic])
def incident_articles(incident_id: Id, session: SessionDep, _caller: CurrentCaller) -> list[LinkPublic]:
    """The articles linked on an incident's ticket, and whether one solved it."""
    rows = session.exec(select(KnowledgeLink, KnowledgeArticle).join(
        KnowledgeArticle, col(KnowledgeArticle.id) == col(KnowledgeLink.article_id)).where(
        KnowledgeLink.incident_id == incident_id).order_by(col(KnowledgeLink.score).desc()))
    return [LinkPublic(incident_id=link.incident_id, article_id=link.article_id, title=article.title,
                       score=link.score, solved=link.solved, solved_at=link.solved_at) for link, article in rows]


@router.get("/{article_id}", response_model=ArticlePublic)
def get_article(article_id: Id, session: SessionDep, _caller: CurrentCaller) -> KnowledgeArticle:
    """One article."""
    return load(session, article_id)


@router.patch("/{article_id}", response_model=ArticlePublic)
def edit_article(article_id: Id, data: ArticleUpdate, session: SessionDep, caller: Writer) -> KnowledgeArticle:
    """Edit an article; a published one goes back to draft and through review again."""
    article = load(session, article_id)
    changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None or k == "review_date"}
    if "ci_ids" in changes:
        _check_cis(session, changes["ci_ids"])
    try:
        update_article(session, article, changes=changes, actor=caller.actor)
    except ArticleStateError as exc:
        raise HTTPException(409, str(exc)) from None
    session.commit()
    return article


@router.post("/{article_id}/submit", response_model=ArticlePublic)
def submit_for_review(article_id: Id, session: SessionDep, caller: Writer) -> KnowledgeArticle:
    """Send a draft to review: technical support or the PM (not its author) decide at a gate."""
    article = load(session, article_id)
    if not article.resolution.strip():
        raise HTTPException(422, "resolution: write how the fault is resolved before asking for review")
    try:
        set_state(session, article, ArticleStatus.IN_REVIEW, actor=caller.actor, expected={ArticleStatus.DRAFT})
    except ArticleStateError as exc:
        raise HTTPException(409, str(exc)) from None
    if article.author_id is None:
        article.author_id = caller.person_id
    session.commit()
    run_id = start_flow(REVIEW_DEPLOYMENT, {"article_id": article.id})
    if run_id is None:
        set_state(session, article, ArticleStatus.DRAFT, actor="system:knowledge",
                  expected={ArticleStatus.IN_REVIEW}, detail="the review flow could not be started")
        session.commit()
        raise HTTPException(503, "the review flow could not be started (is Prefect running?); try again")
    article.review_flow_run_id = run_id
    session.add(article)
    session.commit()
    return article


@router.post("/{article_id}/solved", response_model=LinkPublic)
def solved(article_id: Id, data: Solved, session: SessionDep, caller: Writer) -> LinkPublic:
    """An engineer records that this article solved the incident (counted once per incident)."""
    article = load(session, article_id)
    if article.status != ArticleStatus.PUBLISHED:
        raise HTTPException(409, f"article {article_id} is {article.status.value}; only published articles are used")
    if session.get(Incident, data.incident_id) is None:
        raise HTTPException(422, f"incident_id: no incident with id {data.incident_id}")
    link = record_solved(session, incident_id=data.incident_id, article=article, person_id=caller.person_id,
                         actor=caller.actor)
    session.commit()
    return LinkPublic(incident_id=link.incident_id, article_id=stored_id(article), title=article.title,
                      score=link.score,
                      solved=link.solved, solved_at=link.solved_at)
