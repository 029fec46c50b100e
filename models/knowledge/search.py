"""Pure search rules for Chinese and English text: terms, matching and ranking.

Chinese has no spaces, so a query word is matched as a substring (a two-character word such as
磁盘 finds 服务器磁盘空间不足); for matching an incident's free text against articles, Chinese runs
are cut into overlapping two-character terms (bigrams) and English into words.
"""

from __future__ import annotations

import re

# Fields and their weight in the ranking: a hit in the title counts most.
FIELD_WEIGHTS = {"title": 5.0, "tags": 4.0, "symptom": 3.0, "cause": 1.5, "resolution": 1.0}
_WORDS = re.compile(r"[a-z0-9][a-z0-9._-]*|[\u3400-\u9fff\uf900-\ufaff]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
STOPWORDS = frozenset({"a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "in", "is", "it", "of",
                       "on", "or", "the", "to", "was", "were", "with", "not", "no"})
MAX_TERMS = 12


def query_terms(query: str) -> list[str]:
    """The search words of a query: whitespace/punctuation separated, lower-cased, de-duplicated."""
    terms: list[str] = []
    for word in _WORDS.findall(query.lower()):
        if word not in terms and word not in STOPWORDS:
            terms.append(word)
    return terms[:MAX_TERMS]


def text_terms(text: str) -> set[str]:
    """The terms of free text for matching: English words (3+ letters) and Chinese bigrams."""
    found: set[str] = set()
    for word in _WORDS.findall(text.lower()):
        if _CJK.match(word):
            found.update(word[i:i + 2] for i in range(max(len(word) - 1, 1)))
        elif len(word) >= 3 and word not in STOPWORDS:
            found.add(word)
    return found


def search_blob(title: str, symptom: str, cause: str, resolution: str, tags: list[str]) -> str:
    """The lower-cased text one substring search reads."""
    return "\n".join([title, symptom, cause, resolution, " ".join(tags)]).lower()


def rank(fields: dict[str, str], terms: list[str], use_count: int = 0) -> float:
    """Weighted field hits of `terms` (every term must occur somewhere, else 0); use breaks ties."""
    lowered = {name: value.lower() for name, value in fields.items()}
    score = 0.0
    for term in terms:
        hits = sum(FIELD_WEIGHTS.get(name, 1.0) * value.count(term) for name, value in lowered.items())
        if hits == 0:
            return 0.0
        score += hits
    return score + min(use_count, 100) / 1000


def match_share(article_terms: set[str], incident_terms: set[str]) -> float:
    """Share of the article's symptom terms found in the incident's text (0 when it has none)."""
    if not article_terms:
        return 0.0
    return len(article_terms & incident_terms) / len(article_terms)


def like_escape(term: str) -> str:
    """A LIKE pattern for `term` as a literal substring (escape character '\\')."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
