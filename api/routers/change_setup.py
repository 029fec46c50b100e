"""/change-templates, /change-windows, /change-freezes: what the change manager sets up once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from sqlmodel import Session, col, select

from api.deps import Caller, CurrentCaller, SessionDep, require_roles
from itss.runs import start_flow
from models.changes.service import create_template, edit_template
from models.changes.spec import FreezeCreate, TemplateCreate, WindowCreate
from models.changes.tables import ChangeFreeze, ChangeTemplate, ChangeWindow
from models.core.audit import record_audit
from models.core.types import Id
from models.directory.roles import RoleKey
from models.tenancy import visible

router = APIRouter(tags=["changes"])
ChangeManager = Annotated[Caller, Depends(require_roles(RoleKey.CHANGE_MANAGER))]


@router.get("/change-templates", response_model=list[ChangeTemplate])
def list_templates(session: SessionDep, caller: CurrentCaller) -> list[ChangeTemplate]:
    """The standard change templates (pre-authorised runbooks; provider staff only)."""
    return list(session.exec(select(ChangeTemplate).where(visible(caller.scope, ChangeTemplate))
                             .order_by(ChangeTemplate.name)))


TEMPLATE_APPROVAL = "template_approval/template_approval"


def _request_approval(session: Session, template: ChangeTemplate) -> ChangeTemplate:
    # The template is saved as pending either way: unusable until approved, so nothing runs unapproved.
    run_id = start_flow(TEMPLATE_APPROVAL, {"template_id": template.id, "version": template.version})
    if run_id is not None:
        template.approval_flow_run_id = run_id
        session.add(template)
        session.commit()
    return template


def _template(session: Session, template_id: int) -> ChangeTemplate:
    template = session.get(ChangeTemplate, template_id)
    if template is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no change template with id {template_id}")
    return template


@router.post("/change-templates", response_model=ChangeTemplate, status_code=status.HTTP_201_CREATED)
def post_template(data: TemplateCreate, session: SessionDep, caller: ChangeManager) -> ChangeTemplate:
    """Propose a standard change template (change manager): pending until the CAB approves it at a gate."""
    template = create_template(session, data=data, created_by=caller.person_id, actor=caller.actor)
    session.commit()
    return _request_approval(session, template)


@router.put("/change-templates/{template_id}", response_model=ChangeTemplate)
def put_template(template_id: int, data: TemplateCreate, session: SessionDep, caller: ChangeManager) -> ChangeTemplate:
    """A new version of the runbook (change manager): pending again until the CAB approves it."""
    template = edit_template(session, _template(session, template_id), data=data, edited_by=caller.person_id,
                             actor=caller.actor)
    session.commit()
    return _request_approval(session, template)


@router.post("/change-templates/{template_id}/approval", response_model=ChangeTemplate,
             status_code=status.HTTP_202_ACCEPTED)
def request_template_approval(template_id: int, session: SessionDep, caller: ChangeManager) -> ChangeTemplate:
    """Ask the CAB again for a pending template whose approval run did not start (Prefect was away)."""
    template = _template(session, template_id)
    if template.approval_status != "pending":
        raise HTTPException(status.HTTP_409_CONFLICT, f"template {template_id} is {template.approval_status}; "
                                                      "edit it (PUT) to submit a new version")
    if template.approval_flow_run_id is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"its approval is under way (flow run "
                                                      f"{template.approval_flow_run_id}): see GET /approvals")
    if _request_approval(session, template).approval_flow_run_id is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the template_approval deployment could not be "
                                                                 "started (is `itss up` running?); ask again")
    return template


@router.post("/change-templates/{template_id}/retire", response_model=ChangeTemplate)
def retire_template(template_id: Id, session: SessionDep, caller: ChangeManager) -> ChangeTemplate:
    """Withdraw a template: no new standard change may use it."""
    template = _template(session, template_id)
    template.active = False
    session.add(template)
    record_audit(session, actor=caller.actor, action="change_template.retired", record_type="change_template",
                 record_id=template_id)
    session.commit()
    return template


@router.get("/change-windows", response_model=list[ChangeWindow])
def list_windows(session: SessionDep, _caller: CurrentCaller) -> list[ChangeWindow]:
    """The recurring change windows."""
    return list(session.exec(select(ChangeWindow).order_by(col(ChangeWindow.id))))


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
def delete_window(window_id: Id, session: SessionDep, caller: ChangeManager) -> None:
    """Remove a change window."""
    _delete(session, ChangeWindow, window_id, caller, "change_window")


@router.get("/change-freezes", response_model=list[ChangeFreeze])
def list_freezes(session: SessionDep, _caller: CurrentCaller) -> list[ChangeFreeze]:
    """Freeze periods (statutory holidays are frozen too unless ITSS_FREEZE_STATUTORY_HOLIDAYS=false)."""
    return list(session.exec(select(ChangeFreeze).order_by(col(ChangeFreeze.starts_at))))


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
def delete_freeze(freeze_id: Id, session: SessionDep, caller: ChangeManager) -> None:
    """Remove a freeze period."""
    _delete(session, ChangeFreeze, freeze_id, caller, "change_freeze")


def _delete(session: Session, table: type, row_id: Id, caller: Caller, record_type: str) -> None:
    row = session.get(table, row_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {record_type.replace('_', ' ')} with id {row_id}")
    record_audit(session, actor=caller.actor, action=f"{record_type}.deleted", record_type=record_type,
                 record_id=row_id, before=row.model_dump(mode="json"))
    session.delete(row)
    session.commit()
