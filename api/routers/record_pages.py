"""Pages for the records a gate links to, in the same signed-in session as the approval page (its cookie):
the full incident ticket and a quarterly review's report. Only GETs: nothing here changes state, so the
SameSite=Strict cookie is enough against cross-site requests."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import Caller, SessionDep
from api.gate_subject import _incident
from api.routers.pages import _caller, _to_login, templates
from api.routers.reviews import _readable, _review
from models.directory.roles import RoleKey
from models.incidents.tables import Incident
from models.tenancy import find, timeline

router = APIRouter(prefix="/ui", tags=["pages"], include_in_schema=False)
REVIEW_READERS = {RoleKey.PROJECT_MANAGER, RoleKey.OPS_MANAGER, RoleKey.SERVICE_LEVEL_MANAGER, RoleKey.LEADERSHIP,
                  RoleKey.CUSTOMER_REP}
# The report is a document the system made; in the browser it may show its styles and images, never run script.
REPORT_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _problem(request: Request, caller: Caller, status_code: int, text: str) -> Response:
    return templates.TemplateResponse(request, "problem.html", {"caller": caller, "text": text},
                                      status_code=status_code)


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(incident_id: int, request: Request, session: SessionDep) -> Response:
    """The full ticket: facts, CIs, SLA clocks and the whole timeline."""
    caller = _caller(request, session)
    if caller is None:
        return _to_login()
    subject = _incident(session, incident_id)
    # Another organisation's incident looks unknown, as in the API (models/tenancy.py).
    if subject.incident is None or find(session, caller.scope, Incident, incident_id) is None:
        return _problem(request, caller, 404, f"no incident {incident_id}")
    events = timeline(session, caller.scope, incident_id)
    return templates.TemplateResponse(request, "incident.html", {"caller": caller, "subject": subject,
                                                                 "events": events})


@router.get("/reviews/{review_id}/report", response_class=HTMLResponse)
def review_report(review_id: int, request: Request, session: SessionDep) -> Response:
    """A quarterly review's report, opened from its gate with the page's own sign-in (no bearer token needed)."""
    caller = _caller(request, session)
    if caller is None:
        return _to_login()
    if not caller.roles & REVIEW_READERS:
        return _problem(request, caller, 403, "reading review reports needs one of the roles: "
                        + ", ".join(sorted(r.value for r in REVIEW_READERS)))
    try:
        review = _review(session, review_id, caller)
        _readable(session, review, caller, "report.html (page)")
    except HTTPException as exc:
        return _problem(request, caller, exc.status_code, str(exc.detail))
    return HTMLResponse(review.html, headers={"Content-Security-Policy": REPORT_CSP})
