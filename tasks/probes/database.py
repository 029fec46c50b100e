"""A database connection check: connect and SELECT 1 (any SQLAlchemy URL, kept in an env var)."""

from __future__ import annotations

import asyncio
import os
import time

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from models.inspection.probes import DatabaseParams
from models.inspection.tables import CheckStatus
from tasks.probes.base import ProbeContext, Reading, Target, probe


def _select_one(url: str) -> float:
    engine = create_engine(url, poolclass=NullPool)
    try:
        started = time.perf_counter()
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return (time.perf_counter() - started) * 1000
    finally:
        engine.dispose()


@probe("db_connect")
async def db_connect(target: Target, params: DatabaseParams, ctx: ProbeContext) -> Reading:
    """Open a connection and run SELECT 1; the value is the time it took."""
    url = os.environ.get(params.url_env)
    if not url:
        return Reading(None, f"env var {params.url_env} (the database URL) is not set on this worker",
                       CheckStatus.ERROR)
    try:
        elapsed = await asyncio.to_thread(_select_one, url)
    except Exception as exc:  # the message names host and reason, never the URL (it holds a password)
        reason = str(getattr(exc, "orig", exc)).splitlines()[0][:300]
        return Reading(None, f"cannot connect: {reason}", CheckStatus.CRITICAL)
    return Reading(round(elapsed, 3), f"connected and ran SELECT 1 in {elapsed:.0f} ms")
