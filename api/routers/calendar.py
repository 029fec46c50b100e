"""/calendar: the statutory calendar (holidays and make-up working days per year), kept by the service level manager.

Every change recomputes the open incidents' clocks and is audited.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from api.deps import Caller, CurrentCaller, SessionDep, require_roles
from models.core.audit import record_audit
from models.core.clock import utcnow
from models.directory.roles import RoleKey
from models.incidents.clocks import recompute_open_clocks
from models.sla.statutory import (
    DayRow,
    StatutoryDay,
    StatutoryYear,
    library_rows,
    parse_year_file,
    set_year,
    year_status,
)

router = APIRouter(prefix="/calendar", tags=["statutory calendar"])
CalendarOwner = Annotated[Caller, Depends(require_roles(RoleKey.SERVICE_LEVEL_MANAGER))]
YEAR_EXAMPLE = """year: 2027
source: 国务院办公厅关于2027年部分节假日安排的通知
holidays:
  - {name: 元旦, start: 2027-01-01, end: 2027-01-03}
workdays:
  - {name: 春节调休, start: 2027-02-06}
"""


class YearRows(BaseModel):
    """A year as rows: every rest day and every make-up working day."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(default="", max_length=300)
    days: list[DayRow]


def _rows(session: Session, year: int) -> list[dict[str, Any]]:
    return [{"day": d.day.isoformat(), "kind": d.kind.value, "name": d.name} for d in session.exec(
        select(StatutoryDay).where(col(StatutoryDay.year) == year).order_by(col(StatutoryDay.day)))]


def _check_year(year: int) -> None:
    if not 2000 <= year <= 2100:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"year {year}: give a year from 2000 to 2100")


def _enter(session: Session, year: int, rows: list[DayRow], source: str, caller: Caller, how: str) -> dict[str, Any]:
    try:
        set_year(session, year, rows, source=source, actor=caller.actor)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"days: {exc}") from exc
    recomputed = recompute_open_clocks(session, utcnow())
    record_audit(session, actor=caller.actor, action="calendar.entered", record_type="statutory_year",
                 record_id=year, detail=f"{how}: {len(rows)} day(s); {len(recomputed)} open incident(s) recomputed",
                 after={"source": source, "days": len(rows)})
    session.commit()
    return {**year_status(session, year), "days": _rows(session, year), "recomputed_incidents": recomputed}


@router.get("/years")
def list_years(session: SessionDep, _caller: CurrentCaller) -> list[dict[str, Any]]:
    """Entered years, and this year and the next with where their schedule comes from (provisional or not)."""
    today = utcnow().date()
    years = {y.year for y in session.exec(select(StatutoryYear))} | {today.year, today.year + 1}
    return [year_status(session, y) for y in sorted(years)]


@router.get("/years/{year}")
def get_year(year: int, session: SessionDep, _caller: CurrentCaller) -> dict[str, Any]:
    """One year: its source, whether clocks on it are provisional, and its entered rows."""
    _check_year(year)
    return {**year_status(session, year), "days": _rows(session, year)}


@router.put("/years/{year}")
def put_year(year: int, data: YearRows, session: SessionDep, caller: CalendarOwner) -> dict[str, Any]:
    """Replace the year's rows (service level manager); the open clocks are recomputed."""
    _check_year(year)
    return _enter(session, year, data.days, data.source, caller, "rows entered")


@router.post("/years/{year}/import")
def import_year(year: int, session: SessionDep, caller: CalendarOwner,
                body: Annotated[str, Body(media_type="application/yaml", openapi_examples={
                    "State Council notice": {"value": YEAR_EXAMPLE}})]) -> dict[str, Any]:
    """Import the year from a YAML file as published (rest periods and make-up days); replaces its rows."""
    _check_year(year)
    try:
        parsed = parse_year_file(body)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"{exc}. Write the file like:\n{YEAR_EXAMPLE}") from exc
    if parsed.year != year:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"year: the file is for {parsed.year}, the address for {year}")
    return _enter(session, year, parsed.rows(), parsed.source, caller, "YAML imported")


@router.post("/years/{year}/seed")
def seed_year(year: int, session: SessionDep, caller: CalendarOwner) -> dict[str, Any]:
    """Enter the year from the `holidays` library's published schedule (only for years it has one)."""
    _check_year(year)
    rows = library_rows(year)
    if not rows:
        raise HTTPException(status.HTTP_409_CONFLICT, f"the holidays library has no published schedule for {year}; "
                                                      f"import the State Council's notice (POST /calendar/years/"
                                                      f"{year}/import)")
    return _enter(session, year, rows, "holidays library (published schedule)", caller, "seeded")


class DayEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(pattern=r"^(holiday|workday)$")
    name: str = Field(default="", max_length=120)


@router.put("/days/{day}")
def put_day(day: date, data: DayEdit, session: SessionDep, caller: CalendarOwner) -> dict[str, Any]:
    """Set one day of an entered year as a holiday or a make-up working day."""
    rows = [DayRow.model_validate(r) for r in _rows(session, day.year) if r["day"] != day.isoformat()]
    if session.get(StatutoryYear, day.year) is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{day.year} is not entered yet: import or seed it first")
    rows.append(DayRow(day=day, kind=data.kind, name=data.name))  # type: ignore[arg-type]
    return _enter(session, day.year, rows, "", caller, f"{day} set to {data.kind}")


@router.delete("/days/{day}")
def delete_day(day: date, session: SessionDep, caller: CalendarOwner) -> dict[str, Any]:
    """Remove one day's row: it becomes an ordinary weekday or weekend day again."""
    rows = _rows(session, day.year)
    if not any(r["day"] == day.isoformat() for r in rows):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{day} has no row in the statutory calendar")
    kept = [DayRow.model_validate(r) for r in rows if r["day"] != day.isoformat()]
    return _enter(session, day.year, kept, "", caller, f"{day} removed")
