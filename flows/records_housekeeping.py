"""Daily housekeeping of problem and drill records (problem management; 001 §2.3.2.3 retention)."""

from __future__ import annotations

from prefect import flow

from tasks.housekeeping import close_problems, inspection_problems, purge_drills


@flow(name="records_housekeeping")
def records_housekeeping() -> dict[str, list[int]]:
    """Inspection problems logged, quiet problems closed, expired drill records purged."""
    return {"problems_logged": inspection_problems(), "problems_closed": close_problems(),
            "drills_purged": purge_drills()}
