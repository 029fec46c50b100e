"""How many runs a cron schedule plans in a period, counted with the parser Prefect's scheduler uses."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


def planned_runs(cron: str, timezone: str, start: datetime, end: datetime) -> int:
    """How many times Prefect's scheduler fires `cron` in [start, end)."""
    from prefect._vendor.croniter import croniter  # the parser Prefect schedules with

    zone = ZoneInfo(timezone)
    it = croniter(cron, start.astimezone(zone) - timedelta(seconds=1))
    count = 0
    while (fire := it.get_next(datetime)) < end:
        count += fire >= start
    return count
