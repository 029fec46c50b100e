"""/sla: SLA policy sets (per fault class and measure: target and calendar)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from sqlmodel import Session, col, select

from api.deps import Caller, CurrentCaller, SessionDep, require_roles
from models.core.audit import record_audit
from models.core.rows import stored_id
from models.core.types import Id
from models.directory.roles import RoleKey
from models.directory.service import DuplicateError
from models.sla.policies import (
    SlaPolicy,
    SlaPolicyBase,
    SlaPolicySet,
    SlaPolicySetCreate,
    SlaPolicySetPublic,
)

router = APIRouter(prefix="/sla", tags=["sla"])
SlaOwner = Annotated[Caller, Depends(require_roles(RoleKey.SERVICE_LEVEL_MANAGER))]


def _public(session: Session, policy_set: SlaPolicySet) -> SlaPolicySetPublic:
    rows = session.exec(select(SlaPolicy).where(col(SlaPolicy.policy_set_id) == policy_set.id)
                        .order_by(col(SlaPolicy.id)))
    return SlaPolicySetPublic(
        **policy_set.model_dump(), policies=[SlaPolicyBase.model_validate(r.model_dump()) for r in rows]
    )


@router.get("/policy-sets", response_model=list[SlaPolicySetPublic])
def list_sets(session: SessionDep, _caller: CurrentCaller) -> list[SlaPolicySetPublic]:
    """Every SLA policy set with its targets."""
    return [_public(session, s) for s in session.exec(select(SlaPolicySet).order_by(col(SlaPolicySet.id)))]


@router.get("/policy-sets/{set_id}", response_model=SlaPolicySetPublic)
def get_set(set_id: Id, session: SessionDep, _caller: CurrentCaller) -> SlaPolicySetPublic:
    """One SLA policy set."""
    found = session.get(SlaPolicySet, set_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no SLA policy set with id {set_id}")
    return _public(session, found)


@router.post("/policy-sets", response_model=SlaPolicySetPublic, status_code=status.HTTP_201_CREATED)
def post_set(data: SlaPolicySetCreate, session: SessionDep, caller: SlaOwner) -> SlaPolicySetPublic:
    """Add a policy set; it must give every fault class × measure exactly once."""
    keys = [(p.fault_class, p.measure) for p in data.policies]
    if len(keys) != len(set(keys)) or len(keys) != 6:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "policies: give exactly one target for each fault class (major, general) "
            "and measure (response, on_site, resolution) — 6 in all",
        )
    if session.exec(select(SlaPolicySet.id).where(SlaPolicySet.name == data.name)).first():
        raise DuplicateError("name", data.name, "SLA policy set names are unique")
    policy_set = SlaPolicySet(name=data.name, description=data.description)
    session.add(policy_set)
    session.flush()
    for policy in data.policies:
        session.add(SlaPolicy(policy_set_id=stored_id(policy_set), **policy.model_dump()))
    record_audit(session, actor=caller.actor, action="sla_policy_set.created", record_type="sla_policy_set",
                 record_id=policy_set.id, after=data.model_dump(mode="json"))
    session.commit()
    return _public(session, policy_set)
