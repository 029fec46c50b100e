"""Knowledge search: Chinese by a two-character substring, English by a word, ranked, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlmodel import Session

from models.knowledge.search import like_escape, match_share, query_terms, rank, text_terms
from models.knowledge.service import create_article, search, set_state
from models.knowledge.tables import ArticleStatus


def test_query_terms_split_english_words_and_keep_chinese_runs() -> None:
    assert query_terms("Disk  FULL on the db") == ["disk", "full", "db"]
    assert query_terms("磁盘 空间") == ["磁盘", "空间"]
    assert query_terms("  ,, ") == []


def test_text_terms_cut_chinese_into_bigrams() -> None:
    assert text_terms("磁盘空间") == {"磁盘", "盘空", "空间"}
    assert text_terms("The disk is full") == {"disk", "full"}


def test_rank_needs_every_term_and_weights_the_title() -> None:
    in_title = {"title": "disk full", "symptom": "", "cause": "", "resolution": "", "tags": ""}
    in_body = {"title": "x", "symptom": "", "cause": "", "resolution": "disk full", "tags": ""}
    assert rank(in_title, ["disk", "full"]) > rank(in_body, ["disk", "full"]) > 0
    assert rank(in_title, ["disk", "memory"]) == 0


def test_match_share_and_like_escape() -> None:
    assert match_share({"磁盘", "空间"}, {"磁盘", "写入"}) == 0.5
    assert match_share(set(), {"磁盘"}) == 0
    assert like_escape("100%_x") == "%100\\%\\_x%"


def publish(session: Session, **data) -> int:
    article = create_article(session, data=data, author_id=None, actor="test")
    for status in (ArticleStatus.IN_REVIEW, ArticleStatus.REVIEWED, ArticleStatus.PUBLISHED):
        set_state(session, article, status, actor="test", expected=set(ArticleStatus))
    session.commit()
    return int(article.id)


def test_search_finds_chinese_by_two_characters_and_english_by_a_word(session: Session) -> None:
    chinese = publish(session, title="数据库服务器磁盘空间不足", symptom="写入失败，告警：磁盘使用率 95%",
                      resolution="清理归档日志")
    english = publish(session, title="VPN tunnel drops every night", symptom="IPsec tunnel to the DR site drops",
                      resolution="Raise the IKE lifetime")
    body_only = publish(session, title="Backup job slow", symptom="nightly backup overruns",
                        resolution="The tunnel MTU was too small")
    draft = create_article(session, data={"title": "磁盘阵列告警 (draft)"}, author_id=None, actor="test")
    session.commit()

    assert [a.id for a, _ in search(session, "磁盘")] == [chinese]  # two characters inside a longer text
    assert [a.id for a, _ in search(session, "tunnel")] == [english, body_only]  # title hit ranks first
    assert [a.id for a, _ in search(session, "TUNNEL mtu")] == [body_only]  # every word must occur
    assert search(session, "内存") == [] and search(session, "100%") == []
    with_drafts = search(session, "磁盘", statuses=tuple(ArticleStatus))
    assert {a.id for a, _ in with_drafts} == {chinese, draft.id}
