"""The statutory calendar as data: holidays and make-up working days per year, kept by the service level manager.

A year is entered as rows (imported from the State Council's notice as YAML, or edited day by day). A year
nobody entered falls back to the `holidays` library where it carries the published notice (and the setting
allows it), else runs provisionally (models/sla/business_time.py). Entering a year recomputes the open clocks.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import UniqueConstraint
from sqlmodel import Field as SQLField
from sqlmodel import Session, SQLModel, select

from config.settings import get_settings
from models.core import memo
from models.core.clock import utcnow
from models.core.types import EnumText, UTCDateTime
from models.sla.business_time import StatutoryCalendar, YearSchedule, published_years


class DayKind(StrEnum):
    HOLIDAY = "holiday"  # a rest day (festival or its bridged days)
    WORKDAY = "workday"  # a make-up working day (调休) on a weekend


class StatutoryYear(SQLModel, table=True):
    """A year somebody entered: from then on its rows alone decide its working days."""

    __tablename__ = "statutory_year"
    year: int = SQLField(primary_key=True, ge=2000, le=2100)
    source: str = SQLField(default="", max_length=300)  # e.g. "国办发明电〔2026〕x号"
    entered_by: str = SQLField(max_length=120)
    entered_at: datetime = SQLField(default_factory=utcnow, sa_type=UTCDateTime)


class StatutoryDay(SQLModel, table=True):
    __tablename__ = "statutory_day"
    __table_args__ = (UniqueConstraint("day"),)
    id: int | None = SQLField(default=None, primary_key=True)
    year: int = SQLField(foreign_key="statutory_year.year", index=True, ondelete="CASCADE")
    day: date
    kind: DayKind = SQLField(sa_type=EnumText(DayKind, 8))
    name: str = SQLField(default="", max_length=120)


class DayRow(BaseModel):
    """One day of a year's schedule."""

    model_config = ConfigDict(extra="forbid")
    day: date
    kind: DayKind
    name: str = Field(default="", max_length=120)


class YearRange(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str = Field(default="", max_length=120)
    start: date
    end: date | None = None

    def days(self) -> list[date]:
        last = self.end or self.start
        return [date.fromordinal(n) for n in range(self.start.toordinal(), last.toordinal() + 1)]


class YearFile(BaseModel):
    """A year as published: rest periods (start–end) and make-up working days, e.g.

    year: 2027
    source: 国务院办公厅关于2027年部分节假日安排的通知
    holidays:
      - {name: 元旦, start: 2027-01-01, end: 2027-01-03}
    workdays:
      - {name: 春节调休, start: 2027-02-06}
    """

    model_config = ConfigDict(extra="forbid")
    year: int = Field(ge=2000, le=2100)
    source: str = Field(default="", max_length=300)
    holidays: list[YearRange] = Field(default_factory=list)
    workdays: list[YearRange] = Field(default_factory=list)

    @model_validator(mode="after")
    def _inside_the_year(self) -> YearFile:
        for label, ranges in (("holidays", self.holidays), ("workdays", self.workdays)):
            for index, item in enumerate(ranges):
                if item.end and item.end < item.start:
                    raise ValueError(f"{label}[{index}]: end {item.end} is before start {item.start}")
                if any(d.year != self.year for d in item.days()):
                    raise ValueError(f"{label}[{index}]: {item.start} is not in {self.year}")
                if label == "workdays" and any(d.weekday() < 5 for d in item.days()):
                    raise ValueError(f"workdays[{index}]: {item.start} is a weekday; make-up days fall on weekends")
        return self

    def rows(self) -> list[DayRow]:
        rows = [DayRow(day=d, kind=DayKind.HOLIDAY, name=h.name) for h in self.holidays for d in h.days()]
        rows += [DayRow(day=d, kind=DayKind.WORKDAY, name=w.name) for w in self.workdays for d in w.days()]
        return rows


def parse_year_file(text: str) -> YearFile:
    """A YAML year file, validated; ValueError names what is wrong."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML: {exc}") from exc
    try:
        return YearFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        raise ValueError(f"{where}: {first['msg'].removeprefix('Value error, ')}") from exc


def statutory_calendar(session: Session) -> StatutoryCalendar:
    """The calendar the clocks use now: entered years, then the library's published years, then provisional."""

    def read() -> StatutoryCalendar:
        years = {y.year for y in session.exec(select(StatutoryYear))}
        holidays: dict[int, set[date]] = {y: set() for y in years}
        workdays: dict[int, set[date]] = {y: set() for y in years}
        for row in session.exec(select(StatutoryDay)):
            (holidays if row.kind == DayKind.HOLIDAY else workdays)[row.year].add(row.day)
        entered = {y: YearSchedule(y, frozenset(holidays[y]), frozenset(workdays[y]), "entered") for y in years}
        return StatutoryCalendar(entered, use_library=get_settings().statutory_calendar_from_library)

    return memo.remembered(session, ("statutory_calendar",), read)


def forget(session: Session) -> None:
    """Drop the session's cached calendar after a change, so the recomputation reads the new rows."""
    memo.forget(session, ("statutory_calendar",))


def year_status(session: Session, year: int) -> dict[str, Any]:
    """Where a year's schedule comes from and whether clocks on it are provisional."""
    schedule = statutory_calendar(session).year(year)
    return {"year": year, "source": schedule.source, "provisional": schedule.provisional,
            "holidays": len(schedule.holidays), "workdays": len(schedule.workdays)}


def set_year(session: Session, year: int, rows: list[DayRow], *, source: str, actor: str) -> StatutoryYear:
    """Replace the year's rows (the caller audits, recomputes the open clocks and commits)."""
    for row in rows:
        if row.day.year != year:
            raise ValueError(f"{row.day} is not in {year}")
    found = session.get(StatutoryYear, year)
    if found is None:
        found = StatutoryYear(year=year, source=source, entered_by=actor)
    else:
        for old in session.exec(select(StatutoryDay).where(StatutoryDay.year == year)):
            session.delete(old)
        found.source, found.entered_by, found.entered_at = source or found.source, actor, utcnow()
    session.add(found)
    session.flush()
    for row in rows:
        session.add(StatutoryDay(year=year, day=row.day, kind=row.kind, name=row.name))
    session.flush()
    forget(session)
    return found


def library_rows(year: int) -> list[DayRow]:
    """The library's published schedule for `year` as rows (to seed or to start editing from)."""
    if year not in published_years():
        return []
    from models.sla.business_time import library_year

    schedule = library_year(year, True)
    return sorted([DayRow(day=d, kind=DayKind.HOLIDAY) for d in schedule.holidays]
                  + [DayRow(day=d, kind=DayKind.WORKDAY) for d in schedule.workdays], key=lambda r: r.day)


def missing_years(session: Session, today: date) -> list[int]:
    """Years the clocks will need soon and nobody has entered: next year from 1 November on."""
    calendar = statutory_calendar(session)
    wanted = [today.year, today.year + 1] if (today.month, today.day) >= (11, 1) else [today.year]
    return [y for y in wanted if calendar.year(y).provisional]
