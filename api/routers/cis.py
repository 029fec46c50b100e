"""/cis: the CMDB — configuration items and their change log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlmodel import Session, col, select

from api.deps import Caller, CurrentCaller, SessionDep, load_visible, require_roles
from models.cmdb.service import create_ci, delete_ci, update_ci
from models.cmdb.tables import (
    CIChange,
    CIChangePublic,
    CICreate,
    CIPublic,
    CIType,
    CIUpdate,
    ConfigurationItem,
)
from models.core.types import Id
from models.directory.roles import RoleKey
from models.tenancy import visible

router = APIRouter(prefix="/cis", tags=["cmdb"])
Editor = Annotated[
    Caller,
    Depends(require_roles(RoleKey.ENGINEER, RoleKey.PROJECT_MANAGER, RoleKey.CHANGE_MANAGER)),
]


def _get(session: Session, ci_id: Id, caller: Caller) -> ConfigurationItem:
    return load_visible(session, caller, ConfigurationItem, ci_id, "configuration item")


@router.get("", response_model=list[CIPublic])
def list_cis(
    session: SessionDep,
    caller: CurrentCaller,
    ci_type: CIType | None = None,
    location: str | None = None,
    tag: str | None = None,
    q: Annotated[str | None, Query(description="substring of name, hostname or IP")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ConfigurationItem]:
    """List CIs, filtered by type, location, tag or a search string."""
    query = (select(ConfigurationItem).where(visible(caller.scope, ConfigurationItem))
             .order_by(col(ConfigurationItem.id)))
    if ci_type is not None:
        query = query.where(ConfigurationItem.ci_type == ci_type)
    if location is not None:
        query = query.where(ConfigurationItem.location == location)
    if q:
        like = f"%{q}%"
        query = query.where(
            col(ConfigurationItem.name).ilike(like)
            | col(ConfigurationItem.hostname).ilike(like)
            | col(ConfigurationItem.ip).ilike(like)
        )
    if not tag:
        return list(session.exec(query.offset(offset).limit(limit)))
    # Tags live in a JSON list, which SQLite and PostgreSQL query differently: filter the
    # (already narrowed) rows here, then page.
    tagged = [ci for ci in session.exec(query) if tag in ci.tags]
    return tagged[offset : offset + limit]


@router.post("", response_model=CIPublic, status_code=status.HTTP_201_CREATED)
def post_ci(data: CICreate, session: SessionDep, caller: Editor) -> ConfigurationItem:
    """Add a CI; the change log records it as created."""
    ci = create_ci(session, data=data, actor=caller.actor)
    session.commit()
    return ci


@router.get("/{ci_id}", response_model=CIPublic)
def get_ci(ci_id: Id, session: SessionDep, caller: CurrentCaller) -> ConfigurationItem:
    """One CI."""
    return _get(session, ci_id, caller)


@router.patch("/{ci_id}", response_model=CIPublic)
def patch_ci(
    ci_id: Id, changes: CIUpdate, session: SessionDep, caller: Editor, reason: str | None = None
) -> ConfigurationItem:
    """Change some fields of a CI; the change log keeps before and after."""
    ci = update_ci(session, ci=_get(session, ci_id, caller), changes=changes, actor=caller.actor, reason=reason)
    session.commit()
    return ci


@router.delete("/{ci_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_ci(ci_id: Id, session: SessionDep, caller: Editor, reason: str | None = None) -> None:
    """Delete a CI; its change log stays."""
    delete_ci(session, ci=_get(session, ci_id, caller), actor=caller.actor, reason=reason)
    session.commit()


@router.get("/{ci_id}/changes", response_model=list[CIChangePublic])
def ci_changes(ci_id: Id, session: SessionDep, caller: CurrentCaller) -> list[CIChange]:
    """The CI's change log, oldest first (a deleted CI's log stays readable to those who see it)."""
    if session.get(ConfigurationItem, ci_id) is not None:
        _get(session, ci_id, caller)  # another tenant's CI: 404, as for the CI itself
    return list(session.exec(select(CIChange).where(CIChange.ci_id == ci_id, visible(caller.scope, CIChange))
                             .order_by(col(CIChange.id))))
