"""Which contracts a person sees: the scope computed once per request, and the clause on a contract column.

The rule is README "Tenancy" (and `models/tenancy.py`, which applies it to every table). This part
sits with the contracts so a domain's own service (change figures, the incident import) can filter by
contract without importing the tenancy module, which imports every domain.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_, true
from sqlmodel import Session, col, select

from models.contracts.tables import Contract, ContractMember
from models.core.rows import id_of, stored_id
from models.directory.people import Organisation, OrgKind, Person, RoleMembership
from models.directory.roles import RoleKey


@dataclass(frozen=True)
class Scope:
    """What one person may see: a set of contracts (None: all) and whether internal records too."""

    contract_ids: frozenset[int] | None
    internal: bool
    organisation_id: int | None = None

    @property
    def unrestricted(self) -> bool:
        """Sees every record (admins, unscoped staff, the system)."""
        return self.contract_ids is None and self.internal


EVERYTHING = Scope(contract_ids=None, internal=True)


def is_customer_side(roles: Iterable[str], org: Organisation | None) -> bool:
    """Anyone (but an admin) of a customer organisation: its representatives, its leadership."""
    return RoleKey.ADMIN.value not in set(roles) and org is not None and org.kind == OrgKind.CUSTOMER


def scope_for(session: Session, person: Person, roles: Iterable[str]) -> Scope:
    """The scope of an authenticated person (computed once per request)."""
    roles = set(roles)
    org = session.get(Organisation, person.organisation_id) if person.organisation_id is not None else None
    if org is not None and is_customer_side(roles, org):
        ids = session.exec(select(id_of(Contract)).where(col(Contract.customer_id) == org.id))
        return Scope(contract_ids=frozenset(ids), internal=False, organisation_id=org.id)
    if person.contract_scoped and RoleKey.ADMIN.value not in roles:
        return Scope(contract_ids=frozenset(visible_contract_ids_of_team(session, stored_id(person))), internal=True)
    return EVERYTHING


def visible_contract_ids_of_team(session: Session, person_id: int) -> set[int]:
    """Contracts a person is on the team of, or holds a contract-bound role in."""
    team = session.exec(select(ContractMember.contract_id).where(ContractMember.person_id == person_id))
    bound = session.exec(select(RoleMembership.contract_id).where(
        RoleMembership.person_id == person_id, col(RoleMembership.contract_id).is_not(None)))
    return set(team) | {c for c in bound if c is not None}


def contract_clause(scope: Scope, column: Any) -> ColumnElement[bool]:
    """Rows whose contract column is visible (a NULL contract is internal data)."""
    if scope.contract_ids is None:
        return true() if scope.internal else col(column).is_not(None)
    inside = col(column).in_(sorted(scope.contract_ids))
    return or_(inside, col(column).is_(None)) if scope.internal else inside
