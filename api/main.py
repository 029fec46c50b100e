"""The FastAPI application: the authenticated front door of the orchestrator."""

from __future__ import annotations

from fastapi import FastAPI

from api import errors
from api.routers import (
    alerts,
    approvals,
    audit,
    cis,
    contracts,
    health,
    incidents,
    inspections,
    pages,
    people,
    sla,
    tokens,
)

DESCRIPTION = (
    "ITSS operations processes as Prefect flows. Authenticate with `Authorization: Bearer <token>` "
    "(`itss user add NAME --role ROLE` prints one). Errors name the field and the fix."
)


def create_app() -> FastAPI:
    """Build the app with every router and the error handlers."""
    app = FastAPI(title="ITSS process orchestrator", version="0.1.0", description=DESCRIPTION)
    errors.install(app)
    routers = (health, people, tokens, contracts, cis, sla, incidents, alerts, inspections, approvals, audit, pages)
    for module in routers:
        app.include_router(module.router)
    return app


app = create_app()
