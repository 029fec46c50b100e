"""Per-request size limits, checked before a body is read: one post must not be able to starve the API."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from config.settings import get_settings

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]


def body_limit(path: str) -> tuple[int, str] | None:
    """(max bytes, what to do instead) for the POST routes that take large bodies; None for the rest."""
    settings = get_settings()
    if path.startswith("/alerts/"):
        return settings.max_alert_body_bytes, ("split the alerts over several posts (Alertmanager: lower "
                                               "max_alerts in the receiver, or group_by more labels), or raise "
                                               "ITSS_MAX_ALERT_BODY_BYTES")
    if path == "/incidents/import":
        return settings.max_import_bytes, "split the file into several imports, or raise ITSS_MAX_IMPORT_BYTES"
    return None


def too_large(what: str, limit: int, unit: str, fix: str) -> dict[str, Any]:
    """The body of a 413 in the API's one error shape ({detail, errors}): the limit and what to do."""
    message = f"{what}: at most {limit} {unit} per request; {fix}"
    return {"detail": message, "errors": [{"field": what.split(" ")[0], "message": message}],
            "limit": limit, "unit": unit}


class BodyLimit:
    """ASGI middleware: a POST whose Content-Length exceeds its route's limit gets 413 unread."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and (rule := body_limit(scope["path"])):
            limit, fix = rule
            length = dict(scope["headers"]).get(b"content-length")
            if length is not None and length.isdigit() and int(length) > limit:
                body = json.dumps(too_large("body", limit, "bytes", fix)).encode()
                await send({"type": "http.response.start", "status": 413,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
