"""/change-templates, /change-windows, /change-freezes: what the change manager sets up once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from sqlmodel import Session, select

from api.deps import Caller, CurrentCaller, SessionDep, require_roles
from models.audit import record_audit
from models.change_service import create_template
from models.change_spec import FreezeCreate, TemplateCreate, WindowCreate
from models.changes import ChangeFreeze, ChangeTemplate, ChangeWindow
from models.roles import RoleKey

router = APIRouter(tags=["changes"])
ChangeManager = Annotated[Caller, Depends(require_roles(RoleKey.CHANGE_MANAGER))]


@router.get("/change-templates", response_model=list[ChangeTemplate])
def list_templates(session: SessionDep, _caller: CurrentCaller) -> list[ChangeTemplate]:
    """The standard change templates (pre-authorised runbooks)."""
    return list(session.exec(select(ChangeTemplate).order_by(ChangeTemplate.name)))


@router.post("/change-templates", response_model=ChangeTemplate, status_code=status.HTTP_201_CREATED)
def post_template(data: TemplateCreate, session: SessionDep, caller: ChangeManager) -> ChangeTemplate:
    """Pre-authorise a standard change template (change manager); changes of it then run without approval."""
    template = create_template(session, data=data, created_by=caller.person.id, actor=caller.actor)
    session.commit()
    return template


@router.post("/change-templates/{template_id}/retire", response_model=ChangeTemplate)
def retire_template(template_id: int, session: SessionDep, caller: ChangeManager) -> ChangeTemplate:
    """Withdraw a template: no new standard change may use it."""
    template = session.get(ChangeTemplate, template_id)
    if template is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no change template with id {template_id}")
    template.active = False
    session.add(template)
    record_audit(session, actor=caller.actor, action="change_template.retired", record_type="change_template",
                 record_id=template_id)
    session.commit()
    return template


@router.get("/change-windows", response_model=list[ChangeWindow])
def list_windows(session: SessionDep, _caller: CurrentCaller) -> list[ChangeWindow]:
    """The recurring change windows."""
    return list(session.exec(select(ChangeWindow).order_by(ChangeWindow.id)))


@router.post("/change-windows", response_model=ChangeWindow, status_code=status.HTTP_201_CREATED)
def post_window(data: WindowCreate, session: SessionDep, caller: ChangeManager) -> ChangeWindow:
    """Add a change window (change manager)."""
    window = ChangeWindow(**data.model_dump())
    session.add(window)
    session.flush()
    record_audit(session, actor=caller.actor, action="change_window.created", record_type="change_window",
                 record_id=window.id, after=data.model_dump())
    session.commit()
    return window


@router.delete("/change-windows/{window_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_window(window_id: int, session: SessionDep, caller: ChangeManager) -> None:
    """Remove a change window."""
    _delete(session, ChangeWindow, window_id, caller, "change_window")


@router.get("/change-freezes", response_model=list[ChangeFreeze])
def list_freezes(session: SessionDep, _caller: CurrentCaller) -> list[ChangeFreeze]:
    """Freeze periods (statutory holidays are frozen too unless ITSS_FREEZE_STATUTORY_HOLIDAYS=false)."""
    return list(session.exec(select(ChangeFreeze).order_by(ChangeFreeze.starts_at)))


@router.post("/change-freezes", response_model=ChangeFreeze, status_code=status.HTTP_201_CREATED)
def post_freeze(data: FreezeCreate, session: SessionDep, caller: ChangeManager) -> ChangeFreeze:
    """Add a freeze period, e.g. 重大会议保障 (change manager)."""
    freeze = ChangeFreeze(**data.model_dump())
    session.add(freeze)
    session.flush()
    record_audit(session, actor=caller.actor, action="change_freeze.created", record_type="change_freeze",
                 record_id=freeze.id, after=data.model_dump(mode="json"))
    session.commit()
    return freeze


@router.delete("/change-freezes/{freeze_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_freeze(freeze_id: int, session: SessionDep, caller: ChangeManager) -> None:
    """Remove a freeze period."""
    _delete(session, ChangeFreeze, freeze_id, caller, "change_freeze")


def _delete(session: Session, table: type, row_id: int, caller: Caller, record_type: str) -> None:
    row = session.get(table, row_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {record_type.replace('_', ' ')} with id {row_id}")
    record_audit(session, actor=caller.actor, action=f"{record_type}.deleted", record_type=record_type,
                 record_id=row_id, before=row.model_dump(mode="json"))
    session.delete(row)
    session.commit()
