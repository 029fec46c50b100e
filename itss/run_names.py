"""Flow-run names a manager can read on Prefect's Runs page: each run is named after its record.

`incident-12 政务门户无法访问`, `inspection EGOV daily core inspection 2026-12-03`, `change-7 升级门户`,
`review EGOV-2026 2026Q3`. The same name is given when a run is created (so a scheduled run reads
well before it starts) and by the flow's `flow_run_name` callable when it starts (so runs created by
Prefect's scheduler, and runs re-executed after a suspension, carry it too).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session

from config.settings import get_settings

MAX_LENGTH = 120  # Prefect shows names in one line of a table


def _short(text: str) -> str:
    return text if len(text) <= MAX_LENGTH else text[: MAX_LENGTH - 1] + "…"


def name_for(session: Session, flow: str, parameters: dict[str, Any], when: datetime | None = None) -> str | None:
    """The readable name of a run of `flow` with `parameters`; None when the flow has no record-based name."""
    from models.changes.tables import ChangeRequest
    from models.contracts.tables import Contract
    from models.incidents.tables import Incident
    from models.inspection.service import plan_by_ref

    if flow == "emergency_response":
        incident = session.get(Incident, parameters["incident_id"])
        return _short(f"incident-{parameters['incident_id']} {incident.title if incident else ''}".strip())
    if flow == "routine_inspection":
        plan = plan_by_ref(session, str(parameters["plan"]))
        day = (when or datetime.now().astimezone()).astimezone(get_settings().tz).date().isoformat()
        return _short(f"inspection {plan.name if plan else parameters['plan']} {day}")
    if flow == "release_deployment":
        change = session.get(ChangeRequest, parameters["change_id"])
        return _short(f"change-{parameters['change_id']} {change.title if change else ''}".strip())
    if flow == "quarterly_review":
        contract_id = parameters.get("contract_id")
        contract = session.get(Contract, contract_id) if contract_id is not None else None
        what = contract.code if contract else ("all contracts" if contract_id is None else f"contract {contract_id}")
        year, quarter = parameters.get("year"), parameters.get("quarter")
        period = f"{year}Q{quarter}" if year and quarter else "previous quarter"
        return _short(f"review {what} {period}")
    return None


def run_name(flow: str, fallback: str) -> Callable[[], str]:
    """A `flow_run_name` callable: the record's name, or `fallback` formatted with the parameters when the
    record cannot be read (a name must never fail a run)."""

    def name() -> str:
        from prefect.runtime import flow_run

        from models.core.db import session_scope

        parameters = dict(flow_run.parameters)
        try:
            with session_scope() as session:
                found = name_for(session, flow, parameters, flow_run.scheduled_start_time)
        except Exception:  # noqa: BLE001 - the name is cosmetic; the run must go on
            found = None
        return found or fallback.format(**parameters)

    return name


def name_at_creation(flow: str, parameters: dict[str, Any]) -> str | None:
    """The name to give a run when it is created (None: let Prefect choose, the flow renames it on start)."""
    from models.core.db import session_scope

    try:
        with session_scope() as session:
            return name_for(session, flow, parameters)
    except Exception:  # noqa: BLE001 - cosmetic; never blocks starting a run
        return None
