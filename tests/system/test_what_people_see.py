"""A fresh `itss up --demo`: the demo inspection probes the simulated estate on loopback only, gives ok,
warning and critical results, opens an incident whose notifications land in the demo inbox, and every
run on Prefect's Runs page is named after its record."""

from __future__ import annotations

import ipaddress
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from itss.demo_history import past_quarter
from tests.support.system import System, start_system, wait_until

PLAN = "EGOV daily core inspection"


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory):
    started = start_system(tmp_path_factory.mktemp("demo-estate"), demo=True)
    yield started
    started.stop()


@pytest.fixture(scope="module")
def inspection(system: System) -> dict:
    # The demo plan runs commands on CIs: a CAB member approves it at its gate before it may run
    # (the sweeper opens that gate; nobody wrote the seeded plan, so any CAB member may decide).
    plans = {p["name"]: p for p in system.get("/inspection-plans", who="oncall").json()}
    assert plans[PLAN]["approval_status"] == "pending", plans[PLAN]
    gate = _gate(system, "cab1", "inspection_plan", plans[PLAN]["id"])
    decided = system.post(f"/approvals/{gate['id']}/decision", who="cab1",
                          json={"decision": "approve", "comment": "read the commands: read-only"})
    assert decided.status_code == 200, decided.text
    wait_until(lambda: next(p for p in system.get("/inspection-plans", who="oncall").json()
                            if p["name"] == PLAN)["approval_status"] == "approved",
               timeout=300, what="the demo plan approved")

    def start() -> httpx.Response | None:  # 503 until the runner has registered the deployment
        response = system.post(f"/inspection-plans/{PLAN}/runs", who="oncall")
        assert response.status_code in (202, 503), response.text
        return response if response.status_code == 202 else None

    started = wait_until(start, timeout=300, what="the routine_inspection deployment to take a run")
    flow_run_id = started.json()["flow_run_id"]

    def finished() -> dict | None:
        runs = system.get("/inspection-runs", who="oncall").json()
        return next((r for r in runs if r["flow_run_id"] == flow_run_id and r["status"] not in ("running", "pending")),
                    None)

    return wait_until(finished, timeout=600, what="the demo inspection run to finish")


def test_demo_cis_live_on_loopback_only(system: System) -> None:
    cis = system.get("/cis", who="admin", params={"limit": 500}).json()
    assert len(cis) == 20
    assert all(ipaddress.ip_address(ci["ip"]).is_loopback for ci in cis), [ci["ip"] for ci in cis]


def test_demo_inspection_gives_ok_warning_and_critical_from_the_estate(system: System, inspection: dict) -> None:
    results = system.get(f"/inspection-runs/{inspection['id']}/results", who="oncall").json()
    counts = Counter(r["status"] for r in results)
    assert counts["ok"] > 20 and counts["warning"] == 1 and counts["critical"] == 1, counts
    assert counts["error"] == 0, [r for r in results if r["status"] == "error"]
    by_ci = {ci["id"]: ci["name"] for ci in system.get("/cis", who="admin", params={"limit": 500}).json()}
    bad = {(by_ci[r["ci_id"]], r["check_key"], r["status"]) for r in results if r["status"] != "ok"}
    assert bad == {("vpn-01", "tls_cert", "warning"), ("lb-01", "portal", "critical")}
    assert "demo estate: 20 simulated CIs on loopback" in system.log("demo-estate")


def _sign_in(client: httpx.Client, system: System, who: str) -> httpx.Client:
    response = client.post("/ui/login", data={"token": system.tokens[who]})
    assert response.status_code == 303, response.text
    return client


def test_the_incident_it_opens_is_in_the_demo_inbox(system: System, inspection: dict) -> None:
    def portal_incident() -> dict | None:
        return next((i for i in system.get("/incidents", who="desk").json() if "lb-01" in i["title"]), None)

    incident = wait_until(portal_incident, timeout=120, what="the incident of the critical portal check")
    # Generous: on a busy machine the runner may take minutes to start the incident's run.
    with httpx.Client(base_url=system.api, timeout=30) as page:
        _sign_in(page, system, "oncall")

        def in_inbox() -> str | None:
            html = page.get("/ui/inbox").text
            return html if incident["title"] in html and html.count('class="card message"') >= 2 else None

        html = wait_until(in_inbox, timeout=600, what="the incident's notifications in the on-call inbox")
    assert "Portal health" in html
    inbox = (system.data_dir / "demo-inbox.jsonl")
    assert inbox.stat().st_mode & 0o777 == 0o600


def test_runs_are_named_after_their_records(system: System, inspection: dict) -> None:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    incident = next(i for i in system.get("/incidents", who="desk").json() if "lb-01" in i["title"])

    def names() -> dict[str, str] | None:
        with system.prefect_client() as client:
            runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[inspection["flow_run_id"], incident["flow_run_id"]])))
        found = {str(r.id): r.name for r in runs}
        return found if len(found) == 2 and found[incident["flow_run_id"]].startswith("incident-") else None

    found = wait_until(names, timeout=120, what="both runs on the Prefect server")
    assert found[inspection["flow_run_id"]].startswith(f"inspection {PLAN} 20")
    assert found[incident["flow_run_id"]] == f"incident-{incident['id']} {incident['title']}"[:120]


# --- the approval page on a phone (headless Chromium, 390×844) --------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's 'chromium' package (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield launched
        launched.close()


def _phone(browser, system: System, who: str):
    page = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2).new_page()
    page.goto(f"{system.api}/ui/login")
    page.fill("#token", system.tokens[who])
    page.click("button[type=submit]")
    return page


def _gate(system: System, who: str, record_type: str, record_id: int) -> dict:
    def found() -> dict | None:
        return next((g for g in system.get("/approvals", who=who).json()
                     if g["record_type"] == record_type and g["record_id"] == str(record_id)), None)

    return wait_until(found, timeout=600, what=f"the {record_type} {record_id} gate for {who}")


def test_acknowledge_gate_carries_the_incident_on_a_phone(system: System, browser, artifacts_dir: Path) -> None:
    app = next(ci for ci in system.get("/cis", who="admin", params={"limit": 500}).json() if ci["name"] == "app-srv-01")
    reported = system.post("/incidents", who="desk", json={
        "title": "政务门户无法访问", "symptom": "门户首页返回 502，市民无法办理业务", "contact": "刘洋",
        "phone": "0571-8888-1234", "reporting_org": "市电子政务办", "ci_ids": [app["id"]],
        "core_unavailable_pct": 20, "expected_recovery_hours": 2})
    assert reported.status_code == 201, reported.text
    incident_id = reported.json()["incident"]["id"]
    gate = _gate(system, "oncall", "incident", incident_id)
    page = _phone(browser, system, "oncall")
    page.click(f"a[href='/ui/gates/{gate['id']}']")
    assert "门户首页返回 502" in page.inner_text("#symptom")
    cis = page.inner_text("#cis")
    assert "app-srv-01" in cis and app["ip"] in cis and "机房 6F" in cis
    assert "刘洋" in page.inner_text("#contact") and "0571-8888-1234" in page.inner_text("#contact")
    assert page.inner_text("#reported").startswith("20")
    countdown = page.locator("#clocks time.countdown").first
    first = countdown.inner_text()
    assert "left" in first or "overdue" in first
    page.wait_for_function("t => document.querySelector('#clocks time.countdown').textContent !== t", arg=first,
                           timeout=15_000)  # it counts down live
    # Decline is the destructive choice: its own colour, and a confirmation before it is sent.
    assert page.locator("button.acknowledge.primary-choice").count() == 1
    assert page.get_attribute("button.decline.destructive", "data-confirm")
    page.screenshot(path=str(artifacts_dir / "phone-acknowledge-gate.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling on a phone
    page.set_viewport_size({"width": 320, "height": 640})  # the smallest phones
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert page.locator("button.acknowledge").is_visible()
    page.screenshot(path=str(artifacts_dir / "phone-320-acknowledge-gate.png"), full_page=True)
    page.click("#ticket")
    assert "时间线 Timeline" in page.inner_text("main")
    page.context.close()


def test_pm_opens_the_review_report_from_its_gate(system: System, browser, artifacts_dir: Path) -> None:
    year, quarter = past_quarter(datetime.now(ZoneInfo("Asia/Shanghai")).date())  # the demo's history
    contract = next(c for c in system.get("/contracts", who="admin").json() if c["code"] == "EGOV-2026")
    started = wait_until(lambda: (r := system.post("/reviews", who="pm", json={
        "contract_id": contract["id"], "year": year, "quarter": quarter})).status_code in (200, 201, 202) and r,
        timeout=180, interval=3, what="POST /reviews to be accepted")  # 503 while deployments register

    def review() -> dict | None:
        return next((r for r in system.get("/reviews", who="pm").json()
                     if r["year"] == year and r["quarter"] == quarter), None)

    found = wait_until(review, timeout=600, what=f"the {year} Q{quarter} review")
    assert found["id"] == started.json()["id"]
    gate = _gate(system, "pm", "quarterly_review", found["id"])
    page = _phone(browser, system, "pm")
    page.goto(f"{system.api}/ui/gates/{gate['id']}")
    with page.expect_navigation():
        page.click("#report")
    assert page.url.endswith(f"/ui/reviews/{found['id']}/report")
    text = page.inner_text("body")
    assert "missing bearer token" not in text and "EGOV-2026" in text
    page.screenshot(path=str(artifacts_dir / "phone-review-report.png"), full_page=True)
    page.context.close()


def test_docs_render_with_no_network_beyond_loopback(system: System, browser, artifacts_dir: Path) -> None:
    from urllib.parse import urlsplit

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def only_loopback(route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if host == "127.0.0.1" or route.request.url.startswith("data:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    page.goto(f"{system.api}/docs")
    page.wait_for_selector(".opblock", timeout=60_000)
    assert page.locator(".opblock").count() > 50  # every operation, rendered by Swagger UI
    assert "POST/incidents" in page.inner_text(".swagger-ui").replace(" ", "").replace("\n", "")
    page.screenshot(path=str(artifacts_dir / "docs-offline.png"))
    assert outside == []
    page.goto(f"{system.api}/redoc")
    page.wait_for_selector("[role=menuitem], .menu-content li", timeout=60_000)
    assert "/incidents" in page.inner_text("body")
    # ReDoc renders from the API's own assets too; its bundle only asks for its footer logo, which stays blocked.
    assert [u for u in outside if not u.startswith("https://cdn.redoc.ly/")] == []
    context.close()


def test_sign_in_on_a_phone_with_a_one_time_link(system: System, browser, artifacts_dir: Path) -> None:
    import json
    import re

    inbox = system.data_dir / "demo-inbox.jsonl"

    def links() -> list[str]:
        if not inbox.exists():
            return []
        entries = [json.loads(line) for line in inbox.read_text("utf-8").splitlines() if line.strip()]
        return [m.group(0) for e in entries if e["to"] == "cab1" and "sign-in link" in e["title"]
                for m in [re.search(r"http://\S+/ui/login/link/\S+", e["body"])] if m]

    page = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2).new_page()
    page.goto(f"{system.api}/ui/login")
    page.fill("#name", "cab1")
    page.click("#send-link")
    assert "sent to: json://127.0.0.1" in page.inner_text("#note")  # the page says where the link went
    # The link arrives on cab1's own channel: the demo inbox, a json:// receiver on loopback.
    link = wait_until(lambda: links()[-1] if links() else None, timeout=60, what="the sign-in link in the inbox")
    page.goto(link)
    page.click("#confirm")
    assert "Waiting for you" in page.inner_text("main")
    page.screenshot(path=str(artifacts_dir / "phone-signed-in-by-link.png"), full_page=True)
    second = page.context.browser.new_context().new_page()
    second.goto(link)
    assert "already used or has expired" in second.inner_text("#error")
    second.context.close()
    page.context.close()


def test_the_estate_stops_with_the_system(system: System) -> None:  # last: it stops the system
    assert system.stop() == 0
    assert "demo-estate exited" not in system.output.read_text()
