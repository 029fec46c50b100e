"""The release report (发布报告): plan, approvals, step log, verification, duration and outage."""

from __future__ import annotations

from collections import defaultdict

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from sqlmodel import Session, col, select

from models.changes.tables import ChangeRequest, ChangeStep, StepPhase
from models.cmdb.tables import ConfigurationItem
from models.core.db import session_scope
from models.core.rows import must_get
from models.gates.tables import ApprovalGate, ApprovalVote
from models.incidents.documents import store_document
from notifications.render import render_document

PHASES = [(StepPhase.DEPLOY, "Step log"), (StepPhase.VERIFY, "Verification"), (StepPhase.ROLLBACK, "Rollback"),
          (StepPhase.ROLLBACK_VERIFY, "Verification after rollback")]


def release_markdown(session: Session, change_id: int) -> str:
    """The report of one change as Markdown."""
    change = must_get(session, ChangeRequest, change_id)
    gates = list(session.exec(select(ApprovalGate).where(ApprovalGate.record_type == "change_request",
                                                         ApprovalGate.record_id == str(change_id))
                              .order_by(col(ApprovalGate.id))))
    votes: dict[int, list[str]] = defaultdict(list)
    for vote in session.exec(select(ApprovalVote).where(col(ApprovalVote.gate_id).in_([g.id for g in gates]))
                             .order_by(col(ApprovalVote.id))):
        comment = f": {vote.comment}" if vote.comment else ""
        votes[vote.gate_id].append(f"person:{vote.person_id} {vote.option}{comment}")
    steps: dict[StepPhase, list[ChangeStep]] = defaultdict(list)
    for step in session.exec(select(ChangeStep).where(ChangeStep.change_id == change_id)
                             .order_by(col(ChangeStep.phase), col(ChangeStep.position))):
        steps[step.phase].append(step)
    names = [ci.name for ci in (session.get(ConfigurationItem, i) for i in change.ci_ids) if ci is not None]
    duration = ((change.finished_at - change.started_at).total_seconds() / 60
                if change.started_at and change.finished_at else 0.0)
    return render_document("release_report", change=change, gates=gates, votes=votes, steps=steps, phases=PHASES,
                           ci_names=names, duration=duration)


@task(name="write-release-report", cache_policy=NO_CACHE)
def write_release_report(change_id: int) -> str:
    """Store the release report as a document and publish it as a Markdown artifact."""
    with session_scope() as session:
        body = release_markdown(session, change_id)
        store_document(session, kind="release_report", record_type="change_request", record_id=change_id,
                       title=f"发布报告 — change {change_id}", body_md=body)
    create_markdown_artifact(markdown=body, key=f"change-{change_id}-release-report",
                             description=f"Release report, change {change_id}")
    return body
