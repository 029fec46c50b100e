"""/contracts and /services: service contracts and the service catalogue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from sqlmodel import col, select

from api.deps import Caller, CurrentCaller, SessionDep, load_visible, require_roles
from models.contracts.service import (
    ReferenceError_,
    contract_public,
    create_contract,
    update_contract,
)
from models.contracts.tables import (
    Contract,
    ContractCreate,
    ContractPublic,
    ContractUpdate,
    ServiceCatalogEntry,
    ServiceCatalogEntryCreate,
    ServiceCatalogEntryPublic,
)
from models.core.audit import record_audit
from models.core.types import Id
from models.directory.roles import RoleKey
from models.directory.service import DuplicateError
from models.tenancy import visible

router = APIRouter(tags=["contracts"])
Manager = Annotated[Caller, Depends(require_roles(RoleKey.PROJECT_MANAGER, RoleKey.SERVICE_LEVEL_MANAGER))]


def _unprocessable(exc: ReferenceError_) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))


@router.get("/contracts", response_model=list[ContractPublic])
def list_contracts(session: SessionDep, caller: CurrentCaller) -> list[ContractPublic]:
    """The contracts the caller sees, with their phases, scope and team."""
    query = select(Contract).where(visible(caller.scope, Contract)).order_by(col(Contract.id))
    return [contract_public(session, c) for c in session.exec(query)]


@router.post("/contracts", response_model=ContractPublic, status_code=status.HTTP_201_CREATED)
def post_contract(data: ContractCreate, session: SessionDep, caller: Manager) -> ContractPublic:
    """Add a contract (project or service level manager)."""
    try:
        contract = create_contract(session, data=data, actor=caller.actor)
    except ReferenceError_ as exc:
        session.rollback()
        raise _unprocessable(exc) from None
    session.commit()
    return contract_public(session, contract)


@router.get("/contracts/{contract_id}", response_model=ContractPublic)
def get_contract(contract_id: Id, session: SessionDep, caller: CurrentCaller) -> ContractPublic:
    """One contract."""
    contract = load_visible(session, caller, Contract, contract_id, "contract")
    return contract_public(session, contract)


@router.patch("/contracts/{contract_id}", response_model=ContractPublic)
def patch_contract(
    contract_id: Id, changes: ContractUpdate, session: SessionDep, caller: Manager
) -> ContractPublic:
    """Change a contract's name, status, SLA set, services, CIs or team."""
    contract = load_visible(session, caller, Contract, contract_id, "contract")
    try:
        update_contract(session, contract=contract, changes=changes, actor=caller.actor)
    except ReferenceError_ as exc:
        session.rollback()
        raise _unprocessable(exc) from None
    session.commit()
    return contract_public(session, contract)


@router.get("/services", response_model=list[ServiceCatalogEntryPublic])
def list_services(session: SessionDep, _caller: CurrentCaller) -> list[ServiceCatalogEntry]:
    """The service catalogue."""
    return list(session.exec(select(ServiceCatalogEntry).order_by(ServiceCatalogEntry.code)))


@router.post("/services", response_model=ServiceCatalogEntryPublic, status_code=status.HTTP_201_CREATED)
def post_service(data: ServiceCatalogEntryCreate, session: SessionDep, caller: Manager) -> ServiceCatalogEntry:
    """Add a catalogue entry."""
    if session.exec(select(ServiceCatalogEntry.id).where(ServiceCatalogEntry.code == data.code)).first():
        raise DuplicateError("code", data.code, "service codes are unique")
    entry = ServiceCatalogEntry.model_validate(data)
    session.add(entry)
    session.flush()
    record_audit(session, actor=caller.actor, action="service.created", record_type="service",
                 record_id=entry.id, after=data.model_dump(mode="json"))
    session.commit()
    return entry
