"""Signing in on a phone without typing a token: ask for a one-time link, receive it on your own channel,
open it, confirm. The confirmation is a POST so a chat app's link preview cannot spend the link."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import select

from api.deps import SessionDep
from api.routers.pages import signed_in, templates
from models.core.rows import stored_id
from models.directory.people import Person
from models.directory.signin import peek_link, use_link
from notifications.signin import send_signin_link

router = APIRouter(prefix="/ui", tags=["pages"], include_in_schema=False)
SPENT = "This sign-in link was already used or has expired. Ask for a new one below."


@router.post("/login/link", response_class=HTMLResponse)
def request_link(request: Request, session: SessionDep, name: Annotated[str, Form()]) -> Response:
    """Send a one-time sign-in link to the named person's own channels; the page says where it went."""
    name = name.strip()
    person = session.exec(select(Person).where((Person.name == name) | (Person.email == name))).first()
    sent = send_signin_link(session, person) if person is not None and person.active else []
    if sent:
        note = f"A one-time sign-in link for {name} was sent to: {', '.join(sent)}. It works once, for a short time."
    else:
        note = (f"No link was sent: {name!r} has no channel of their own to receive it (ask your administrator to "
                "add one to your profile, or sign in with your token).")
    return templates.TemplateResponse(request, "login.html", {"caller": None, "note": note, "sent": bool(sent)})


@router.get("/login/link/{secret}", response_class=HTMLResponse)
def confirm_link(secret: str, request: Request, session: SessionDep) -> Response:
    """Show whose link this is and a button to sign in (the link is not spent yet)."""
    link = peek_link(session, secret)
    if link is None:
        return templates.TemplateResponse(request, "login.html", {"caller": None, "error": SPENT}, status_code=410)
    person = session.get(Person, link.person_id)
    return templates.TemplateResponse(request, "signin_link.html", {"caller": None, "person": person,
                                                                    "secret": secret})


@router.post("/login/link/{secret}")
def use(secret: str, request: Request, session: SessionDep) -> Response:
    """Spend the link (once) and open a page session; a gate's link goes straight to its gate."""
    link = use_link(session, secret)
    if link is None:
        session.rollback()
        return templates.TemplateResponse(request, "login.html", {"caller": None, "error": SPENT}, status_code=410)
    person = session.get(Person, link.person_id)
    if person is None or not person.active:
        session.commit()
        return templates.TemplateResponse(request, "login.html", {"caller": None, "error": SPENT}, status_code=410)
    target = f"/ui/gates/{link.purpose.removeprefix('gate:')}" if link.purpose.startswith("gate:") else "/ui"
    return signed_in(request, session, stored_id(person), via="link", to=target)
