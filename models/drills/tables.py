"""Drill plans, drill runs with their step log and evaluation forms (《应急演练评估表》)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, StrictBool, field_validator
from pydantic import Field as PydanticField
from sqlmodel import Field, SQLModel

from models.core.clock import utcnow
from models.core.types import EnumText, Id, JSONDoc, Label, UTCDateTime, iana_timezone
from models.directory.roles import RoleKey


class PlanStatus(StrEnum):
    """draft → approved by the PM (then scheduled) → retired; a rejected plan goes back to draft."""

    DRAFT = "draft"
    APPROVED = "approved"
    RETIRED = "retired"


class DrillStatus(StrEnum):
    """running → ended → evaluated → signed_off; or terminated at once by a real incident."""

    RUNNING = "running"
    ENDED = "ended"
    EVALUATED = "evaluated"
    SIGNED_OFF = "signed_off"
    TERMINATED = "terminated"


class Participant(BaseModel):
    role: RoleKey
    duty: str = Field(default="", max_length=200)


class DrillPlanCreate(BaseModel):
    """A drill plan: what is exercised, where, by whom, and when (cron in the operating timezone)."""

    name: str = Field(min_length=1, max_length=120)
    scenario: str = Field(min_length=1, max_length=2000)
    emergency_plan: str = Field(min_length=1, max_length=300, description="the 预案 this drill exercises")
    scope_ci_ids: list[Id] = Field(default_factory=list, max_length=500)
    participants: list[Participant] = Field(min_length=1, max_length=200)
    objectives: list[Label] = Field(default_factory=list, max_length=50)
    cron: str = Field(default="0 10 15 6 *", description="when it runs (at least yearly), e.g. '0 10 15 6 *'")
    timezone: str = "Asia/Shanghai"
    sla_response_minutes: int = Field(default=10, ge=1, description="the response target the drill is measured on")

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from prefect.client.schemas.schedules import CronSchedule  # the parser Prefect schedules with

        try:
            CronSchedule(cron=value)
        except ValueError:
            raise ValueError(f"{value!r} is not a cron expression; e.g. '0 10 15 6 *' (10:00 on 15 June)") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return iana_timezone(value)


class DrillPlan(SQLModel, table=True):
    __tablename__ = "drill_plan"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    scenario: str = Field(max_length=2000)
    emergency_plan: str = Field(max_length=300)
    scope_ci_ids: list[int] = Field(default_factory=list, sa_type=JSONDoc)
    participants: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONDoc)
    objectives: list[str] = Field(default_factory=list, sa_type=JSONDoc)
    cron: str = Field(max_length=120)
    timezone: str = Field(default="Asia/Shanghai", max_length=60)
    sla_response_minutes: int = 10
    status: PlanStatus = Field(default=PlanStatus.DRAFT, sa_type=EnumText(PlanStatus, 16), index=True)
    created_by: int | None = Field(default=None, foreign_key="person.id")
    approved_by: int | None = Field(default=None, foreign_key="person.id")
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DrillRun(SQLModel, table=True):
    """One execution of a plan; kept `retain_until` (six years), never deletable before."""

    __tablename__ = "drill_run"
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="drill_plan.id", index=True)
    flow_run_id: str = Field(max_length=64, unique=True)
    status: DrillStatus = Field(default=DrillStatus.RUNNING, sa_type=EnumText(DrillStatus, 16), index=True)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    termination_reason: str | None = Field(default=None, max_length=1000)
    terminating_incident_id: int | None = Field(default=None, foreign_key="incident.id")
    summary_html: str = Field(default="", max_length=200000)
    signed_off_by: int | None = Field(default=None, foreign_key="person.id")
    signed_off_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retain_until: datetime = Field(sa_type=UTCDateTime, index=True)


class DrillStep(SQLModel, table=True):
    """One line of the drill log: who did what, when."""

    __tablename__ = "drill_step"
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="drill_run.id", index=True, ondelete="CASCADE")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str = Field(max_length=120)
    kind: str = Field(max_length=40)
    detail: str = Field(default="", max_length=4000)


class StepCreate(BaseModel):
    detail: str = Field(min_length=1, max_length=4000, description="what was done, e.g. 'switched to standby DB'")


class DrillEvaluation(SQLModel, table=True):
    """The evaluation form of a scenario (《应急演练评估表》)."""

    __tablename__ = "drill_evaluation"
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="drill_run.id", index=True, unique=True, ondelete="CASCADE")
    objectives_met: bool
    response_minutes: float
    sla_response_minutes: int
    problems_found: str = Field(default="", max_length=4000)
    improvements: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONDoc)  # {measure, done}
    evaluator_id: int = Field(foreign_key="person.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EvaluationCreate(BaseModel):
    objectives_met: StrictBool
    response_minutes: float = PydanticField(ge=0, le=525_600, allow_inf_nan=False,
                                            description="response time measured in the drill, minutes (at most a year)")
    problems_found: str = PydanticField(default="", max_length=4000)
    improvements: list[Annotated[str, PydanticField(min_length=1, max_length=1000)]] = PydanticField(
        default_factory=list, max_length=50, description="improvement measures for the review register")
