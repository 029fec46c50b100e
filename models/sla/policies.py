"""SLA policy sets: per fault class and measure, a target and the calendar it runs on."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.core.types import EnumText
from models.sla.business_time import CalendarKind


class FaultClass(StrEnum):
    """Seed 002: a major fault paralyses the system; a general fault spares base business."""

    MAJOR = "major"
    GENERAL = "general"


class SlaMeasure(StrEnum):
    """The three clocks of seed 002; on-site and resolution start at the response."""

    RESPONSE = "response"
    ON_SITE = "on_site"
    RESOLUTION = "resolution"


# Seed 002 "SLA服务协议": (fault class, measure) -> (minutes, calendar)
DEFAULT_TARGETS: dict[tuple[FaultClass, SlaMeasure], tuple[int, CalendarKind]] = {
    (FaultClass.MAJOR, SlaMeasure.RESPONSE): (10, CalendarKind.ALWAYS),
    (FaultClass.MAJOR, SlaMeasure.ON_SITE): (60, CalendarKind.ALWAYS),
    (FaultClass.MAJOR, SlaMeasure.RESOLUTION): (240, CalendarKind.ALWAYS),
    (FaultClass.GENERAL, SlaMeasure.RESPONSE): (10, CalendarKind.ALWAYS),
    (FaultClass.GENERAL, SlaMeasure.ON_SITE): (120, CalendarKind.BUSINESS),
    (FaultClass.GENERAL, SlaMeasure.RESOLUTION): (1440, CalendarKind.ALWAYS),
}
DEFAULT_POLICY_SET = "ITSS default (seed 002)"


class SlaPolicySetBase(SQLModel):
    name: str = Field(min_length=1, max_length=120, unique=True)
    description: str = Field(default="", max_length=500)


class SlaPolicySet(SlaPolicySetBase, table=True):
    __tablename__ = "sla_policy_set"
    id: int | None = Field(default=None, primary_key=True)


class SlaPolicyBase(SQLModel):
    fault_class: FaultClass = Field(sa_type=EnumText(FaultClass, 16))
    measure: SlaMeasure = Field(sa_type=EnumText(SlaMeasure, 16))
    target_minutes: int = Field(gt=0, le=60 * 24 * 90)
    calendar: CalendarKind = Field(sa_type=EnumText(CalendarKind, 8))


class SlaPolicy(SlaPolicyBase, table=True):
    __tablename__ = "sla_policy"
    __table_args__ = (UniqueConstraint("policy_set_id", "fault_class", "measure"),)
    id: int | None = Field(default=None, primary_key=True)
    policy_set_id: int = Field(foreign_key="sla_policy_set.id", index=True, ondelete="CASCADE")


class SlaPolicyCreate(SlaPolicyBase):
    pass


class SlaPolicySetCreate(SlaPolicySetBase):
    policies: list[SlaPolicyCreate]


class SlaPolicySetPublic(SlaPolicySetBase):
    id: int
    policies: list[SlaPolicyBase] = []
