"""SLA clocks of an incident: response from the report; on-site and resolution from the response.

Pure: give it the policy targets, the incident's instants and its pauses; it says per measure when
it is due, how much has elapsed, and whether it is breached. Pauses (waiting on the customer) are
excluded from every clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from models.business_time import BusinessCalendar, CalendarKind, CalendarNotCoveredError, Interval, deadline, elapsed
from models.sla import FaultClass, SlaMeasure

WARN_AT = 0.8  # the sweeper warns at 80 % of a target

Targets = dict[tuple[FaultClass, SlaMeasure], tuple[int, CalendarKind]]


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
) -> list[ClockState]:
    """The three clocks of an incident at `now`."""
    spans = {
        SlaMeasure.RESPONSE: (reported_at, acknowledged_at),
        SlaMeasure.ON_SITE: (acknowledged_at, on_site_at),
        SlaMeasure.RESOLUTION: (acknowledged_at, resolved_at),
    }
    result = []
    for measure, (start, stop) in spans.items():
        minutes, kind = targets[(fault_class, measure)]
        if start is None:
            result.append(ClockState(measure, minutes, kind, None, None, None, 0.0, False))
            continue
        calendar = calendars[kind]
        try:
            due = deadline(start, timedelta(minutes=minutes), calendar, pauses)
            used = elapsed(start, stop or now, calendar, pauses).total_seconds() / 60
        except CalendarNotCoveredError as exc:
            result.append(ClockState(measure, minutes, kind, start, stop, None, 0.0, False, str(exc)))
            continue
        result.append(ClockState(measure, minutes, kind, start, stop, due, round(used, 3), used > minutes))
    return result
