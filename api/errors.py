"""Error bodies that say which field was wrong and how to fix it."""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from models.business_time import CalendarNotCoveredError
from models.directory import DuplicateError
from models.errors import FieldError

# A model-level check names the field it is about at the start of its message ("rollback: a major
# change needs rollback steps"); that name completes the error's location.
_NAMED = re.compile(r"^([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*): (.+)$", re.S)


def _entry(error: dict) -> dict[str, str]:
    parts = [str(p) for p in error["loc"] if p not in ("body", "query", "path")]
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    named = _NAMED.match(message)
    if named:
        parts.append(named.group(1))
        message = named.group(2)
    return {"field": ".".join(parts) or "body", "message": message}


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """422 with one entry per bad field: {"field", "message"}; detail summarises them."""
    assert isinstance(exc, RequestValidationError)
    errors = [_entry(e) for e in exc.errors()]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return JSONResponse(status_code=422, content={"detail": f"invalid request — {summary}", "errors": errors})


async def duplicate_error(_request: Request, exc: Exception) -> JSONResponse:
    """409 naming the field whose value is taken."""
    assert isinstance(exc, DuplicateError)
    return JSONResponse(
        status_code=409, content={"detail": str(exc), "errors": [{"field": exc.field, "message": str(exc)}]}
    )


async def integrity_error(_request: Request, exc: Exception) -> JSONResponse:
    """409 for a constraint the database caught (a race past our own checks)."""
    return JSONResponse(
        status_code=409,
        content={"detail": "the change conflicts with existing data (a unique or reference constraint); "
                 "reload and try again"},
    )


async def calendar_error(_request: Request, exc: Exception) -> JSONResponse:
    """422 when business time falls in a year with no published statutory calendar."""
    return JSONResponse(status_code=422, content={"detail": str(exc)})


class FieldErrors(Exception):
    """Raised by a route that validates beyond its body model: 422 in the same shape as pydantic's."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


async def field_errors(_request: Request, exc: Exception) -> JSONResponse:
    """422 with one entry per bad field."""
    assert isinstance(exc, FieldErrors)
    return JSONResponse(status_code=422, content={"detail": f"invalid request — {exc}", "errors": exc.errors})


async def domain_field_error(_request: Request, exc: Exception) -> JSONResponse:
    """422 for a value the domain refused (an unknown CI, a window ending before it starts)."""
    assert isinstance(exc, FieldError)
    errors = [{"field": exc.field, "message": exc.message}]
    return JSONResponse(status_code=422, content={"detail": f"invalid request — {exc}", "errors": errors})


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(FieldErrors, field_errors)
    app.add_exception_handler(FieldError, domain_field_error)
    app.add_exception_handler(DuplicateError, duplicate_error)
    app.add_exception_handler(IntegrityError, integrity_error)
    app.add_exception_handler(CalendarNotCoveredError, calendar_error)
