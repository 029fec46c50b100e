"""/problems: problem records from recurring incidents, inspections or by hand, through their life cycle."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlmodel import Session, col, select

from api.deps import Caller, CurrentCaller, InternalRecords, SessionDep, require_roles
from config.settings import get_settings
from models.core.errors import FieldError
from models.core.types import Id
from models.directory.roles import RoleKey
from models.knowledge.tables import ArticlePublic
from models.problems import service
from models.problems.service import ProblemStateError
from models.problems.tables import FixLink, KnownError, Problem, ProblemCreate, ProblemPublic, ProblemStatus

router = APIRouter(prefix="/problems", tags=["problems"], dependencies=[InternalRecords])
Worker = Annotated[Caller, Depends(require_roles(RoleKey.ENGINEER, RoleKey.TECHNICAL_SUPPORT,
                                                 RoleKey.PROJECT_MANAGER))]
Manager = Annotated[Caller, Depends(require_roles(RoleKey.PROJECT_MANAGER, RoleKey.TECHNICAL_SUPPORT))]


class KnownErrorResult(ProblemPublic):
    article: ArticlePublic


def load(session: Session, problem_id: Id) -> Problem:
    """The problem, or 404."""
    problem = session.get(Problem, problem_id)
    if problem is None:
        raise HTTPException(404, f"no problem with id {problem_id}")
    return problem


def public(problem: Problem) -> ProblemPublic:
    return ProblemPublic.model_validate(problem.model_dump())


def _step(session: Session, action) -> None:
    try:
        action()
    except ProblemStateError as exc:
        session.rollback()
        raise HTTPException(409, str(exc)) from None
    except FieldError:
        session.rollback()
        raise
    session.commit()


@router.post("", response_model=ProblemPublic, status_code=201)
def log_problem(data: ProblemCreate, session: SessionDep, caller: Worker) -> ProblemPublic:
    """Log a problem by hand (a suspected underlying cause)."""
    problem = service.log_problem(session, data=data, actor=caller.actor)
    session.commit()
    return public(problem)


@router.get("", response_model=list[ProblemPublic])
def list_problems(session: SessionDep, _caller: CurrentCaller, status_: Annotated[
        ProblemStatus | None, Query(alias="status")] = None) -> list[ProblemPublic]:
    """Problems, newest first."""
    query = select(Problem).order_by(col(Problem.id).desc()).limit(500)
    if status_ is not None:
        query = query.where(Problem.status == status_)
    return [public(p) for p in session.exec(query)]


@router.get("/{problem_id}", response_model=ProblemPublic)
def get_problem(problem_id: Id, session: SessionDep, _caller: CurrentCaller) -> ProblemPublic:
    """One problem."""
    return public(load(session, problem_id))


@router.post("/{problem_id}/investigate", response_model=ProblemPublic)
def investigate(problem_id: Id, session: SessionDep, caller: Worker) -> ProblemPublic:
    """The caller takes the problem on to find its root cause."""
    problem = load(session, problem_id)
    _step(session, lambda: service.investigate(session, problem, owner_id=caller.person_id, actor=caller.actor))
    return public(problem)


@router.post("/{problem_id}/known-error", response_model=KnownErrorResult)
def known_error(problem_id: Id, data: KnownError, session: SessionDep, caller: Worker) -> KnownErrorResult:
    """Root cause and workaround found: a known error; the workaround becomes a KB article to review and publish."""
    problem = load(session, problem_id)
    made = []
    _step(session, lambda: made.append(service.known_error(
        session, problem, root_cause=data.root_cause, workaround=data.workaround, author_id=caller.person_id,
        actor=caller.actor)))
    return KnownErrorResult(**public(problem).model_dump(), article=ArticlePublic.model_validate(made[0].model_dump()))


@router.post("/{problem_id}/fix", response_model=ProblemPublic)
def link_fix(problem_id: Id, data: FixLink, session: SessionDep, caller: Worker) -> ProblemPublic:
    """Link the change request that removes the root cause (it runs through the release flow)."""
    problem = load(session, problem_id)
    _step(session, lambda: service.link_fix(session, problem, change_id=data.change_id, actor=caller.actor))
    return public(problem)


@router.post("/{problem_id}/close", response_model=ProblemPublic)
def close(problem_id: Id, session: SessionDep, caller: Manager) -> ProblemPublic:
    """Close once the fixing change succeeded and the fault stayed away for the quiet period (a setting)."""
    problem = load(session, problem_id)
    _step(session, lambda: service.close(session, problem, actor=caller.actor,
                                         quiet_days=get_settings().problem_quiet_days))
    return public(problem)
