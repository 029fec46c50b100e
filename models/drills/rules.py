"""Pure drill rules: what terminates a drill, and how long its records are kept."""

from __future__ import annotations

from datetime import datetime

from models.incidents.grading import Level


def terminates(*, level: Level, incident_ci_ids: set[int], scope_ci_ids: set[int]) -> str | None:
    """Why a real incident ends a running drill at once, or None: a CI in the drill's scope, or Level I/II."""
    hit = sorted(incident_ci_ids & scope_ci_ids)
    if hit:
        return f"level {level.value} incident on CI {', '.join(map(str, hit))} in the drill's scope"
    if level in (Level.I, Level.II):
        return f"level {level.value} emergency: every drill stops"
    return None


def retain_until(start: datetime, years: int) -> datetime:
    """`years` after `start` (29 February keeps to 28 February in a common year)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)
