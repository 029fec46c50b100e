"""People, organisations, ITSS role membership, API tokens and on-call rosters."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, EmailStr, StrictBool, model_validator
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.core.clock import utcnow
from models.core.types import EncryptedText, EnumText, Id, UTCDateTime
from models.directory.roles import RoleKey


class OrgKind(StrEnum):
    """Whether an organisation delivers the service or receives it."""

    PROVIDER = "provider"
    CUSTOMER = "customer"


class OrganisationBase(SQLModel):
    name: str = Field(min_length=1, max_length=200, unique=True, index=True)
    kind: OrgKind = Field(sa_type=EnumText(OrgKind, 16))


class Organisation(OrganisationBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


class OrganisationCreate(OrganisationBase):
    pass


class OrganisationPublic(OrganisationBase):
    id: int


class Role(SQLModel, table=True):
    """An ITSS role; rows are reference data kept in step with models.directory.roles.ROLE_CATALOGUE."""

    key: str = Field(primary_key=True, max_length=40)
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=100)
    description: str = Field(default="", max_length=500)


class PersonBase(SQLModel):
    name: str = Field(min_length=1, max_length=120, unique=True, index=True)
    display_name: str | None = Field(default=None, max_length=120)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    active: bool = True
    # Staff see every contract unless an admin scopes them to the contracts whose team they are on
    # (models/tenancy.py); customer-side people always see only their organisation's contracts.
    contract_scoped: bool = False


class Person(PersonBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # Apprise URLs that reach this person (mailto://, dingtalk://, ...). They may embed secrets,
    # so they are never returned by the API; PersonPublic only says how many there are.
    notify_urls: str = Field(default="", sa_type=EncryptedText)  # encrypted at rest (models/core/crypto.py)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PersonCreate(SQLModel):
    name: str = Field(min_length=1, max_length=120)
    display_name: str | None = Field(default=None, max_length=120)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)
    organisation_id: int | None = None
    contract_scoped: bool = False
    roles: list[RoleKey] = Field(default_factory=list)
    notify_urls: list[str] = Field(default_factory=list)


class PersonUpdate(SQLModel):
    # A field left out keeps its value; null is refused for fields that cannot be empty (typed without None:
    # the OpenAPI document says so, and the 422 names the field).
    display_name: str | None = Field(default=None, max_length=120)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)
    organisation_id: Id | None = None
    active: StrictBool = Field(default=None, description="true or false (not 0/1)")
    contract_scoped: StrictBool = Field(default=None, description="true: sees only their contract teams")
    roles: list[RoleKey] = Field(default=None)
    notify_urls: list[str] = Field(default=None)


class PersonPublic(PersonBase):
    id: int
    roles: list[str] = []
    notify_channels: int = 0


class RoleMembership(SQLModel, table=True):
    """A person holds a role, across all contracts or within one."""

    __tablename__ = "role_membership"
    __table_args__ = (UniqueConstraint("person_id", "role_key", "contract_id"),)
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    role_key: str = Field(foreign_key="role.key", index=True)
    contract_id: int | None = Field(default=None, foreign_key="contract.id", ondelete="CASCADE")


class ApiToken(SQLModel, table=True):
    """A bearer token; only its SHA-256 is stored, the secret is shown once at creation."""

    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    label: str = Field(default="default", max_length=80)
    prefix: str = Field(max_length=16, index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiTokenCreate(SQLModel):
    label: str = Field(default="default", min_length=1, max_length=80)
    expires_at: AwareDatetime | None = Field(
        default=None, description="when it stops working; for your own tokens at most ITSS_SELF_TOKEN_DAYS ahead "
        "(the default)")


class ApiTokenPublic(SQLModel):
    id: int
    person_id: int
    label: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenIssued(ApiTokenPublic):
    token: str  # the secret, returned once


class OnCallShiftBase(SQLModel):
    role_key: RoleKey = Field(sa_type=EnumText(RoleKey, 40), foreign_key="role.key", index=True)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    contract_id: int | None = Field(default=None, foreign_key="contract.id", ondelete="CASCADE")
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ends_at: datetime = Field(sa_type=UTCDateTime, index=True)


class OnCallShift(OnCallShiftBase, table=True):
    """Who covers a role when: rosters route notifications to the person on duty."""

    __tablename__ = "on_call_shift"
    id: int | None = Field(default=None, primary_key=True)


class OnCallShiftCreate(OnCallShiftBase):
    @model_validator(mode="after")
    def _ordered(self) -> OnCallShiftCreate:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class OnCallShiftPublic(OnCallShiftBase):
    id: int
