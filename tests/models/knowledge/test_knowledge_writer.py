"""Four-eyes on knowledge: the review gate is closed to whoever wrote the text last, not only to its author,
and an edited article keeps no review or publication of its old text."""

from __future__ import annotations

from sqlmodel import Session

from models.directory.roles import RoleKey
from models.directory.service import create_person
from models.knowledge.service import create_article, last_writer, set_state, update_article
from models.knowledge.tables import ArticleStatus


def test_the_last_editor_is_the_writer_a_review_must_exclude(session: Session) -> None:
    author, support = (create_person(session, name=n, roles=[r], actor="test").id
                       for n, r in (("author", RoleKey.ENGINEER), ("support", RoleKey.TECHNICAL_SUPPORT)))
    article = create_article(session, data={"title": "Disk full", "symptom": "disk full", "resolution": "rotate"},
                             author_id=author, actor=f"person:{author}")
    assert last_writer(session, article) == author
    for status in (ArticleStatus.IN_REVIEW, ArticleStatus.REVIEWED, ArticleStatus.PUBLISHED):
        set_state(session, article, status, actor="test", person_id=support,
                  expected={ArticleStatus.DRAFT, ArticleStatus.IN_REVIEW, ArticleStatus.REVIEWED})
    assert article.reviewed_by == support and article.published_at is not None

    update_article(session, article, changes={"resolution": "disable the firewall"}, actor=f"person:{support}")
    session.commit()
    assert last_writer(session, article) == support  # support may no longer approve it
    assert article.status == ArticleStatus.DRAFT
    assert (article.reviewed_by, article.reviewed_at, article.published_at) == (None, None, None)
    update_article(session, article, changes={"title": "Disk full on db-srv"}, actor="system:import")
    assert last_writer(session, article) == support  # a system edit names nobody: the last person stays
