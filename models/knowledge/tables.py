"""Knowledge-base articles and their links to incidents."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.core.clock import utcnow
from models.core.types import EnumText, Id, JSONDoc, Label, UTCDateTime


class ArticleStatus(StrEnum):
    """draft → (review gate) → reviewed → published; a rejected review goes back to draft."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    REVIEWED = "reviewed"
    PUBLISHED = "published"
    RETIRED = "retired"


class ArticleBase(SQLModel):
    title: str = Field(min_length=1, max_length=300)
    symptom: str = Field(default="", max_length=4000)
    cause: str = Field(default="", max_length=4000)
    resolution: str = Field(default="", max_length=8000)
    ci_ids: list[int] = Field(default_factory=list, sa_type=JSONDoc)
    ci_types: list[str] = Field(default_factory=list, sa_type=JSONDoc)
    tags: list[str] = Field(default_factory=list, sa_type=JSONDoc)


class KnowledgeArticle(ArticleBase, table=True):
    """One entry of the knowledge base (001 §3.5.3 asks for at least 100)."""

    __tablename__ = "knowledge_article"
    __table_args__ = (UniqueConstraint("source_type", "source_id"),)
    id: int | None = Field(default=None, primary_key=True)
    status: ArticleStatus = Field(default=ArticleStatus.DRAFT, sa_type=EnumText(ArticleStatus, 16), index=True)
    source_type: str | None = Field(default=None, max_length=20)  # incident, problem; None by hand
    source_id: int | None = None
    author_id: int | None = Field(default=None, foreign_key="person.id")
    owner_id: int | None = Field(default=None, foreign_key="person.id")
    reviewed_by: int | None = Field(default=None, foreign_key="person.id")
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    review_date: date | None = Field(default=None, sa_type=Date)  # when the content is due for a re-check
    review_flow_run_id: str | None = Field(default=None, max_length=64)
    use_count: int = 0
    # Lower-cased title, symptom, cause, resolution and tags: the one column substring search reads.
    search_text: str = Field(default="", max_length=20000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ArticleCreate(SQLModel):
    """An article written by hand."""

    title: str = Field(min_length=1, max_length=300)
    symptom: str = Field(default="", max_length=4000)
    cause: str = Field(default="", max_length=4000)
    resolution: str = Field(default="", max_length=8000)
    ci_ids: list[Id] = Field(default_factory=list, max_length=200)
    ci_types: list[Label] = Field(default_factory=list, max_length=50)
    tags: list[Label] = Field(default_factory=list, max_length=50)
    review_date: date | None = None


class ArticleUpdate(SQLModel):
    """New text for a draft (a published article goes back through review when edited)."""

    title: str | None = Field(default=None, min_length=1, max_length=300)
    symptom: str | None = Field(default=None, max_length=4000)
    cause: str | None = Field(default=None, max_length=4000)
    resolution: str | None = Field(default=None, max_length=8000)
    ci_ids: list[Id] | None = Field(default=None, max_length=200)
    ci_types: list[Label] | None = Field(default=None, max_length=50)
    tags: list[Label] | None = Field(default=None, max_length=50)
    review_date: date | None = None


class ArticlePublic(ArticleBase):
    id: int
    status: ArticleStatus
    source_type: str | None
    source_id: int | None
    author_id: int | None
    owner_id: int | None
    reviewed_by: int | None
    reviewed_at: datetime | None
    published_at: datetime | None
    review_date: date | None
    use_count: int
    created_at: datetime
    updated_at: datetime


class KnowledgeLink(SQLModel, table=True):
    """A published article suggested on an incident's ticket; `solved` when an engineer says it helped."""

    __tablename__ = "knowledge_link"
    __table_args__ = (UniqueConstraint("incident_id", "article_id"),)
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True, ondelete="CASCADE")
    article_id: int = Field(foreign_key="knowledge_article.id", index=True, ondelete="CASCADE")
    score: float = 0
    linked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    solved: bool = False
    solved_by: int | None = Field(default=None, foreign_key="person.id")
    solved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LinkPublic(SQLModel):
    incident_id: int
    article_id: int
    title: str
    score: float
    solved: bool
    solved_at: datetime | None
