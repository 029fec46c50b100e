"""Knowledge review (001 §3.5.3, 000 §4.2): a draft article is reviewed, then published, through a gate."""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run

from tasks.gates import request_approval
from tasks.knowledge import begin_review, finish_review


@flow(name="knowledge_review")
def knowledge_review(article_id: int) -> str:
    """Technical support or the project manager (never the author) approves; the article is published."""
    spec = begin_review(article_id, str(flow_run.get_id()))
    outcome = request_approval(spec)
    return finish_review(article_id, outcome)
