"""/health: the system's pulse, no authentication (for load balancers, `itss status` and monitoring)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import SessionDep
from api.pulse import snapshot
from config.settings import get_settings

router = APIRouter(tags=["health"])


@router.get("/health")
def health(session: SessionDep) -> JSONResponse:
    """200 with `ok`, `starting` or `degraded` (and the reasons) while the API and its database answer; 503 when
    the database does not."""
    try:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except Exception as exc:  # any driver error means "not healthy", which is the answer
        return JSONResponse(status_code=503, content={"status": "unhealthy", "database": type(exc).__name__})
    if not get_settings().pulse_enabled:  # nothing watches the rest: say only what was checked
        return JSONResponse(content={"status": "ok", "database": "ok", "pulse": "disabled"})
    pulse = snapshot()
    return JSONResponse(content={**pulse, "database": "ok"})
