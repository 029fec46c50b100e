"""The approval page shows requesters' and monitors' text as text: no live links to scripts, a strict CSP."""

from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from models.directory.roles import RoleKey
from models.directory.service import create_person, issue_token
from models.gates.service import open_gate
from models.gates.tables import ApprovalGate, ApprovalVote, GateSpec
from notifications.safe_html import safe_markdown

# The H1 payloads: a change description that made a CAB member's click cast a vote, and its cousins.
HOSTILE = ("**Window:** 22:00\n\n[release notes](javascript:fetch('/ui/gates/1/decision',{method:'POST'}))\n\n"
           "[ref][1]\n\n[1]: JaVaScRiPt:alert(1)\n\n<a href=\"javascript:alert(2)\">raw link</a>\n\n"
           "<img src=x onerror=alert(3)>\n\n![pixel](data:image/svg+xml;base64,PHN2Zz4=)\n\n"
           "[data](data:text/html,<script>alert(4)</script>)\n\n<script>alert(5)</script>\n\n"
           "[runbook](https://wiki.example/runbook)")


class Tags(HTMLParser):
    """The elements a browser would build from the page, with their attributes (text is not markup)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def assert_inert(html: str) -> list[str]:
    """No script-capable element, no event handler, links only to http(s)/mailto; returns the link targets."""
    tags = Tags(html).found
    assert not [t for t, _ in tags if t in {"img", "iframe", "object", "embed", "svg", "style"}]
    # Script only as files the API serves itself (the countdown), never inline: the CSP allows 'self' only.
    assert all((attrs.get("src") or "").startswith("/ui/static/") for t, attrs in tags if t == "script")
    assert not [a for _, attrs in tags for a in attrs if a.startswith("on")]
    hrefs = [attrs["href"] or "" for t, attrs in tags if t == "a" and "href" in attrs]
    assert all(re.match(r"(https?|mailto):|/", h) for h in hrefs), hrefs
    return hrefs


def test_safe_markdown_keeps_formatting_and_https_links_only() -> None:
    html = str(safe_markdown(HOSTILE))
    assert "<strong>Window:</strong>" in html
    assert '<a href="https://wiki.example/runbook"' in html
    assert assert_inert(html) == ["https://wiki.example/runbook"]
    assert "&lt;script&gt;alert(5)&lt;/script&gt;" in html  # raw HTML shown as the text it was


@pytest.mark.usefixtures("prefect_harness")
def test_gate_page_has_no_script_link_and_sends_csp(client: TestClient, session: Session) -> None:
    spec = GateSpec(key="cab", subject="升级 core-sw-01 <b>固件</b>", details_md=HOSTILE,
                    eligible_roles=[RoleKey.CAB_MEMBER], timeout_minutes=120)
    gate, _ = open_gate(session, flow_run_id=str(uuid.uuid4()), spec=spec, actor="test")
    person = create_person(session, name="cab1", roles=[RoleKey.CAB_MEMBER], actor="test")
    _, secret = issue_token(session, person_id=person.id, actor="test")
    session.commit()
    client.post("/ui/login", data={"token": secret})

    page = client.get(f"/ui/gates/{gate.id}")
    assert page.status_code == 200
    assert "https://wiki.example/runbook" in assert_inert(page.text)
    assert "<style" not in page.text and " style=" not in page.text  # CSS comes from /ui/static
    assert "升级 core-sw-01 &lt;b&gt;固件&lt;/b&gt;" in page.text
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    assert re.search(r'name="csrf" value="[0-9a-f]{64}"', page.text)  # the CSRF token is still there
    css = client.get("/ui/static/ui.css")
    assert css.status_code == 200 and ".card" in css.text

    # Nothing was decided by rendering the page.
    assert session.exec(select(ApprovalVote).where(ApprovalVote.gate_id == gate.id)).all() == []
    assert session.get(ApprovalGate, gate.id).status.value == "pending"


def test_login_page_sends_csp_and_the_api_keeps_its_own_headers(client: TestClient) -> None:
    assert "frame-ancestors 'none'" in client.get("/ui/login").headers["content-security-policy"]
    assert "content-security-policy" not in client.get("/health").headers
