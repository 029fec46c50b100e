"""Contract services: create and update a contract with its phases, services, CIs and team."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, delete, select

from models.cmdb.tables import ConfigurationItem
from models.contracts.tables import (
    Contract,
    ContractCI,
    ContractCreate,
    ContractMember,
    ContractPhase,
    ContractPublic,
    ContractService,
    ContractUpdate,
    Phase,
    PhaseSpec,
    ServiceCatalogEntry,
    TeamMemberSpec,
    default_phases,
)
from models.core.audit import record_audit
from models.core.errors import FieldError
from models.core.rows import stored_id
from models.directory.people import Organisation, OrgKind, Person
from models.directory.reference import default_policy_set_id
from models.directory.roles import RoleKey
from models.directory.service import DuplicateError
from models.sla.policies import SlaPolicySet


class ReferenceError_(FieldError):
    """A field names a record that does not exist."""


def create_contract(session: Session, *, data: ContractCreate, actor: str) -> Contract:
    """Add a contract; default phases and the default SLA set fill what is left out."""
    if session.exec(select(Contract.id).where(Contract.code == data.code)).first() is not None:
        raise DuplicateError("code", data.code, "contract codes are unique; pick another")
    customer = session.get(Organisation, data.customer_id)
    if customer is None or customer.kind != OrgKind.CUSTOMER:
        raise ReferenceError_("customer_id", f"no customer organisation {data.customer_id}")
    policy_set_id = data.sla_policy_set_id or default_policy_set_id(session)
    if session.get(SlaPolicySet, policy_set_id) is None:
        raise ReferenceError_("sla_policy_set_id", f"no SLA policy set {policy_set_id}")
    contract = Contract.model_validate(data, update={"sla_policy_set_id": policy_set_id})
    session.add(contract)
    session.flush()
    phases = data.phases or [
        PhaseSpec(phase=p, starts_on=s, ends_on=e) for p, s, e in default_phases(data.starts_on, data.ends_on)
    ]
    for spec in phases:
        session.add(ContractPhase(contract_id=stored_id(contract), **spec.model_dump()))
    _set_links(session, stored_id(contract), data.service_codes, data.ci_ids, data.team)
    record_audit(session, actor=actor, action="contract.created", record_type="contract",
                 record_id=contract.id, after=data.model_dump(mode="json"))
    return contract


def update_contract(session: Session, *, contract: Contract, changes: ContractUpdate, actor: str) -> Contract:
    """Change a contract's name, status, SLA set, services, CIs or team."""
    before = contract_public(session, contract).model_dump(mode="json")
    values = changes.model_dump(exclude_unset=True)
    for key in ("name", "status", "sla_policy_set_id"):
        if key in values and values[key] is not None:
            setattr(contract, key, values[key])
    if contract.sla_policy_set_id and session.get(SlaPolicySet, contract.sla_policy_set_id) is None:
        raise ReferenceError_("sla_policy_set_id", f"no SLA policy set {contract.sla_policy_set_id}")
    session.add(contract)
    _set_links(session, stored_id(contract), changes.service_codes, changes.ci_ids, changes.team)
    after = contract_public(session, contract).model_dump(mode="json")
    record_audit(session, actor=actor, action="contract.updated", record_type="contract",
                 record_id=contract.id, before=before, after=after)
    return contract


def _set_links(
    session: Session,
    contract_id: int,
    service_codes: list[str] | None,
    ci_ids: list[int] | None,
    team: list[TeamMemberSpec] | None,
) -> None:
    if service_codes is not None:
        services = {
            s.code: stored_id(s)
            for s in session.exec(select(ServiceCatalogEntry).where(col(ServiceCatalogEntry.code).in_(service_codes)))
        }
        missing = sorted(set(service_codes) - services.keys())
        if missing:
            raise ReferenceError_("service_codes", f"unknown service codes {missing}; add them at POST /services")
        session.exec(delete(ContractService).where(col(ContractService.contract_id) == contract_id))
        for service_id in services.values():
            session.add(ContractService(contract_id=contract_id, service_id=service_id))
    if ci_ids is not None:
        known = set(session.exec(select(ConfigurationItem.id).where(col(ConfigurationItem.id).in_(ci_ids))))
        missing_ci = sorted(set(ci_ids) - known)
        if missing_ci:
            raise ReferenceError_("ci_ids", f"unknown configuration items {missing_ci}")
        session.exec(delete(ContractCI).where(col(ContractCI.contract_id) == contract_id))
        for ci_id in sorted(set(ci_ids) & known):  # = known, typed as the ints asked for
            session.add(ContractCI(contract_id=contract_id, ci_id=ci_id))
    if team is not None:
        people = {m.person_id for m in team}
        known_people = set(session.exec(select(Person.id).where(col(Person.id).in_(people))))
        if people - known_people:
            raise ReferenceError_("team", f"unknown people {sorted(people - known_people)}")
        session.exec(delete(ContractMember).where(col(ContractMember.contract_id) == contract_id))
        for member in {(m.person_id, m.role_key.value) for m in team}:
            session.add(ContractMember(contract_id=contract_id, person_id=member[0], role_key=member[1]))
    session.flush()


def contract_public(session: Session, contract: Contract) -> ContractPublic:
    """A contract with its phases, service codes, CI ids and team."""
    phases = session.exec(
        select(ContractPhase).where(col(ContractPhase.contract_id) == contract.id)
        .order_by(col(ContractPhase.starts_on))
    )
    codes = session.exec(
        select(ServiceCatalogEntry.code)
        .join(ContractService, col(ContractService.service_id) == col(ServiceCatalogEntry.id))
        .where(ContractService.contract_id == contract.id)
    )
    ci_ids = session.exec(select(ContractCI.ci_id).where(ContractCI.contract_id == contract.id))
    team = session.exec(select(ContractMember).where(ContractMember.contract_id == contract.id))
    return ContractPublic(
        **contract.model_dump(),
        phases=[PhaseSpec(phase=p.phase, starts_on=p.starts_on, ends_on=p.ends_on) for p in phases],
        service_codes=sorted(codes),
        ci_ids=sorted(ci_ids),
        team=[TeamMemberSpec(person_id=m.person_id, role_key=RoleKey(m.role_key)) for m in team],
    )


def phase_on(session: Session, *, contract_id: int, day: date) -> Phase | None:
    """The contract phase a day falls in, if any."""
    return session.exec(
        select(col(ContractPhase.phase)).where(
            col(ContractPhase.contract_id) == contract_id, col(ContractPhase.starts_on) <= day,
            col(ContractPhase.ends_on) >= day
        )
    ).first()
