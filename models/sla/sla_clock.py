"""SLA clocks of an incident: response from the report; on-site and resolution from the response.

Pure: give it the policy targets, the incident's instants and its pauses; it says per measure when
it is due, how much has elapsed, and its one verdict. Pauses (waiting on the customer) are excluded
from every clock. The verdict is the only definition of met/missed: the incident view, the stored
breaches and warnings, the import and the quarterly review all read it (README "Counting rules").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from models.sla.business_time import BusinessCalendar, CalendarKind, Interval, deadline, elapsed
from models.sla.policies import FaultClass, SlaMeasure

WARN_AT = 0.8  # the sweeper warns at 80 % of a target

Targets = dict[tuple[FaultClass, SlaMeasure], tuple[int, CalendarKind]]


class Verdict(StrEnum):
    """One clock's verdict: business time elapsed (pauses out) against its target."""

    MET = "met"  # stopped within the target
    MISSED = "missed"  # more than the target elapsed, stopped or not
    RUNNING = "running"  # still running and within the target
    NOT_STARTED = "not_started"  # its start (the response) has not happened
    NOT_APPLICABLE = "n/a"  # transition phase, or resolved without a visit (no on-site measure)


def verdict(*, started: bool, stopped: bool, elapsed_minutes: float, target_minutes: int,
            applicable: bool = True) -> Verdict:
    """The single rule: missed once more than the target has elapsed; met when stopped within it."""
    if not applicable:
        return Verdict.NOT_APPLICABLE
    if not started:
        return Verdict.NOT_STARTED
    if elapsed_minutes > target_minutes:
        return Verdict.MISSED
    return Verdict.MET if stopped else Verdict.RUNNING


@dataclass(frozen=True)
class ClockState:
    """One measure's clock."""

    measure: SlaMeasure
    target_minutes: int
    calendar: CalendarKind
    started_at: datetime | None  # None: not started (no response yet)
    stopped_at: datetime | None
    due_at: datetime | None
    elapsed_minutes: float
    breached: bool
    error: str | None = None
    verdict: Verdict = Verdict.NOT_STARTED
    provisional_years: tuple[int, ...] = ()  # years counted on a provisional statutory calendar

    @property
    def provisional(self) -> bool:
        return bool(self.provisional_years)

    @property
    def used(self) -> float:
        """Share of the target used so far (1.0 = at the deadline)."""
        return self.elapsed_minutes / self.target_minutes

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.stopped_at is None


def clocks(
    *,
    targets: Targets,
    fault_class: FaultClass,
    reported_at: datetime,
    acknowledged_at: datetime | None,
    on_site_at: datetime | None,
    resolved_at: datetime | None,
    pauses: list[Interval],
    now: datetime,
    calendars: dict[CalendarKind, BusinessCalendar],
    applicable: bool = True,
) -> list[ClockState]:
    """The three clocks of an incident at `now` (`applicable` False: the transition phase, no SLA)."""
    spans = {
        SlaMeasure.RESPONSE: (reported_at, acknowledged_at),
        SlaMeasure.ON_SITE: (acknowledged_at, on_site_at),
        SlaMeasure.RESOLUTION: (acknowledged_at, resolved_at),
    }
    result = []
    for measure, (start, stop) in spans.items():
        minutes, kind = targets[(fault_class, measure)]
        # Resolved without a visit: there is no on-site measure (nothing to be late for).
        measured = applicable and not (measure is SlaMeasure.ON_SITE and stop is None and resolved_at is not None)
        if start is None:
            state = verdict(started=False, stopped=False, elapsed_minutes=0, target_minutes=minutes,
                            applicable=measured)
            result.append(ClockState(measure, minutes, kind, None, None, None, 0.0, False, verdict=state))
            continue
        calendar = calendars[kind]
        due = deadline(start, timedelta(minutes=minutes), calendar, pauses)
        until = stop or (now if measured else start)
        used = elapsed(start, until, calendar, pauses).total_seconds() / 60 if until > start else 0.0
        state = verdict(started=True, stopped=stop is not None or not measured, elapsed_minutes=used,
                        target_minutes=minutes, applicable=measured)
        provisional = tuple(calendar.provisional_years(start, max(due, until)))
        result.append(ClockState(measure, minutes, kind, start, stop, due, round(used, 3),
                                 state is Verdict.MISSED, verdict=state, provisional_years=provisional))
    return result
