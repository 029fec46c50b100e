"""An inspection plan as a validated document: scope, cycle, check items, criteria, exception handling.

The same document is a YAML file in a team's git repository, the body of `POST /inspection-plans`
and the `spec` column of `inspection_plan`. Every error names its field (`checks.0.params.port`).
"""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlmodel import Session, col, or_, select

from models.cmdb.tables import CIType, ConfigurationItem, Criticality
from models.core.user_templates import check_template
from models.directory.roles import RoleKey
from models.inspection.probes import PROBE_SPECS

KEY = r"^[a-z0-9][a-z0-9_\-]{0,59}$"


class ExceptionRule(BaseModel):
    """What happens when a check ends in this status: who hears, and whether an incident opens."""

    model_config = ConfigDict(extra="forbid")
    notify: list[RoleKey] = Field(default_factory=list)
    open_incident: bool = False
    fault_class: Literal["major", "general"] = "general"


class CheckItem(BaseModel):
    """One check of the operations manual: probe, criterion for normal, what to record, exceptions."""

    model_config = ConfigDict(extra="forbid")
    key: str = Field(pattern=KEY, description="stable id within the plan, e.g. disk_root")
    name: str = Field(min_length=1, max_length=120)
    probe: str = Field(description="a registered probe type: tcp, http, tls_expiry, ping, ssh_command, "
                                   "snmp_get, db_connect")
    params: dict[str, Any] = Field(default_factory=dict)
    warning: float | None = Field(default=None, ge=0, description="threshold for warning (probe's unit)")
    critical: float | None = Field(default=None, ge=0, description="threshold for critical")
    timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    record: str = Field(default="", max_length=300, description="what the operator should record or look at")
    applies_to: list[CIType] = Field(default_factory=list, description="CI types this check runs on (all if empty)")
    on_warning: ExceptionRule = Field(default_factory=ExceptionRule)
    on_critical: ExceptionRule = Field(default_factory=lambda: ExceptionRule(notify=[RoleKey.ENGINEER]))
    on_error: ExceptionRule = Field(default_factory=ExceptionRule)

    @field_validator("probe")
    @classmethod
    def _known_probe(cls, value: str) -> str:
        if value not in PROBE_SPECS:
            raise ValueError(f"unknown probe type {value!r}; known: {', '.join(sorted(PROBE_SPECS))}")
        return value

    @model_validator(mode="after")
    def _params_and_order(self) -> CheckItem:
        kind = PROBE_SPECS[self.probe]
        try:
            self.params = kind.params.model_validate(self.params).model_dump(exclude_unset=True)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            if first["type"] == "extra_forbidden":
                known = ", ".join(kind.params.model_fields) or "none"
                hint = (" — where a check runs is not a param: a plan probes each CI in its scope ('{host}' in a "
                        "URL), a change's verification check names it in 'target'"
                        if where in {"host", "hostname", "ip", "address", "target"} else "")
                raise ValueError(f"params.{where}: not a parameter of the {self.probe} probe (its parameters: "
                                 f"{known}){hint}") from None
            raise ValueError(f"params.{where}: {first['msg']}") from None
        if self.warning is not None and self.critical is not None:
            wrong = self.critical < self.warning if kind.direction == "above" else self.critical > self.warning
            if wrong:
                side = "at or above" if kind.direction == "above" else "at or below"
                raise ValueError(f"critical ({self.critical:g}) must be {side} warning ({self.warning:g}) "
                                 f"for {self.probe}, where {'higher' if kind.direction == 'above' else 'lower'} "
                                 "is worse")
        return self

    def rule(self, status: str) -> ExceptionRule | None:
        """The exception handling for a result status (None for ok)."""
        return {"warning": self.on_warning, "critical": self.on_critical, "error": self.on_error}.get(status)


class Scope(BaseModel):
    """Which CIs a plan inspects: every condition given must hold (lists mean any of)."""

    model_config = ConfigDict(extra="forbid")
    ci_types: list[CIType] = Field(default_factory=list)
    locations: list[str] = Field(default_factory=list, description="location prefixes")
    criticality: list[Criticality] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list, description="a CI needs at least one of these tags")
    names: list[str] = Field(default_factory=list)


class PlanSpec(BaseModel):
    """An inspection plan (source 000 §4.1 work plan + operations manual)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120)
    objective: str = Field(default="", max_length=2000)
    scope: Scope = Field(default_factory=Scope)
    cron: str = Field(description="cycle as a cron expression, e.g. '0 9 * * *'")
    timezone: str = "Asia/Shanghai"
    responsible_role: RoleKey = RoleKey.ENGINEER
    concurrency: int = Field(default=100, ge=1, le=2000, description="probes in flight at once")
    checks: list[CheckItem] = Field(min_length=1)
    report_template: str | None = Field(default=None, description="Jinja2 Markdown; the default is used if empty")

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from prefect.client.schemas.schedules import CronSchedule

        try:
            CronSchedule(cron=value)
        except (ValidationError, ValueError):
            raise ValueError(f"{value!r} is not a valid cron expression (five fields, e.g. '0 9 * * *')") from None
        return value

    @field_validator("report_template")
    @classmethod
    def _valid_template(cls, value: str | None) -> str | None:
        if value:
            check_template(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA timezone (e.g. Asia/Shanghai)") from None
        return value

    @model_validator(mode="after")
    def _unique_keys(self) -> PlanSpec:
        keys = [c.key for c in self.checks]
        duplicated = sorted({k for k in keys if keys.count(k) > 1})
        if duplicated:
            raise ValueError(f"check keys must be unique within a plan: {', '.join(duplicated)}")
        return self

    def check(self, key: str) -> CheckItem:
        return next(c for c in self.checks if c.key == key)


def parse_yaml(text: str) -> list[PlanSpec]:
    """Plans from YAML: one plan document, a list, or several `---` documents. Raises ValidationError."""
    docs: list[Any] = []
    for doc in yaml.safe_load_all(text):
        docs.extend(doc if isinstance(doc, list) else [doc] if doc is not None else [])
    return [PlanSpec.model_validate(doc) for doc in docs]


def scope_query(scope: Scope):
    """The SELECT of the CIs a scope covers."""
    query = select(ConfigurationItem).order_by(col(ConfigurationItem.id))
    if scope.ci_types:
        query = query.where(col(ConfigurationItem.ci_type).in_(scope.ci_types))
    if scope.criticality:
        query = query.where(col(ConfigurationItem.criticality).in_(scope.criticality))
    if scope.names:
        query = query.where(col(ConfigurationItem.name).in_(scope.names))
    if scope.locations:
        query = query.where(or_(*(col(ConfigurationItem.location).startswith(loc) for loc in scope.locations)))
    return query


def targets_of(session: Session, spec: PlanSpec) -> list[ConfigurationItem]:
    """The CIs a plan inspects now (tags are matched here: they are a JSON list)."""
    found = session.exec(scope_query(spec.scope)).all()
    if spec.scope.tags:
        wanted = set(spec.scope.tags)
        found = [ci for ci in found if wanted & set(ci.tags)]
    return list(found)
