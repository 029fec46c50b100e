"""Configuration items (the CMDB) and their change log (seed 002 "配置管理")."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import field_validator
from sqlmodel import Field, SQLModel

from models.core.clock import utcnow
from models.core.types import EnumText, Id, JSONDoc, UTCDateTime


class CIType(StrEnum):
    """Kinds of configuration item an operations contract covers (seed 001 §2.3.2, 002)."""

    SERVER = "server"
    VIRTUAL_MACHINE = "virtual_machine"
    STORAGE = "storage"
    SWITCH = "switch"
    ROUTER = "router"
    FIREWALL = "firewall"
    LOAD_BALANCER = "load_balancer"
    SECURITY_DEVICE = "security_device"
    VPN_GATEWAY = "vpn_gateway"
    APPLICATION = "application"
    DATABASE = "database"
    MIDDLEWARE = "middleware"
    TERMINAL = "terminal"
    FACILITY = "facility"  # power, air conditioning, fire systems


class Criticality(StrEnum):
    """How much of the service depends on a CI; core CIs make a failure a major fault."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CORE = "core"


class CIBase(SQLModel):
    name: str = Field(min_length=1, max_length=120, unique=True, index=True)
    ci_type: CIType = Field(sa_type=EnumText(CIType, 32), index=True)
    hostname: str | None = Field(default=None, max_length=255)
    ip: str | None = Field(default=None, max_length=45, index=True)
    location: str | None = Field(default=None, max_length=200)
    rack: str | None = Field(default=None, max_length=40)
    vendor: str | None = Field(default=None, max_length=80)
    model: str | None = Field(default=None, max_length=120)
    os_version: str | None = Field(default=None, max_length=120)
    owner_id: int | None = Field(default=None, foreign_key="person.id")
    criticality: Criticality = Field(default=Criticality.MEDIUM, sa_type=EnumText(Criticality, 16))
    tags: list[str] = Field(default_factory=list, sa_type=JSONDoc)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_type=JSONDoc)


class ConfigurationItem(CIBase, table=True):
    __tablename__ = "configuration_item"
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def _valid_ip(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(
            f"{value!r} is not an IPv4 or IPv6 address; write e.g. 10.1.6.3 or fd00::3"
        ) from None


class CICreate(CIBase):
    @field_validator("ip")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        return _valid_ip(value)


class CIUpdate(SQLModel):
    """Fields to change; anything left out keeps its value."""

    # A field left out keeps its value; null is refused for fields that cannot be empty (typed without None:
    # the OpenAPI document says so, and the 422 names the field).
    name: str = Field(default=None, min_length=1, max_length=120)
    ci_type: CIType = Field(default=None)
    hostname: str | None = None
    ip: str | None = None
    location: str | None = None
    rack: str | None = None
    vendor: str | None = None
    model: str | None = None
    os_version: str | None = None
    owner_id: Id | None = None
    criticality: Criticality = Field(default=None)
    tags: list[str] = Field(default=None)
    attributes: dict[str, Any] = Field(default=None)

    @field_validator("ip")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        return _valid_ip(value)


class CIPublic(CIBase):
    id: int
    created_at: datetime
    updated_at: datetime


class CIChange(SQLModel, table=True):
    """One change to a CI with its before/after snapshot: the CMDB's own log."""

    __tablename__ = "ci_change"
    id: int | None = Field(default=None, primary_key=True)
    ci_id: int = Field(index=True)  # no FK: the log outlives a deleted CI
    action: str = Field(max_length=16)  # created / updated / deleted
    actor: str = Field(max_length=120)
    reason: str | None = Field(default=None, max_length=500)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSONDoc)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSONDoc)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class CIChangePublic(SQLModel):
    id: int
    ci_id: int
    action: str
    actor: str
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    at: datetime
