"""Error bodies that say which field was wrong and how to fix it."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.core.errors import FieldError
from models.directory.service import DuplicateError

# A model-level check names the field it is about at the start of its message ("rollback: a major
# change needs rollback steps"); that name completes the error's location.
_NAMED = re.compile(r"^([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*): (.+)$", re.S)


class FieldProblem(BaseModel):
    """One bad value: which field, what is wrong with it and how to fix it."""

    field: str = Field(examples=["attributes"])
    message: str = Field(examples=["Input should be a valid dictionary"])
    row: int | None = Field(default=None, description="the row of an import file, for imports")


class ErrorBody(BaseModel):
    """Every error the API answers: a sentence for people, and the fields at fault for programs."""

    detail: str = Field(examples=["invalid request — attributes: Input should be a valid dictionary"])
    errors: list[FieldProblem] = Field(default_factory=list, description="empty unless particular fields are at fault")


RETRY_AFTER_SECONDS = 15


def _body(status: int, description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# Documented on every operation (FastAPI's default 422 describes a body this API never sends).
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _body(400, "The body cannot be read: not JSON, or not UTF-8"),
    401: _body(401, "No token, or an invalid, expired or revoked one (WWW-Authenticate: Bearer)"),
    403: _body(403, "The token's person lacks the role; the detail names the roles needed"),
    404: _body(404, "No such record"),
    409: _body(409, "The record's state or a unique value conflicts; the detail says which"),
    422: _body(422, "A value is wrong; `errors` names each field and the fix"),
}


def error_media_types(document: dict[str, Any]) -> dict[str, Any]:
    """Describe error bodies as JSON on operations whose success is HTML, CSV or a file (FastAPI gives them
    the success's media type)."""
    for path in document.get("paths", {}).values():
        for operation in path.values():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if code[0] in "45" and content and "application/json" not in content:
                    schema = next(iter(content.values())).get("schema")
                    response["content"] = {"application/json": {"schema": schema}}
    return document


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
                 "reload and try again", "errors": []},
    )


async def out_of_range(_request: Request, exc: Exception) -> JSONResponse:
    """422 for a number the database cannot hold (a typed id catches most of them before this)."""
    detail = ("a value in the request does not fit the database: ids go up to 2^63-1, numbers to 2^31-1, "
              "text to the maxLength the API documents")
    return JSONResponse(status_code=422, content={"detail": detail, "errors": []})


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


def _named(text: str) -> list[dict[str, Any]]:
    named = _NAMED.match(text)
    return [{"field": named.group(1), "message": named.group(2)}] if named else []


async def http_error(_request: Request, exc: Exception) -> JSONResponse:
    """Every HTTPException in the documented {detail, errors} shape; a 422 naming its field lists it."""
    assert isinstance(exc, StarletteHTTPException)
    detail: Any = exc.detail
    errors: list[dict[str, Any]] = []
    if isinstance(detail, dict):  # {"message", "errors"} from a route reporting several problems
        errors, detail = list(detail.get("errors", [])), detail.get("message", "invalid request")
    elif exc.status_code == 422:
        errors = _named(str(detail))
    headers = dict(exc.headers or {})
    if exc.status_code == 503:  # Prefect busy or away: every such answer says when to try again
        headers.setdefault("Retry-After", str(RETRY_AFTER_SECONDS))
    return JSONResponse(status_code=exc.status_code, content={"detail": str(detail), "errors": errors},
                        headers=headers or None)


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(FieldErrors, field_errors)
    app.add_exception_handler(FieldError, domain_field_error)
    app.add_exception_handler(DuplicateError, duplicate_error)
    app.add_exception_handler(IntegrityError, integrity_error)
    # SQLite's driver raises OverflowError for integers past 64 bits; PostgreSQL answers DataError.
    app.add_exception_handler(OverflowError, out_of_range)
    app.add_exception_handler(DataError, out_of_range)
