"""Bulk import of historical incidents (CSV or JSON) with their own timestamps, all or nothing."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from sqlmodel import Session, select

from config.settings import get_settings
from models.contracts.scope import EVERYTHING, contract_clause
from models.contracts.scope import Scope as TenancyScope
from models.contracts.tables import Contract
from models.core.clock import utcnow
from models.core.rows import stored_id
from models.incidents.clocks import refresh_clocks
from models.incidents.grading import ImpactFacts, Scope
from models.incidents.service import create_incident, resolve_cis
from models.incidents.tables import Incident, IncidentStatus, Source, log_event

TIMES = ("reported_at", "acknowledged_at", "on_site_at", "resolved_at", "closed_at")


class ImportRow(BaseModel):
    """One historical incident. Times without a zone are read in the configured timezone."""

    title: str = Field(min_length=1, max_length=300)
    symptom: str = ""
    reported_at: datetime
    acknowledged_at: datetime | None = None
    on_site_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    core_unavailable_pct: float = Field(default=0, ge=0, le=100)
    expected_recovery_hours: float = Field(default=0, ge=0)
    scope: Scope = Scope.LOCAL
    business_function_lost: bool = False
    ci: str = Field(default="", description="CI names, hostnames or IPs separated by ';'")
    contract_code: str | None = None
    consented: bool = False
    escalated: bool = False
    reporting_org: str | None = None
    contact: str | None = None

    @field_validator(*TIMES, mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    @field_validator(*TIMES, mode="after")
    @classmethod
    def _zoned(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=get_settings().tz)
        return value

    @field_validator("consented", "escalated", "business_function_lost", mode="before")
    @classmethod
    def _bool(cls, value: Any) -> Any:
        return False if value in ("", None) else value

    @model_validator(mode="after")
    def _ordered(self) -> ImportRow:
        previous = ("reported_at", self.reported_at)
        for name in TIMES[1:]:
            value = getattr(self, name)
            if value is None:
                continue
            if value < previous[1]:
                raise ValueError(f"{name} is before {previous[0]}")
            if name != "on_site_at":
                previous = (name, value)
        if self.closed_at and not self.resolved_at:
            raise ValueError("closed_at needs resolved_at")
        return self


class ImportError_(ValueError):
    """Rows that failed; nothing was imported."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} problem(s); nothing was imported")
        self.errors = errors


def parse(content: bytes, fmt: str) -> list[dict[str, Any]]:
    """Rows as dicts from CSV (header row) or a JSON list."""
    text = content.decode("utf-8-sig")
    if fmt == "json":
        data = json.loads(text)
        if not isinstance(data, list):
            raise ImportError_([{"row": 0, "field": "body", "message": "a JSON import is a list of incidents"}])
        return data
    return list(csv.DictReader(io.StringIO(text)))


CLOCK_SKEW = timedelta(minutes=5)  # a report "in the future" by less than this is a clock difference, not an error


def validate(session: Session, rows: list[dict[str, Any]],
             now: datetime | None = None, tenancy: TenancyScope = EVERYTHING) -> list[tuple[ImportRow, int | None]]:
    """Every row checked; raises ImportError_ listing each bad field by row number (1 = first data row).
    No time may lie in the future of `now` (beyond a small clock skew): history has happened."""
    latest = (now or utcnow()) + CLOCK_SKEW
    errors: list[dict[str, Any]] = []
    valid: list[tuple[ImportRow, int | None]] = []
    # Only contracts the importer sees: another tenant's code is as unknown as a wrong one.
    contracts = {c.code: c.id for c in session.exec(select(Contract).where(contract_clause(tenancy, Contract.id)))}
    for number, raw in enumerate(rows, start=1):
        try:
            row = ImportRow.model_validate(raw)
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(p) for p in error["loc"]) or "row"
                errors.append({"row": number, "field": field, "message": error["msg"].removeprefix("Value error, ")})
            continue
        future = [name for name in TIMES if getattr(row, name) is not None and getattr(row, name) > latest]
        for name in future:
            errors.append({"row": number, "field": name,
                           "message": f"{getattr(row, name).isoformat()} is in the future; an import records "
                                      "what has happened (check the date and the timezone)"})
        if future:
            continue
        contract_id = None
        if row.contract_code:
            contract_id = contracts.get(row.contract_code)
            if contract_id is None:
                errors.append({"row": number, "field": "contract_code",
                               "message": f"no contract {row.contract_code!r}"})
                continue
        valid.append((row, contract_id))
    if errors:
        raise ImportError_(errors)
    return valid


def import_rows(session: Session, rows: list[dict[str, Any]], *, actor: str,
                now: datetime | None = None, tenancy: TenancyScope = EVERYTHING) -> list[int]:
    """Validate all rows, then create them; the caller commits (or nothing is kept). Clocks are judged at `now`."""
    return _create(session, validate(session, rows, now, tenancy), actor, now)


# Rows written per transaction by import_in_chunks: one import of thousands of rows in one SQLite
# transaction held the only write lock for tens of seconds, and every alert waited behind it.
CHUNK = 100


class ImportInterrupted(RuntimeError):
    """The database failed part-way through writing validated rows; the first `done` rows are stored."""

    def __init__(self, ids: list[int], done: int) -> None:
        super().__init__(f"the database failed after {done} rows; rows 1-{done} were imported (incidents "
                         f"{ids[0] if ids else '-'}..{ids[-1] if ids else '-'}), re-send from row {done + 1}")
        self.ids, self.done = ids, done


def import_in_chunks(valid: list[tuple[ImportRow, int | None]], *, actor: str,
                     now: datetime | None = None) -> list[int]:
    """Write rows already validated (`validate`) in transactions of CHUNK rows, so other writers interleave."""
    from models.core.db import begin_write, get_engine, let_other_writers_in, serialized_writes

    created: list[int] = []
    for start in range(0, len(valid), CHUNK):
        try:
            with Session(get_engine()) as session, serialized_writes():
                begin_write(session)
                ids = _create(session, valid[start:start + CHUNK], actor, now)
                session.commit()
        except Exception as exc:  # validated rows fail only on a database fault
            raise ImportInterrupted(created, start) from exc
        created += ids
        let_other_writers_in()
    return created


def _create(session: Session, valid: list[tuple[ImportRow, int | None]], actor: str,
            now: datetime | None) -> list[int]:
    created = []
    for row, contract_id in valid:
        ci_ids, unknown = resolve_cis(session, [n.strip() for n in row.ci.split(";") if n.strip()])
        incident = create_incident(
            session, title=row.title, symptom=row.symptom, actor=actor, source=Source.IMPORT,
            facts=ImpactFacts(core_unavailable_pct=row.core_unavailable_pct,
                              expected_recovery_hours=row.expected_recovery_hours, scope=row.scope,
                              business_function_lost=row.business_function_lost),
            ci_ids=ci_ids, unknown_ci_names=unknown, contract_id=contract_id, reported_at=row.reported_at,
            reporting_org=row.reporting_org, contact=row.contact)
        _apply_history(session, incident, row, actor, now)
        created.append(stored_id(incident))
    return created


def _apply_history(session: Session, incident: Incident, row: ImportRow, actor: str, now: datetime | None) -> None:
    for name, kind in (("acknowledged_at", "acknowledged"), ("on_site_at", "on_site"),
                       ("resolved_at", "resolved"), ("closed_at", "closed")):
        value = getattr(row, name)
        if value is not None:
            setattr(incident, name, value)
            log_event(session, stored_id(incident), actor=actor, kind=kind, at=value, detail="imported")
    incident.consented, incident.escalated = row.consented, row.escalated
    incident.status = (IncidentStatus.CLOSED if row.closed_at else IncidentStatus.RESOLVED if row.resolved_at
                       else IncidentStatus.ACKNOWLEDGED if row.acknowledged_at else IncidentStatus.REPORTED)
    # At the real now: an open imported incident whose target passed is missed today, not "fine at import".
    refresh_clocks(session, incident, now=now)
