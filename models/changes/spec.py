"""What a change request is made of, as submitted: runbook steps, verification checks, the window.

Every error names its field (`rollback`, `steps.2.command`, `window_end`) and says how to fix it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from models.changes.rules import MAJOR_CHARACTERISTICS, STANDARD_KINDS
from models.changes.tables import ChangeType, Risk
from models.cmdb.tables import CIUpdate
from models.core.types import iana_timezone
from models.inspection.plan import CheckItem


class StepKind(StrEnum):
    SHELL = "shell"  # a command on the worker
    SSH = "ssh"  # a command on a host over SSH
    HTTP = "http"  # an HTTP call (load balancer drain, deploy API)
    BACKUP = "backup"  # archive paths on the worker before touching them
    RESTORE = "restore"  # put a backup's paths back exactly as they were
    CONFIRM = "confirm"  # a person confirms before the runbook goes on (an approval gate)


def _step_name(value: str) -> str:
    # A step's name also names its backup directory under the change's own backup dir: '..', '.',
    # slashes or control characters would let a backup (which first clears its directory) or a
    # restore reach outside it — a backup named '..' once cleared every change's backups.
    if value.strip(". ") == "" or any(c in value for c in "/\\") or any(ord(c) < 32 for c in value):
        raise ValueError(f"{value!r} cannot name a step: use letters, digits, spaces, '-', '_' or '.', "
                         "not only dots, and no '/' or '\\'")
    return value


def _backup_path(value: str) -> str:
    # Restore deletes each path before putting the copy back: it must be a definite absolute path,
    # never the root, never relative or climbing with '..', never the orchestrator's own data.
    from config.settings import get_settings

    path = PurePosixPath(value)
    if not path.is_absolute() or ".." in path.parts or len(path.parts) < 2 or "\x00" in value:
        raise ValueError(f"{value!r} is not a path a backup may take: give an absolute path below '/' "
                         "without '..', e.g. /etc/nginx/nginx.conf")
    data_dir = PurePosixPath(str(get_settings().data_dir.resolve()))
    if path == data_dir or data_dir in path.parents or path in data_dir.parents:
        raise ValueError(f"{value!r} holds the orchestrator's own data ({data_dir}); back up the service's files")
    return value


StepName = Annotated[str, Field(min_length=1, max_length=120), AfterValidator(_step_name)]
BackupPath = Annotated[str, Field(min_length=1, max_length=1000), AfterValidator(_backup_path)]


class RunbookStep(BaseModel):
    """One runbook step; which fields apply depends on `kind`."""

    model_config = ConfigDict(extra="forbid")
    name: StepName
    kind: StepKind = StepKind.SHELL
    command: str | None = Field(default=None, max_length=8000, description="shell and ssh steps")
    cwd: str | None = Field(default=None, description="working directory of a shell step")
    host: str | None = Field(default=None, description="ssh: a CI name, hostname or IP")
    port: int = Field(default=22, ge=1, le=65535)
    username: str = Field(default="itss", min_length=1)
    key_file: str | None = None
    password_env: str | None = Field(default=None, description="env var holding the SSH password")
    known_hosts: str | None = "~/.ssh/known_hosts"
    url: str | None = Field(default=None, description="http steps")
    method: str = Field(default="POST", pattern=r"^(GET|POST|PUT|PATCH|DELETE)$")
    json_body: dict[str, Any] | None = None
    headers_env: dict[str, str] = Field(default_factory=dict,
                                        description="header name → env var holding its value (kept secret)")
    expect_status: list[int] = Field(default_factory=lambda: [200, 201, 202, 204])
    paths: list[BackupPath] = Field(default_factory=list,
                                    description="backup: absolute paths of files or directories to archive")
    backup: StepName | None = Field(default=None, description="restore: the name of the backup step to restore")
    secret_env: list[str] = Field(default_factory=list,
                                  description="env vars the command needs; their values are masked in the log")
    timeout_seconds: float = Field(default=300, gt=0, le=6 * 3600)

    @model_validator(mode="after")
    def _fields_for_kind(self) -> RunbookStep:
        needed = {StepKind.SHELL: ["command"], StepKind.SSH: ["command", "host"], StepKind.HTTP: ["url"],
                  StepKind.BACKUP: ["paths"], StepKind.RESTORE: ["backup"], StepKind.CONFIRM: []}[self.kind]
        for name in needed:
            if not getattr(self, name):
                raise ValueError(f"a {self.kind.value} step needs '{name}'")
        return self


class VerifyCheck(CheckItem):
    """A verification check: an inspection probe run against `target` (a CI name, hostname or IP)."""

    target: str = Field(default="127.0.0.1", description="a CI name, or a hostname or IP")
    retries: int = Field(default=0, ge=0, le=120, description="tries again while the service comes up")
    retry_delay_seconds: float = Field(default=2.0, gt=0, le=60)


def _unique_names(items: list[Any], what: str) -> None:
    seen: set[str | None] = set()
    for item in items:
        name = getattr(item, "name", None) or getattr(item, "key", None)
        if name in seen:
            raise ValueError(f"{what}: two entries are named {name!r}; names must be unique")
        seen.add(name)


def _known_kind(value: str) -> str:
    if value not in STANDARD_KINDS:
        raise ValueError(f"unknown standard change kind {value!r}; pre-authorised kinds: {', '.join(STANDARD_KINDS)}")
    return value


StandardKind = Annotated[str, AfterValidator(_known_kind)]


class Runbook(BaseModel):
    """Implementation steps, verification, rollback and the checks after a rollback."""

    model_config = ConfigDict(extra="forbid")
    steps: list[RunbookStep] = Field(default_factory=list)
    verification: list[VerifyCheck] = Field(default_factory=list)
    rollback: list[RunbookStep] = Field(default_factory=list)
    rollback_verification: list[VerifyCheck] = Field(default_factory=list)

    @field_validator("steps", "rollback")
    @classmethod
    def _steps_unique(cls, value: list[RunbookStep]) -> list[RunbookStep]:
        _unique_names(value, "steps")
        return value

    @model_validator(mode="after")
    def _runbook_consistent(self) -> Runbook:
        backups = {s.name for s in self.steps if s.kind == StepKind.BACKUP}
        for step in [*self.steps, *self.rollback]:
            if step.kind == StepKind.RESTORE and step.backup not in backups:
                raise ValueError(f"rollback: step {step.name!r} restores {step.backup!r}, which is not a backup "
                                 f"step of the implementation steps ({', '.join(sorted(backups)) or 'none'})")
        if any(s.kind == StepKind.CONFIRM for s in self.rollback):
            raise ValueError("rollback: a rollback cannot wait for a confirmation; use shell, ssh, http or restore")
        return self

    def runbook(self) -> dict[str, Any]:
        """The four lists as stored (JSON)."""
        return self.model_dump(mode="json", include={"steps", "verification", "rollback", "rollback_verification"},
                               exclude_unset=False)


class TemplateCreate(Runbook):
    """A standard change model: a runbook the change manager pre-authorises once for one kind of work."""

    name: str = Field(min_length=1, max_length=120)
    standard_kind: StandardKind = Field(description=f"one of: {', '.join(STANDARD_KINDS)}")
    description: str = Field(default="", max_length=4000)
    planned_minutes: int = Field(default=30, ge=1, le=24 * 60)

    @model_validator(mode="after")
    def _has_steps(self) -> TemplateCreate:
        if not self.steps:
            raise ValueError("steps: a template needs its implementation steps (at least one)")
        return self


class ChangeCreate(Runbook):
    """A change request as the requester writes it."""

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=8000)
    change_type: ChangeType
    risk: Risk = Risk.MEDIUM
    impact: str = Field(default="", max_length=4000)
    template: str | None = Field(default=None, description="a standard change template's name: its runbook is used")
    standard_kind: StandardKind | None = Field(default=None,
                                               description=f"for standard changes: {', '.join(STANDARD_KINDS)}")
    characteristics: list[str] = Field(default_factory=list,
                                       description=f"major-change traits: {', '.join(MAJOR_CHARACTERISTICS)}")
    from_version: str | None = Field(default=None, max_length=80)
    release_version: str | None = Field(default=None, max_length=80, description="recorded on the CIs as 'version'")
    ci_ids: list[int] = Field(default_factory=list, description="affected CIs")
    ci_updates: dict[int, CIUpdate] = Field(default_factory=dict, description="CI id → fields to set after deploy")
    contract_id: int | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    planned_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    causes_outage: bool = False
    test_evidence: str = Field(default="", max_length=8000)

    @field_validator("characteristics")
    @classmethod
    def _known_traits(cls, value: list[str]) -> list[str]:
        for trait in value:
            if trait not in MAJOR_CHARACTERISTICS:
                raise ValueError(f"unknown characteristic {trait!r}; known: {', '.join(MAJOR_CHARACTERISTICS)}")
        return value

    @field_validator("window_start", "window_end")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a timezone, e.g. 2026-12-01T22:00:00+08:00")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ChangeCreate:
        if (self.window_start is None) != (self.window_end is None):
            raise ValueError("window_start and window_end: give both or neither")
        if self.window_start is not None and self.window_end is not None and self.window_end <= self.window_start:
            raise ValueError("window_end: the window ends before it starts; give an end after window_start")
        if self.change_type == ChangeType.MAJOR:
            if not self.rollback:
                raise ValueError("rollback: a major change needs rollback steps (how to go back if it fails)")
            if self.window_start is None:
                raise ValueError("window_start: a major change needs a requested window (window_start and "
                                 "window_end)")
        if self.change_type == ChangeType.STANDARD:
            # Pre-authorised means the runbook was authorised, not the person: it comes from a template.
            if self.template is None:
                raise ValueError("template: a standard change runs a pre-authorised template (GET /change-templates)"
                                 "; for your own steps submit a normal change")
            if self.steps or self.rollback or self.verification or self.rollback_verification:
                raise ValueError("steps: a standard change runs its template's runbook; leave steps, verification "
                                 "and rollback out")
        elif not self.steps and self.template is None:
            raise ValueError("steps: give the implementation steps (at least one), or a template")
        for ci_id in self.ci_updates:
            if ci_id not in self.ci_ids:
                raise ValueError(f"ci_updates: CI {ci_id} is not among the affected ci_ids")
        return self


class WindowCreate(BaseModel):
    """A recurring change window."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120)
    weekdays: list[int] = Field(min_length=1, description="ISO weekdays: 1 Monday … 7 Sunday")
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["22:00"])
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["06:00"],
                     description="at or before start: the window ends the next day")
    timezone: str = "Asia/Shanghai"
    active: bool = True

    @field_validator("weekdays")
    @classmethod
    def _iso_days(cls, value: list[int]) -> list[int]:
        if any(day < 1 or day > 7 for day in value):
            raise ValueError("weekdays are 1 (Monday) to 7 (Sunday)")
        return sorted(set(value))

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return iana_timezone(value)


class FreezeCreate(BaseModel):
    """A freeze period."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120)
    starts_at: datetime
    ends_at: datetime
    reason: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _order(self) -> FreezeCreate:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("starts_at and ends_at need a timezone, e.g. 2026-03-05T00:00:00+08:00")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at: the freeze ends before it starts")
        return self
