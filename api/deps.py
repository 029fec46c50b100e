"""Request dependencies: a session per request, the authenticated caller, role checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from models.core.db import get_engine
from models.core.rows import stored_id
from models.directory.people import Person
from models.directory.roles import RoleKey
from models.directory.service import authenticate, roles_of
from models.tenancy import Scope, find, scope_for


def get_session() -> Iterator[Session]:
    """One session per request."""
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


Row = TypeVar("Row")
SessionDep = Annotated[Session, Depends(get_session)]
_bearer = HTTPBearer(auto_error=False, description="An API token from `itss user add` or /people/{id}/tokens")


@dataclass(frozen=True)
class Caller:
    """The authenticated person and the roles they hold."""

    person: Person
    roles: frozenset[str]
    scope: Scope  # the contracts they see (models/tenancy.py): every read and write goes through it

    @property
    def actor(self) -> str:
        """How this caller appears in audit entries."""
        return f"person:{self.person.id}"

    @property
    def person_id(self) -> int:
        """The caller's person id (set: a signed-in person was read from the database)."""
        return stored_id(self.person)

    def has(self, *roles: RoleKey) -> bool:
        return any(role.value in self.roles for role in roles)


def caller_for(session: Session, secret: str, *, commit: bool = True) -> Caller:
    """The person behind a bearer token with their roles, or an HTTP 401."""
    person = authenticate(session, secret=secret, commit=commit)
    if person is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "invalid, expired or revoked token: ask an admin for a new one",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return make_caller(session, person)


def make_caller(session: Session, person: Person) -> Caller:
    """A signed-in person with their roles and tenancy scope."""
    roles = frozenset(roles_of(session, person_id=stored_id(person)))
    return Caller(person=person, roles=roles, scope=scope_for(session, person, roles))


def load_visible(session: Session, caller: Caller, model: type[Row], row_id: object, noun: str) -> Row:
    """The row if it exists and the caller's scope sees it, else 404 (another tenant's record looks unknown)."""
    row = find(session, caller.scope, model, row_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {noun} with id {row_id}")
    return row


def bearer_secret(credentials: HTTPAuthorizationCredentials | None) -> str:
    """The token of an `Authorization: Bearer` header, or an HTTP 401 saying how to send one."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return credentials.credentials


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def get_secret(credentials: Credentials) -> str:
    """The bearer token, not yet checked (for routes that authenticate on their own writer)."""
    return bearer_secret(credentials)


BearerSecret = Annotated[str, Depends(get_secret)]


def get_caller(session: SessionDep, secret: BearerSecret) -> Caller:
    """The person behind the bearer token, or 401."""
    return caller_for(session, secret)


CurrentCaller = Annotated[Caller, Depends(get_caller)]


def require_roles(*roles: RoleKey) -> Callable[[Caller], Caller]:
    """A dependency that lets through only callers holding one of `roles` (admins always)."""

    def check(caller: CurrentCaller) -> Caller:
        return check_roles(caller, roles)

    return check


def check_roles(caller: Caller, roles: tuple[RoleKey, ...]) -> Caller:
    """`caller` if they hold one of `roles` (admins always), else an HTTP 403 naming the roles."""
    if caller.has(RoleKey.ADMIN, *roles):
        return caller
    needed = ", ".join(r.value for r in roles) or "admin"
    held = ", ".join(sorted(caller.roles)) or "none"
    raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs one of the roles: {needed} (you have: {held})")


AdminCaller = Annotated[Caller, Depends(require_roles())]


def internal_records(caller: CurrentCaller) -> None:
    """The knowledge base, problems and drills are the provider's internal working records (models/tenancy.py):
    customer-side people do not read or change them."""
    if not caller.scope.internal:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "knowledge articles, problems and drills are the service provider's internal records; "
                            "ask your project manager for what concerns your contract (incident reports, reviews)")


InternalRecords = Depends(internal_records)
