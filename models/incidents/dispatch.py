"""Which incidents still need their emergency-response run, and the claims that keep two dispatchers apart."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, or_, update
from sqlmodel import Session, col, select

from models.core.clock import utcnow
from models.core.rows import id_of
from models.incidents.tables import Incident, IncidentStatus, Source

CLAIM_PREFIX = "claim:"


# A claim is held while its holder asks Prefect for the run (normally well under a second). A holder
# that died (the API killed mid-dispatch) blocks its incidents this long before the sweeper takes them
# over: with 2 min, an incident waited up to 2.5 min before anybody was paged. A live holder that is
# slower than this loses its claim and deletes the run it made (`finish_dispatch`), so no incident
# gets two runs.
STALE_CLAIM = timedelta(seconds=60)


def claim_dispatch(session: Session, incident_id: int, *, holding: str | None = None) -> str | None:
    """Reserve the right to start this incident's flow run: free, or a claim older than STALE_CLAIM, or
    (`holding`) renew exactly that claim if it is still fresh — the sweeper may have taken it over.
    Returns the new claim, or None when somebody else holds it."""
    now = utcnow()
    stale = f"{CLAIM_PREFIX}{(now - STALE_CLAIM).isoformat()}"
    condition: ColumnElement[bool]
    if holding is not None:
        condition = (col(Incident.flow_run_id) == holding) & (col(Incident.flow_run_id) >= stale)
    else:
        condition = or_(col(Incident.flow_run_id).is_(None),
                        col(Incident.flow_run_id).startswith(CLAIM_PREFIX) & (col(Incident.flow_run_id) < stale))
    claim = f"{CLAIM_PREFIX}{now.isoformat()}"
    result = session.exec(  # type: ignore[call-overload]
        update(Incident).where(col(Incident.id) == incident_id, col(Incident.status) != IncidentStatus.CLOSED,
                               condition)
        .values(flow_run_id=claim, dispatch_attempts=Incident.dispatch_attempts + 1)
    )
    session.commit()
    return claim if result.rowcount == 1 else None


def claim_new(incident: Incident) -> str:
    """Claim a just-created incident's dispatch in the transaction that creates it, so the sweeper
    leaves it to the dispatcher; returns the claim for `claim_dispatch(holding=...)`."""
    incident.flow_run_id = f"{CLAIM_PREFIX}{utcnow().isoformat()}"
    return incident.flow_run_id


def finish_dispatch(session: Session, incident_id: int, claim: str, flow_run_id: str | None) -> bool:
    """Record the started run's id, or release the claim so the sweeper tries again — only while
    `claim` is still the incident's; False when somebody took it over meanwhile."""
    result = session.exec(  # type: ignore[call-overload]
        update(Incident).where(col(Incident.id) == incident_id, col(Incident.flow_run_id) == claim)
        .values(flow_run_id=flow_run_id))
    session.commit()
    return result.rowcount == 1


def undispatched(session: Session, limit: int = 100) -> list[int]:
    """Open incidents without a flow run (or with a stale claim), oldest first; imports never get one."""
    stale = f"{CLAIM_PREFIX}{(utcnow() - STALE_CLAIM).isoformat()}"
    return list(session.exec(
        select(id_of(Incident)).where(
            Incident.status != IncidentStatus.CLOSED, Incident.source != Source.IMPORT,
            col(Incident.flow_run_id).is_(None)
            | (col(Incident.flow_run_id).startswith(CLAIM_PREFIX) & (col(Incident.flow_run_id) < stale)))
        .order_by(col(Incident.id)).limit(limit)))
