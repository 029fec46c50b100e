"""/audit: read the append-only audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlmodel import col, select

from api.deps import Caller, SessionDep, require_roles
from models.core.audit import AuditEvent, AuditEventPublic
from models.directory.roles import RoleKey
from models.tenancy import visible

router = APIRouter(prefix="/audit", tags=["audit"])
Auditor = Annotated[
    Caller, Depends(require_roles(RoleKey.OPS_MANAGER, RoleKey.PROJECT_MANAGER, RoleKey.SERVICE_LEVEL_MANAGER))
]


@router.get("", response_model=list[AuditEventPublic])
def list_audit(
    session: SessionDep,
    caller: Auditor,
    record_type: str | None = None,
    record_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditEvent]:
    """Audit entries, newest first, filtered by record, actor or action."""
    query = select(AuditEvent).where(visible(caller.scope, AuditEvent)).order_by(col(AuditEvent.id).desc()).limit(limit)
    for column, value in (
        (AuditEvent.record_type, record_type), (AuditEvent.record_id, record_id),
        (AuditEvent.actor, actor), (AuditEvent.action, action),
    ):
        if value is not None:
            query = query.where(column == value)
    return list(session.exec(query))
