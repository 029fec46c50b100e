"""Service contracts: customer, period, phases, service catalogue, CIs in scope and the team."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from pydantic import model_validator
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.core.types import EnumText, Id
from models.directory.roles import RoleKey


class Phase(StrEnum):
    """Seed 002 phases; the transition phase carries no SLA commitment."""

    START = "start"
    TRANSITION = "transition"
    NORMAL = "normal"
    CLOSING = "closing"


PHASE_WEEKS = {Phase.START: 2, Phase.TRANSITION: 2, Phase.CLOSING: 2}


def default_phases(starts_on: date, ends_on: date) -> list[tuple[Phase, date, date]]:
    """Start 2 weeks, transition 2 weeks, normal service, closing the last 2 weeks (inclusive)."""
    if ends_on - starts_on < timedelta(weeks=7):
        raise ValueError("a contract shorter than 7 weeks needs its phases given explicitly")
    start_end = starts_on + timedelta(weeks=2) - timedelta(days=1)
    transition_end = start_end + timedelta(weeks=2)
    closing_start = ends_on - timedelta(weeks=2) + timedelta(days=1)
    return [
        (Phase.START, starts_on, start_end),
        (Phase.TRANSITION, start_end + timedelta(days=1), transition_end),
        (Phase.NORMAL, transition_end + timedelta(days=1), closing_start - timedelta(days=1)),
        (Phase.CLOSING, closing_start, ends_on),
    ]


class ContractStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"


class PhaseSpec(SQLModel):
    phase: Phase
    starts_on: date
    ends_on: date


class ContractBase(SQLModel):
    code: str = Field(min_length=1, max_length=40, unique=True, index=True)
    name: str = Field(min_length=1, max_length=200)
    customer_id: int = Field(foreign_key="organisation.id")
    starts_on: date
    ends_on: date
    status: ContractStatus = Field(default=ContractStatus.ACTIVE, sa_type=EnumText(ContractStatus, 16))
    sla_policy_set_id: int | None = Field(default=None, foreign_key="sla_policy_set.id")


class Contract(ContractBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


class ContractCreate(ContractBase):
    """A contract; phases default to seed 002's 2+2 weeks … 2 weeks when left out."""

    phases: list[PhaseSpec] | None = None
    service_codes: list[str] = Field(default_factory=list)
    ci_ids: list[int] = Field(default_factory=list)
    team: list[TeamMemberSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _period(self) -> ContractCreate:
        if self.ends_on <= self.starts_on:
            raise ValueError("ends_on must be after starts_on")
        if self.phases:
            check_phases(self.starts_on, self.ends_on, self.phases)
        return self


class ContractUpdate(SQLModel):
    # A field left out keeps its value; null is refused for fields that cannot be empty (typed without None:
    # the OpenAPI document says so, and the 422 names the field).
    name: str = Field(default=None, min_length=1, max_length=200)
    status: ContractStatus = Field(default=None)
    sla_policy_set_id: Id | None = None
    service_codes: list[str] = Field(default=None)
    ci_ids: list[Id] = Field(default=None)
    team: list[TeamMemberSpec] = Field(default=None)


class TeamMemberSpec(SQLModel):
    person_id: Id
    role_key: RoleKey


class ContractPublic(ContractBase):
    id: int
    phases: list[PhaseSpec] = []
    service_codes: list[str] = []
    ci_ids: list[int] = []
    team: list[TeamMemberSpec] = []


def check_phases(starts_on: date, ends_on: date, phases: list[PhaseSpec]) -> None:
    """Phases must be ordered, contiguous and cover exactly the contract period."""
    ordered = sorted(phases, key=lambda p: p.starts_on)
    if ordered[0].starts_on != starts_on or ordered[-1].ends_on != ends_on:
        raise ValueError("phases must start on starts_on and end on ends_on")
    for prev, nxt in zip(ordered, ordered[1:], strict=False):
        if nxt.starts_on != prev.ends_on + timedelta(days=1):
            raise ValueError(
                f"phase {nxt.phase} must start the day after {prev.phase} ends ({prev.ends_on})"
            )
    for spec in ordered:
        if spec.ends_on < spec.starts_on:
            raise ValueError(f"phase {spec.phase} ends before it starts")


class ContractPhase(SQLModel, table=True):
    __tablename__ = "contract_phase"
    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True, ondelete="CASCADE")
    phase: Phase = Field(sa_type=EnumText(Phase, 16))
    starts_on: date
    ends_on: date


class ServiceCatalogEntryBase(SQLModel):
    code: str = Field(min_length=1, max_length=40, unique=True, index=True)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)


class ServiceCatalogEntry(ServiceCatalogEntryBase, table=True):
    __tablename__ = "service_catalog_entry"
    id: int | None = Field(default=None, primary_key=True)


class ServiceCatalogEntryCreate(ServiceCatalogEntryBase):
    pass


class ServiceCatalogEntryPublic(ServiceCatalogEntryBase):
    id: int


class ContractService(SQLModel, table=True):
    __tablename__ = "contract_service"
    contract_id: int = Field(foreign_key="contract.id", primary_key=True, ondelete="CASCADE")
    service_id: int = Field(foreign_key="service_catalog_entry.id", primary_key=True)


class ContractCI(SQLModel, table=True):
    __tablename__ = "contract_ci"
    contract_id: int = Field(foreign_key="contract.id", primary_key=True, ondelete="CASCADE")
    ci_id: int = Field(foreign_key="configuration_item.id", primary_key=True, ondelete="CASCADE")


class ContractMember(SQLModel, table=True):
    __tablename__ = "contract_member"
    __table_args__ = (UniqueConstraint("contract_id", "person_id", "role_key"),)
    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    role_key: str = Field(foreign_key="role.key")


ContractCreate.model_rebuild()
ContractUpdate.model_rebuild()
