"""Problem services: log, investigate, known error (workaround as a KB article), fix by a change, close."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.changes.tables import ChangeRequest, ChangeStatus
from models.cmdb.tables import ConfigurationItem
from models.core.audit import record_audit
from models.core.clock import utcnow
from models.core.errors import FieldError
from models.core.rows import stored_id
from models.incidents.tables import Incident, IncidentCI, log_event, symptom_key
from models.inspection.tables import CheckStatus, InspectionResult
from models.knowledge.service import create_article
from models.knowledge.tables import KnowledgeArticle
from models.problems.rules import INSPECTION_REPEATS, INSPECTION_WINDOW, RECURRENCE_WINDOW, close_refusal, move_refusal
from models.problems.tables import OPEN_STATUSES, Problem, ProblemCreate, ProblemSource, ProblemStatus

FAILED_CHANGE = {ChangeStatus.REJECTED, ChangeStatus.ROLLED_BACK, ChangeStatus.ROLLBACK_FAILED,
                 ChangeStatus.WINDOW_MISSED}


class ProblemStateError(ValueError):
    """The problem is not in a state that allows this step (the API answers 409)."""


def _move(session: Session, problem: Problem, status: ProblemStatus, *, actor: str, detail: str | None = None) -> None:
    before = problem.status
    problem.status = status
    session.add(problem)
    record_audit(session, actor=actor, action=f"problem.{status.value}", record_type="problem",
                 record_id=problem.id, before={"status": before.value}, after={"status": status.value}, detail=detail)


def _check(step: str, problem: Problem) -> None:
    refusal = move_refusal(step, problem.status)
    if refusal:
        raise ProblemStateError(refusal)


def log_problem(session: Session, *, data: ProblemCreate, actor: str) -> Problem:
    """A problem logged by hand, audited; its incidents are linked."""
    if data.ci_id is not None and session.get(ConfigurationItem, data.ci_id) is None:
        raise FieldError("ci_id", f"no configuration item {data.ci_id}: see GET /cis")
    incidents = list(session.exec(select(Incident.id).where(col(Incident.id).in_(data.incident_ids))))
    if set(data.incident_ids) - set(incidents):
        raise FieldError("incident_ids", f"unknown incidents {sorted(set(data.incident_ids) - set(incidents))}")
    key = symptom_key(data.symptom)
    if session.exec(select(Problem.id).where(Problem.ci_id == data.ci_id, Problem.symptom_key == key)).first():
        raise FieldError("symptom", "a problem with this CI and symptom exists already: add to that one")
    problem = Problem(title=data.title, description=data.description, ci_id=data.ci_id, symptom_key=key,
                      incident_ids=sorted(set(data.incident_ids)), source=ProblemSource.MANUAL)
    session.add(problem)
    session.flush()
    record_audit(session, actor=actor, action="problem.logged", record_type="problem", record_id=problem.id,
                 after={"title": problem.title, "source": "manual"})
    return problem


def investigate(session: Session, problem: Problem, *, owner_id: int, actor: str) -> None:
    """Someone takes the problem on to find its root cause."""
    _check("investigate", problem)
    problem.owner_id = owner_id
    _move(session, problem, ProblemStatus.INVESTIGATING, actor=actor)


def known_error(session: Session, problem: Problem, *, root_cause: str, workaround: str, author_id: int,
                actor: str) -> KnowledgeArticle:
    """Root cause found: the problem becomes a known error, its workaround a KB article (to review and publish)."""
    _check("known_error", problem)
    problem.root_cause, problem.workaround = root_cause, workaround
    problem.known_error_at = utcnow()
    # The article's title holds 300 characters, like the problem's: a long problem title is shortened
    # (an over-long row was stored and then broke every read of the knowledge list).
    title = f"Known error: {problem.title or problem.symptom_key}"
    article = create_article(session, data={
        "title": title if len(title) <= 300 else title[:299] + "…",
        "symptom": problem.title or problem.symptom_key,
        "cause": root_cause, "resolution": workaround, "ci_ids": [problem.ci_id] if problem.ci_id else [],
        "tags": ["known-error"]}, author_id=author_id, actor=actor, source_type="problem", source_id=problem.id)
    problem.article_id = article.id
    _move(session, problem, ProblemStatus.KNOWN_ERROR, actor=actor, detail=f"workaround as KB-{article.id}")
    return article


def link_fix(session: Session, problem: Problem, *, change_id: int, actor: str) -> None:
    """The change request that removes the root cause; it goes through the release flow."""
    _check("fix", problem)
    change = session.get(ChangeRequest, change_id)
    if change is None:
        raise FieldError("change_id", f"no change request {change_id}: create it under /changes first")
    if change.status in FAILED_CHANGE:
        raise FieldError("change_id", 
                         f"change {change_id} is {change.status.value}: link a change that can still succeed")
    if change.finished_at is not None and change.finished_at < problem.created_at:
        # The fault recurred after that change, or there would be no problem: it is not the fix, and
        # taking its old finish as the fix time would skip the quiet period.
        raise FieldError("change_id", f"change {change_id} finished before this problem was logged: "
                                      "link the change that removes the root cause")
    problem.change_id = change_id
    _move(session, problem, ProblemStatus.FIX_SCHEDULED, actor=actor, detail=f"fix: change {change_id}")
    refresh_fix(session, problem, actor=actor)


def refresh_fix(session: Session, problem: Problem, *, actor: str) -> None:
    """Note when the fixing change succeeded; a failed one sends the problem back to known error."""
    if problem.status != ProblemStatus.FIX_SCHEDULED or problem.change_id is None:
        return
    change = session.get(ChangeRequest, problem.change_id)
    if change is None:
        return
    if change.status == ChangeStatus.SUCCEEDED and problem.fixed_at is None:
        problem.fixed_at = change.finished_at or utcnow()
        session.add(problem)
        record_audit(session, actor=actor, action="problem.fixed", record_type="problem", record_id=problem.id,
                     after={"change_id": change.id, "fixed_at": problem.fixed_at.isoformat()})
    elif change.status in FAILED_CHANGE:
        problem.change_id = None
        _move(session, problem, ProblemStatus.KNOWN_ERROR, actor=actor,
              detail=f"change {change.id} {change.status.value}: link another fix")


def close(session: Session, problem: Problem, *, actor: str, quiet_days: int, now: datetime | None = None) -> None:
    """Close the problem once its fix succeeded and the fault stayed away for `quiet_days`."""
    refresh_fix(session, problem, actor=actor)
    refusal = close_refusal(status=problem.status, fixed_at=problem.fixed_at,
                            last_recurrence_at=problem.last_recurrence_at, now=now or utcnow(), quiet_days=quiet_days)
    if refusal:
        raise ProblemStateError(refusal)
    problem.closed_at = now or utcnow()
    _move(session, problem, ProblemStatus.CLOSED, actor=actor)


def close_quiet(session: Session, *, quiet_days: int, now: datetime | None = None) -> list[int]:
    """Close every problem whose fix succeeded and stayed quiet long enough (the housekeeping job)."""
    closed = []
    for problem in session.exec(select(Problem).where(Problem.status == ProblemStatus.FIX_SCHEDULED)):
        try:
            close(session, problem, actor="system:problems", quiet_days=quiet_days, now=now)
        except ProblemStateError:
            continue
        closed.append(stored_id(problem))
    return closed


def check_recurrence(session: Session, incident: Incident) -> list[Problem]:
    """Open (or extend) a problem record for each CI whose symptom was seen in the 90 days before."""
    key = symptom_key(incident.symptom or incident.title)
    ci_ids = list(session.exec(select(IncidentCI.ci_id).where(IncidentCI.incident_id == incident.id)))
    problems = []
    for ci_id in ci_ids:
        earlier = session.exec(
            select(Incident).join(IncidentCI, col(IncidentCI.incident_id) == col(Incident.id))
            .where(IncidentCI.ci_id == ci_id, Incident.id != incident.id,
                   Incident.reported_at >= incident.reported_at - RECURRENCE_WINDOW,
                   Incident.reported_at <= incident.reported_at)
        ).all()
        same = [stored_id(i) for i in earlier if symptom_key(i.symptom or i.title) == key]
        if not same:
            continue
        problem = session.exec(select(Problem).where(Problem.ci_id == ci_id, Problem.symptom_key == key)).first()
        if problem is None:
            problem = Problem(ci_id=ci_id, symptom_key=key, incident_ids=sorted({*same, stored_id(incident)}),
                              title=incident.title[:300])
        else:
            problem.incident_ids = sorted({*problem.incident_ids, *same, stored_id(incident)})
        session.add(problem)
        problems.append(problem)
    session.flush()
    return problems


def _matching(session: Session, incident: Incident) -> list[Problem]:
    key = symptom_key(incident.symptom or incident.title)
    ci_ids = list(session.exec(select(IncidentCI.ci_id).where(IncidentCI.incident_id == incident.id)))
    if not ci_ids:
        return []
    return list(session.exec(select(Problem).where(col(Problem.ci_id).in_(ci_ids), Problem.symptom_key == key)))


def link_incident(session: Session, incident: Incident, *, actor: str) -> list[Problem]:
    """Link a new incident to the open problems of its CI and symptom; a recurrence after a fix is recorded.

    Returns the known errors among them (their workaround goes into the incident's gate)."""
    known = []
    for problem in _matching(session, incident):
        if problem.status == ProblemStatus.CLOSED:
            continue
        if incident.id not in problem.incident_ids:
            problem.incident_ids = sorted({*problem.incident_ids, stored_id(incident)})
            log_event(session, stored_id(incident), actor=actor, kind="problem_linked",
                      detail=f"problem {problem.id}: {problem.title}", data={"problem": problem.id})
        note_recurrence(session, problem, incident, actor=actor)
        session.add(problem)
        if problem.workaround and problem.status in (ProblemStatus.KNOWN_ERROR, ProblemStatus.FIX_SCHEDULED):
            known.append(problem)
    session.flush()
    return known


def note_recurrence(session: Session, problem: Problem, incident: Incident, *, actor: str) -> None:
    """A fault seen after its fix succeeded (or after closing) means the fix did not hold: reopen."""
    fixed = problem.fixed_at or problem.closed_at
    if fixed is None or incident.reported_at < fixed:
        return
    problem.last_recurrence_at = incident.reported_at
    if problem.status == ProblemStatus.CLOSED:
        problem.closed_at = None
        _move(session, problem, ProblemStatus.INVESTIGATING, actor=actor, detail=f"recurred: incident {incident.id}")
    elif problem.status == ProblemStatus.FIX_SCHEDULED:
        problem.fixed_at, problem.change_id = None, None
        _move(session, problem, ProblemStatus.KNOWN_ERROR, actor=actor, detail=f"recurred: incident {incident.id}")


def from_inspections(session: Session, *, now: datetime | None = None) -> list[int]:
    """Problems for checks failing on the same CI in 3+ inspection runs within two weeks; returns new ids."""
    since = (now or utcnow()) - INSPECTION_WINDOW
    rows = session.exec(select(InspectionResult.ci_id, InspectionResult.check_key,
                               func.count(func.distinct(InspectionResult.run_id)))
                        .where(col(InspectionResult.status).in_([CheckStatus.WARNING, CheckStatus.CRITICAL]),
                               InspectionResult.checked_at >= since)
                        .group_by(col(InspectionResult.ci_id), col(InspectionResult.check_key))
                        .having(func.count(func.distinct(InspectionResult.run_id)) >= INSPECTION_REPEATS))
    created = []
    for ci_id, check_key, runs in rows:
        key = symptom_key(f"inspection {check_key}")
        if session.exec(select(Problem.id).where(Problem.ci_id == ci_id, Problem.symptom_key == key)).first():
            continue
        problem = Problem(ci_id=ci_id, symptom_key=key, source=ProblemSource.INSPECTION,
                          title=f"Inspection check {check_key} failing repeatedly",
                          description=f"{runs} inspection runs in {INSPECTION_WINDOW.days} days found it abnormal")
        session.add(problem)
        session.flush()
        record_audit(session, actor="system:problems", action="problem.logged", record_type="problem",
                     record_id=problem.id, after={"source": "inspection", "check": check_key, "runs": int(runs)})
        created.append(stored_id(problem))
    return created


def open_count(session: Session) -> int:
    """Problems not closed."""
    return int(session.exec(select(func.count()).select_from(Problem)
                            .where(col(Problem.status).in_(OPEN_STATUSES))).one())
