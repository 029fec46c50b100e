"""/health: liveness and database reachability, no authentication (for load balancers)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import SessionDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(session: SessionDep) -> JSONResponse:
    """200 when the API and its database answer, 503 otherwise."""
    try:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except Exception as exc:  # any driver error means "not healthy", which is the answer
        return JSONResponse(status_code=503, content={"status": "unhealthy", "database": type(exc).__name__})
    return JSONResponse(content={"status": "ok", "database": "ok"})
