"""/ui: the approval page for phones and laptops — sign in with a token, see my gates, decide."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Annotated

import markdown
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import col, select

from api.deps import Caller, SessionDep
from api.routers.approvals import load_gate, pending_for, take_decision
from models.directory import authenticate, roles_of
from models.gate_service import gate_secret, may_decide
from models.gates import ApprovalVote, Decision, GateStatus
from models.people import Person
from models.tokens import hash_token
from notifications.render import local_time

router = APIRouter(prefix="/ui", tags=["pages"], include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
templates.env.filters["local"] = local_time
COOKIE = "itss_token"


def _caller(request: Request, session: SessionDep) -> Caller | None:
    secret = request.cookies.get(COOKIE)
    person = authenticate(session, secret=secret) if secret else None
    if person is None:
        return None
    return Caller(person=person, roles=frozenset(roles_of(session, person_id=person.id)))


def _csrf(request: Request) -> str:
    # Bound to the signed-in token: a page from another site cannot know it.
    token = request.cookies.get(COOKIE, "")
    return hmac.new(gate_secret(), f"csrf|{hash_token(token)}".encode(), hashlib.sha256).hexdigest()


def _details_html(text: str) -> str:
    # Gate details can quote alert text from outside; neutralise HTML, keep Markdown.
    return markdown.markdown(text.replace("&", "&amp;").replace("<", "&lt;"))


def _to_login() -> RedirectResponse:
    return RedirectResponse("/ui/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    """The sign-in form."""
    return templates.TemplateResponse(request, "login.html", {"caller": None})


@router.post("/login")
def login(request: Request, session: SessionDep, token: Annotated[str, Form()]) -> Response:
    """Check the token, then keep it in an HttpOnly, SameSite=Strict cookie."""
    if authenticate(session, secret=token.strip()) is None:
        return templates.TemplateResponse(request, "login.html", {"caller": None,
                                          "error": "That token is not valid (or was revoked)."}, status_code=401)
    response = RedirectResponse("/ui", status_code=303)
    response.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=12 * 3600)
    return response


@router.post("/logout")
def logout() -> Response:
    """Forget the token."""
    response = _to_login()
    response.delete_cookie(COOKIE)
    return response


@router.get("", response_class=HTMLResponse)
def my_gates(request: Request, session: SessionDep) -> Response:
    """Gates waiting for the signed-in person."""
    caller = _caller(request, session)
    if caller is None:
        return _to_login()
    return templates.TemplateResponse(request, "pending.html", {"caller": caller,
                                                                "gates": pending_for(session, caller)})


def _gate_page(request: Request, session: SessionDep, caller: Caller, gate_id: int, message: str = "",
               failed: bool = False, status_code: int = 200) -> Response:
    gate = load_gate(session, gate_id)
    votes = list(session.exec(select(ApprovalVote).where(ApprovalVote.gate_id == gate_id).order_by(ApprovalVote.id)))
    reason = may_decide(gate, person_id=caller.person.id, roles=set(caller.roles))
    voted = any(v.person_id == caller.person.id for v in votes)
    can_decide = gate.status == GateStatus.PENDING and reason is None and not voted
    people = session.exec(select(Person).where(col(Person.id).in_([v.person_id for v in votes])))
    names = {p.id: p.display_name or p.name for p in people}
    return templates.TemplateResponse(request, "gate.html", {
        "caller": caller, "gate": gate, "votes": votes, "details_html": _details_html(gate.details_md),
        "can_decide": can_decide, "names": names, "reason": reason if gate.status == GateStatus.PENDING else None,
        "csrf": _csrf(request), "message": message, "failed": failed}, status_code=status_code)


@router.get("/gates/{gate_id}", response_class=HTMLResponse)
def gate_page(gate_id: int, request: Request, session: SessionDep) -> Response:
    """One gate: details, votes, and the decision buttons if the person may decide."""
    caller = _caller(request, session)
    if caller is None:
        return _to_login()
    return _gate_page(request, session, caller, gate_id)


@router.post("/gates/{gate_id}/decision", response_class=HTMLResponse)
def decide_page(
    gate_id: int, request: Request, session: SessionDep, decision: Annotated[str, Form()],
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
    status = result.gate.status.value
    return _gate_page(request, session, caller, gate_id, f"Recorded: {decision}. The gate is now {status}.")
