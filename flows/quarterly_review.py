"""Quarterly review (seeds 000 §3.3–3.4 and §6, 003 §4.4, 004 §3.2): the delivery check that runs itself."""

from __future__ import annotations

from prefect import flow
from prefect.runtime import flow_run

from config.settings import get_settings
from itss.run_names import run_name
from models.core.clock import utcnow
from models.review.tables import ReviewStatus
from tasks.gates import request_approval
from tasks.review import (
    announce_review,
    compile_review,
    customer_gate,
    pm_gate,
    set_review_status,
    start_reviews,
    which_quarter,
)


@flow(name="quarterly_review",
      flow_run_name=run_name("quarterly_review", "review-{contract_id}-{year}-q{quarter}"))
def quarterly_review(contract_id: int | None = None, year: int | None = None, quarter: int | None = None) -> str:
    """Compile the checklist of a contract's quarter (default: the previous one), then PM review, customer
    review, archive; without a contract, start one review per active contract."""
    # The operating timezone's date: at 08:00 Asia/Shanghai on 1 January it is still 31 December in UTC.
    year, quarter = which_quarter(year, quarter, utcnow().astimezone(get_settings().tz).date())
    if contract_id is None:
        runs = start_reviews(year, quarter)
        return f"started {len(runs)} contract review(s) for {year} Q{quarter}"
    run_id = str(flow_run.get_id())
    review_id = compile_review(contract_id, year, quarter, run_id)
    if review_id is None:
        return f"{year} Q{quarter} is archived already"
    title = f"contract {contract_id}, {year} Q{quarter}"
    announce_review(review_id, "ready")

    set_review_status(review_id, ReviewStatus.PM_REVIEW, run_id)
    pm = request_approval(pm_gate(review_id, title, contract_id))
    if pm.outcome != "approve":
        set_review_status(review_id, ReviewStatus.RETURNED, run_id, pm)
        announce_review(review_id, "returned")
        return ReviewStatus.RETURNED.value

    set_review_status(review_id, ReviewStatus.SUBMITTED, run_id, pm)
    announce_review(review_id, "submitted")  # the managers know it now waits for the customer
    customer = request_approval(customer_gate(review_id, title, contract_id))
    if customer.outcome != "accept":
        set_review_status(review_id, ReviewStatus.RETURNED, run_id, customer)
        announce_review(review_id, "returned")
        return ReviewStatus.RETURNED.value
    set_review_status(review_id, ReviewStatus.ARCHIVED, run_id, customer)
    announce_review(review_id, "archived")
    return ReviewStatus.ARCHIVED.value
