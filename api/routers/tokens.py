"""API tokens and on-call rosters."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, HTTPException, status
from sqlmodel import col, select

from api.deps import AdminCaller, Caller, CurrentCaller, SessionDep
from api.routers.people import get_person
from config.settings import get_settings
from models.core.audit import record_audit
from models.core.clock import utcnow
from models.core.types import Id
from models.directory.people import (
    ApiToken,
    ApiTokenCreate,
    ApiTokenIssued,
    ApiTokenPublic,
    OnCallShift,
    OnCallShiftCreate,
    OnCallShiftPublic,
)
from models.directory.roles import RoleKey
from models.directory.service import issue_token
from models.tenancy import visible

router = APIRouter(tags=["tokens"])


def _self_or_admin(caller: Caller, person_id: Id) -> None:
    if caller.person_id != person_id and not caller.has(RoleKey.ADMIN):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the token's owner or an admin may do this")


@router.post("/people/{person_id}/tokens", response_model=ApiTokenIssued, status_code=201)
def create_token(
    person_id: Id, data: ApiTokenCreate, session: SessionDep, caller: CurrentCaller
) -> ApiTokenIssued:
    """Issue a token; the secret is in this response only."""
    _self_or_admin(caller, person_id)
    get_person(session, person_id)
    expires_at = data.expires_at
    if person_id == caller.person_id:  # a token minting for its own person: always expires, never later
        days = get_settings().self_token_days
        longest = utcnow() + timedelta(days=days)
        if expires_at is not None and expires_at > longest:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"expires_at: a token you mint for yourself "
                                f"lasts at most {days} days (until {longest:%Y-%m-%d}); ask an admin for a longer one")
        expires_at = expires_at or longest
    token, secret = issue_token(
        session, person_id=person_id, actor=caller.actor, label=data.label, expires_at=expires_at
    )
    session.commit()
    return ApiTokenIssued(**token.model_dump(exclude={"token_hash"}), token=secret)


@router.get("/people/{person_id}/tokens", response_model=list[ApiTokenPublic])
def list_tokens(person_id: Id, session: SessionDep, caller: CurrentCaller) -> list[ApiToken]:
    """A person's tokens (never their secrets)."""
    _self_or_admin(caller, person_id)
    return list(session.exec(select(ApiToken).where(ApiToken.person_id == person_id)))


@router.delete("/tokens/{token_id}", response_model=ApiTokenPublic)
def revoke_token(token_id: Id, session: SessionDep, caller: CurrentCaller) -> ApiToken:
    """Revoke a token at once."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no token with id {token_id}")
    _self_or_admin(caller, token.person_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        record_audit(session, actor=caller.actor, action="token.revoked", record_type="api_token",
                     record_id=token_id, after={"prefix": token.prefix})
        session.commit()
    return token


@router.get("/rosters", response_model=list[OnCallShiftPublic])
def list_shifts(session: SessionDep, caller: CurrentCaller, role: RoleKey | None = None) -> list[OnCallShift]:
    """On-call shifts, optionally for one role."""
    query = select(OnCallShift).where(visible(caller.scope, OnCallShift)).order_by(col(OnCallShift.starts_at))
    if role is not None:
        query = query.where(OnCallShift.role_key == role.value)
    return list(session.exec(query))


@router.post("/rosters", response_model=OnCallShiftPublic, status_code=201)
def add_shift(data: OnCallShiftCreate, session: SessionDep, caller: AdminCaller) -> OnCallShift:
    """Put a person on call for a role over a period (admin)."""
    get_person(session, data.person_id)
    shift = OnCallShift.model_validate(data)
    session.add(shift)
    session.flush()
    record_audit(session, actor=caller.actor, action="roster.added", record_type="on_call_shift",
                 record_id=shift.id, after=data.model_dump(mode="json"))
    session.commit()
    return shift


@router.delete("/rosters/{shift_id}", status_code=204)
def remove_shift(shift_id: Id, session: SessionDep, caller: AdminCaller) -> None:
    """Remove a shift (admin)."""
    shift = session.get(OnCallShift, shift_id)
    if shift is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no shift with id {shift_id}")
    record_audit(session, actor=caller.actor, action="roster.removed", record_type="on_call_shift",
                 record_id=shift_id, before=shift.model_dump(mode="json"))
    session.delete(shift)
    session.commit()
