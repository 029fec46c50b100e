"""/ui: the approval page for phones and laptops — sign in with a token, see my gates, decide."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import col, select

from api.deps import Caller, SessionDep, make_caller
from api.gate_subject import DESTRUCTIVE, by_urgency, subject_of
from api.routers.approvals import load_gate, pending_for, take_decision
from config.settings import get_settings
from models.core.clock import utcnow
from models.core.rows import stored_id
from models.core.types import Id
from models.directory.people import Person
from models.directory.service import authenticate
from models.directory.signin import open_session, revoke_sessions, session_person
from models.directory.tokens import hash_token
from models.gates.service import gate_secret, may_decide
from models.gates.tables import ApprovalVote, Decision, GateStatus
from notifications.render import local_time
from notifications.safe_html import safe_markdown

router = APIRouter(prefix="/ui", tags=["pages"], include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
templates.env.filters["local"] = local_time


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if value else ""


def _left(value: datetime | None) -> str:
    # The server's rendering of a countdown; static/countdown.js keeps it live.
    if value is None:
        return "—"
    minutes = int((value - utcnow()).total_seconds() // 60)
    if minutes < 0:
        return f"超时 overdue {_span(-minutes)}"
    return f"剩余 {_span(minutes)} left"


def _span(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // 1440} d {minutes % 1440 // 60} h"


templates.env.filters["iso"] = _iso
templates.env.filters["left"] = _left
templates.env.filters["span"] = _span
templates.env.filters["markdown"] = safe_markdown  # `{{ text|markdown }}`: user or monitor text, sanitised
COOKIE = "itss_token"


def _caller(request: Request, session: SessionDep) -> Caller | None:
    # The cookie holds a page session's secret (never an API token): it expires and can be revoked.
    secret = request.cookies.get(COOKIE)
    person_id = session_person(session, secret) if secret else None
    person = session.get(Person, person_id) if person_id is not None else None
    if person is None or not person.active:
        return None
    return make_caller(session, person)


def _csrf(request: Request) -> str:
    # Bound to the signed-in token: a page from another site cannot know it.
    token = request.cookies.get(COOKIE, "")
    return hmac.new(gate_secret(), f"csrf|{hash_token(token)}".encode(), hashlib.sha256).hexdigest()


def _to_login() -> RedirectResponse:
    return RedirectResponse("/ui/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    """The sign-in form."""
    return templates.TemplateResponse(request, "login.html", {"caller": None})


@router.post("/login")
def login(request: Request, session: SessionDep, token: Annotated[str, Form()]) -> Response:
    """Check the token, then open a page session kept in an HttpOnly, SameSite=Strict cookie."""
    person = authenticate(session, secret=token.strip())
    if person is None:
        return templates.TemplateResponse(request, "login.html", {"caller": None,
                                          "error": "That token is not valid (or was revoked)."}, status_code=401)
    return signed_in(request, session, stored_id(person), via="token", to="/ui")


def signed_in(request: Request, session: SessionDep, person_id: int, *, via: str, to: str) -> Response:
    """Open a page session for `person_id` and go to `to` with its cookie."""
    hours = get_settings().session_hours
    secret = open_session(session, person_id=person_id, via=via, ttl=timedelta(hours=hours))
    session.commit()
    response = RedirectResponse(to, status_code=303)
    response.set_cookie(COOKIE, secret, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=int(hours * 3600))
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    """End this page session (revoked on the server, not only forgotten by the browser)."""
    secret = request.cookies.get(COOKIE)
    if secret:
        revoke_sessions(session, secret=secret)
        session.commit()
    response = _to_login()
    response.delete_cookie(COOKIE)
    return response


@router.get("", response_class=HTMLResponse)
def my_gates(request: Request, session: SessionDep) -> Response:
    """Gates waiting for the signed-in person."""
    caller = _caller(request, session)
    if caller is None:
        return _to_login()
    return templates.TemplateResponse(request, "pending.html", {
        "caller": caller, "rows": by_urgency(session, pending_for(session, caller)), "now": utcnow()})


def _gate_page(request: Request, session: SessionDep, caller: Caller, gate_id: Id, message: str = "",
               failed: bool = False, status_code: int = 200) -> Response:
    gate = load_gate(session, gate_id, caller)
    votes = list(session.exec(select(ApprovalVote).where(col(ApprovalVote.gate_id) == gate_id)
                              .order_by(col(ApprovalVote.id))))
    reason = may_decide(gate, person_id=caller.person_id, roles=set(caller.roles))
    voted = any(v.person_id == caller.person_id for v in votes)
    can_decide = gate.status == GateStatus.PENDING and reason is None and not voted
    people = session.exec(select(Person).where(col(Person.id).in_([v.person_id for v in votes])))
    names = {p.id: p.display_name or p.name for p in people}
    return templates.TemplateResponse(request, "gate.html", {
        "caller": caller, "gate": gate, "votes": votes, "details_html": safe_markdown(gate.details_md),
        "can_decide": can_decide, "names": names, "reason": reason if gate.status == GateStatus.PENDING else None,
        "csrf": _csrf(request), "message": message, "failed": failed,
        "subject": subject_of(session, gate, caller.scope), "destructive": DESTRUCTIVE, "now": utcnow()},
        status_code=status_code)


@router.get("/gates/{gate_id}", response_class=HTMLResponse)
def gate_page(gate_id: Id, request: Request, session: SessionDep, done: str | None = None) -> Response:
    """One gate: its subject (incident, change or review), votes, and the decision buttons if the person may
    decide; `done` is the decision just recorded (the redirect after the POST)."""
    caller = _caller(request, session)
    if caller is None:
        return _to_login()
    message = ""
    if done:
        gate = load_gate(session, gate_id, caller)
        message = f"已记录 Recorded: {done[:40]}. The gate is now {gate.status.value}."
    return _gate_page(request, session, caller, gate_id, message)


@router.post("/gates/{gate_id}/decision", response_class=HTMLResponse)
def decide_page(
    gate_id: Id, request: Request, session: SessionDep, decision: Annotated[str, Form()],
    csrf: Annotated[str, Form()], comment: Annotated[str, Form()] = "",
) -> Response:
    """Record the decision exactly as the API does, then show the result."""
    caller = _caller(request, session)
    if caller is None:
        return _to_login()
    if not hmac.compare_digest(csrf, _csrf(request)):
        raise HTTPException(403, "the form expired; reload the page and decide again")
    try:
        result = take_decision(session, caller, gate_id, Decision(decision=decision, comment=comment))
    except HTTPException as exc:
        return _gate_page(request, session, caller, gate_id, str(exc.detail), failed=True,
                          status_code=exc.status_code)
    # Redirect after the POST: a reload does not post the decision again, and the URL is the gate's.
    return RedirectResponse(f"/ui/gates/{result.gate.id}?{urlencode({'done': decision})}", status_code=303)
