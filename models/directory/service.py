"""People directory services: create people with roles, issue and check tokens, find who is on duty."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from models.core.audit import record_audit
from models.core.clock import utcnow
from models.core.rows import stored_id
from models.directory.people import ApiToken, OnCallShift, Person, RoleMembership
from models.directory.roles import RoleKey
from models.directory.tokens import hash_token, new_token, token_prefix


class DuplicateError(ValueError):
    """A unique field already holds this value."""

    def __init__(self, field: str, value: object, hint: str) -> None:
        super().__init__(f"{field} {value!r} already exists; {hint}")
        self.field = field


def create_person(
    session: Session,
    *,
    name: str,
    roles: list[RoleKey],
    actor: str,
    email: str | None = None,
    display_name: str | None = None,
    phone: str | None = None,
    organisation_id: int | None = None,
    notify_urls: list[str] | None = None,
) -> Person:
    """Add a person with their roles; raises DuplicateError when the name is taken."""
    if session.exec(select(Person.id).where(Person.name == name)).first() is not None:
        raise DuplicateError("name", name, "pick another name or update that person")
    person = Person(
        name=name,
        email=email,
        display_name=display_name,
        phone=phone,
        organisation_id=organisation_id,
        notify_urls="\n".join(notify_urls or []),
    )
    session.add(person)
    session.flush()
    set_roles(session, person_id=stored_id(person), roles=roles)
    record_audit(
        session, actor=actor, action="person.created", record_type="person", record_id=person.id,
        after={"name": name, "roles": sorted(r.value for r in roles)},
    )
    return person


def active_admin_count(session: Session) -> int:
    """How many active people hold the admin role (organisation-wide)."""
    rows = session.exec(
        select(Person.id).join(RoleMembership, col(RoleMembership.person_id) == col(Person.id))
        .where(RoleMembership.role_key == RoleKey.ADMIN.value, col(RoleMembership.contract_id).is_(None),
               col(Person.active).is_(True))
        .distinct()
    )
    return len(list(rows))


def set_roles(session: Session, *, person_id: int, roles: list[RoleKey]) -> None:
    """Replace a person's organisation-wide roles."""
    for membership in session.exec(
        select(RoleMembership).where(
            RoleMembership.person_id == person_id, col(RoleMembership.contract_id).is_(None)
        )
    ):
        session.delete(membership)
    session.flush()
    for role in sorted(set(roles)):
        session.add(RoleMembership(person_id=person_id, role_key=role.value))
    session.flush()


def roles_of(session: Session, *, person_id: int) -> set[str]:
    """Every role key a person holds, in any contract."""
    return set(
        session.exec(select(RoleMembership.role_key).where(RoleMembership.person_id == person_id))
    )


def issue_token(
    session: Session,
    *,
    person_id: int,
    actor: str,
    label: str = "default",
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for a person; returns the row and the secret (shown once, never stored)."""
    secret = new_token()
    token = ApiToken(
        person_id=person_id,
        label=label,
        prefix=token_prefix(secret),
        token_hash=hash_token(secret),
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    record_audit(
        session, actor=actor, action="token.issued", record_type="api_token", record_id=token.id,
        after={"person_id": person_id, "label": label, "prefix": token.prefix},
    )
    return token, secret


def authenticate(session: Session, *, secret: str, commit: bool = True) -> Person | None:
    """The active person a valid, unrevoked, unexpired token belongs to, else None.

    With `commit=False` the last-used touch is left in the session for the caller's transaction."""
    token = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(secret))).first()
    now = utcnow()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    person = session.get(Person, token.person_id)
    if person is None or not person.active:
        return None
    # Touch at most once a minute: a write per request would serialise SQLite under load.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now
        session.add(token)
        if commit:
            session.commit()
    return person


def on_duty(session: Session, *, role: RoleKey, at: datetime, contract_id: int | None = None) -> list[Person]:
    """People rostered for `role` at `at`; with no roster entry, everyone holding the role."""
    shifts = select(OnCallShift.person_id).where(
        OnCallShift.role_key == role.value, OnCallShift.starts_at <= at, OnCallShift.ends_at > at
    )
    if contract_id is not None:
        shifts = shifts.where(
            (col(OnCallShift.contract_id) == contract_id) | col(OnCallShift.contract_id).is_(None)
        )
    person_ids = set(session.exec(shifts))
    if not person_ids:
        person_ids = set(
            session.exec(select(RoleMembership.person_id).where(RoleMembership.role_key == role.value))
        )
    if not person_ids:
        return []
    return list(
        session.exec(
            select(Person).where(col(Person.id).in_(person_ids), Person.active == True)  # noqa: E712
            .order_by(col(Person.id))
        )
    )
