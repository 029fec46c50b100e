"""/ui/inbox: what the demo would have sent to the signed-in person (the demo's local notification inbox)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import SessionDep
from api.routers.pages import _caller, _to_login, templates
from config.settings import get_settings
from itss.demo_estate import load_ports, read_inbox

router = APIRouter(prefix="/ui", tags=["pages"], include_in_schema=False)


@router.get("/inbox", response_class=HTMLResponse)
def inbox(request: Request, session: SessionDep) -> Response:
    """The signed-in person's demo inbox, newest first (title and body shown as text, never as HTML)."""
    caller = _caller(request, session)
    if caller is None:
        return _to_login()
    settings = get_settings()
    return templates.TemplateResponse(request, "inbox.html", {
        "caller": caller, "demo": load_ports(settings) is not None,
        "messages": read_inbox(settings, caller.person.name)})
