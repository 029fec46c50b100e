"""The approval page: sign in, see my gates, decide — in the test client and in headless Chromium."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from models.directory.roles import RoleKey
from models.directory.service import create_person, issue_token
from models.gates.service import open_gate
from models.gates.tables import ApprovalGate, GateSpec, GateStatus

pytestmark = pytest.mark.usefixtures("prefect_harness")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def setup_gate(session: Session, requested_by: int | None = None) -> ApprovalGate:
    spec = GateSpec(key="cab", subject="升级 core-sw-01 固件 (Comware 7.1.045)",
                    details_md="**Window:** 22:00–23:00\n\n<script>alert('x')</script>\n\n- rollback: restore 7.1.040",
                    eligible_roles=[RoleKey.CAB_MEMBER], requested_by=requested_by, timeout_minutes=120)
    gate, _ = open_gate(session, flow_run_id=str(uuid.uuid4()), spec=spec, actor="test")
    session.commit()
    return gate


def member(session: Session, name: str, role: RoleKey = RoleKey.CAB_MEMBER) -> tuple[int, str]:
    person = create_person(session, name=name, display_name=f"{name} 孙伟", roles=[role], actor="test")
    _, secret = issue_token(session, person_id=person.id, actor="test")
    session.commit()
    return person.id, secret


def test_page_flow_without_browser(client: TestClient, session: Session) -> None:
    gate = setup_gate(session)
    _, secret = member(session, "cab1")
    assert client.get("/ui", follow_redirects=False).headers["location"] == "/ui/login"
    assert client.post("/ui/login", data={"token": "itss_nope"}).status_code == 401
    assert client.post("/ui/login", data={"token": secret}, follow_redirects=False).status_code == 303
    listing = client.get("/ui")
    assert "升级 core-sw-01" in listing.text
    page = client.get(f"/ui/gates/{gate.id}")
    assert "<strong>Window:</strong>" in page.text and "<script>alert" not in page.text
    forged = client.post(f"/ui/gates/{gate.id}/decision", data={"decision": "approve", "csrf": "x"})
    assert forged.status_code == 403
    session.refresh(gate)
    assert gate.status == GateStatus.PENDING


def test_requester_sees_no_buttons(client: TestClient, session: Session) -> None:
    requester, secret = member(session, "req")
    gate = setup_gate(session, requested_by=requester)
    client.post("/ui/login", data={"token": secret})
    page = client.get(f"/ui/gates/{gate.id}")
    assert "four-eyes" in page.text and 'value="approve"' not in page.text


@pytest.mark.browser
def test_approve_in_headless_chromium(live_api: str, session: Session, artifacts_dir: Path) -> None:
    if CHROMIUM is None:
        if os.environ.get("ITSS_REQUIRE_PEERS"):
            pytest.fail("chromium is required here (CI installs Debian's 'chromium')")
        pytest.skip("needs Debian's 'chromium' package (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    gate = setup_gate(session)
    _, secret = member(session, "cab-phone")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)  # a phone
        page.goto(f"{live_api}/ui")
        page.fill("#token", secret)
        page.click("button[type=submit]")
        page.click(f"a[href='/ui/gates/{gate.id}']")
        assert "Window:" in page.inner_text(".details")
        page.fill("#comment", "窗口内执行，已确认回退方案")
        page.screenshot(path=str(artifacts_dir / "approval-page-before.png"), full_page=True)
        page.click("button.approve")
        assert page.inner_text("#status") == "approved"
        assert "Recorded: approve" in page.inner_text("#message")
        page.screenshot(path=str(artifacts_dir / "approval-page-approved.png"), full_page=True)
        browser.close()
    session.expire_all()
    decided = session.get(ApprovalGate, gate.id)
    assert decided.status == GateStatus.APPROVED
    assert (artifacts_dir / "approval-page-approved.png").stat().st_size > 10_000
