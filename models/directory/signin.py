"""Signing in on a phone without typing a token: one-time sign-in links and page sessions.

A link is short-lived, single use and bound to one person; it is only ever sent to that person's
own channels. Using it opens a page session (the cookie holds the session's secret, never an API
token); sessions expire and can be revoked. Secrets are stored only as SHA-256.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Field, Session, SQLModel, col, select

from models.core.clock import utcnow
from models.core.types import UTCDateTime
from models.directory.tokens import hash_token, new_token

LINK_PREFIX = "itss_link_"
SESSION_PREFIX = "itss_sess_"


class SigninLink(SQLModel, table=True):
    """A one-time sign-in link for one person."""

    __tablename__ = "signin_link"
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    secret_hash: str = Field(max_length=64, unique=True)
    purpose: str = Field(default="sign-in", max_length=60)  # "sign-in" (asked for) or "gate:<id>"
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PageSession(SQLModel, table=True):
    """A signed-in approval-page session."""

    __tablename__ = "page_session"
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    secret_hash: str = Field(max_length=64, unique=True)
    via: str = Field(max_length=20)  # "token" or "link"
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def issue_link(session: Session, *, person_id: int, ttl: timedelta, purpose: str = "sign-in") -> str:
    """A new one-time link secret for `person_id`, valid for `ttl`."""
    secret = LINK_PREFIX + new_token().removeprefix("itss_")
    session.add(SigninLink(person_id=person_id, secret_hash=hash_token(secret), purpose=purpose,
                           expires_at=utcnow() + ttl))
    session.flush()
    return secret


def peek_link(session: Session, secret: str) -> SigninLink | None:
    """The link if it is still usable (unused, unexpired), without using it."""
    link = session.exec(select(SigninLink).where(SigninLink.secret_hash == hash_token(secret))).first()
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        return None
    return link


def use_link(session: Session, secret: str) -> SigninLink | None:
    """Spend the link exactly once (a conditional UPDATE: of two simultaneous uses one wins); None if spent,
    expired or unknown."""
    now = utcnow()
    result = session.exec(  # type: ignore[call-overload]
        update(SigninLink)
        .where(col(SigninLink.secret_hash) == hash_token(secret), col(SigninLink.used_at).is_(None),
               col(SigninLink.expires_at) > now)
        .values(used_at=now))
    if result.rowcount != 1:
        return None
    return session.exec(select(SigninLink).where(SigninLink.secret_hash == hash_token(secret))).one()


def open_session(session: Session, *, person_id: int, via: str, ttl: timedelta) -> str:
    """A new page session for `person_id`; returns its secret (the cookie's value)."""
    secret = SESSION_PREFIX + new_token().removeprefix("itss_")
    session.add(PageSession(person_id=person_id, secret_hash=hash_token(secret), via=via,
                            expires_at=utcnow() + ttl))
    session.flush()
    return secret


def session_person(session: Session, secret: str) -> int | None:
    """The person of a live (unexpired, unrevoked) page session."""
    found = session.exec(select(PageSession).where(PageSession.secret_hash == hash_token(secret))).first()
    if found is None or found.revoked_at is not None or found.expires_at <= utcnow():
        return None
    return found.person_id


def revoke_sessions(session: Session, *, person_id: int | None = None, secret: str | None = None) -> int:
    """Revoke one session (by secret) or all of a person's live sessions; returns how many."""
    query = update(PageSession).where(col(PageSession.revoked_at).is_(None))
    if secret is not None:
        query = query.where(col(PageSession.secret_hash) == hash_token(secret))
    if person_id is not None:
        query = query.where(col(PageSession.person_id) == person_id)
    return session.exec(query.values(revoked_at=utcnow())).rowcount  # type: ignore[call-overload]
