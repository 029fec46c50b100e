"""The demo has history: on the real `itss up --demo`, the project manager asks for the review of the past quarter
(`POST /reviews` answers the review's id at once), and its HTML report, rendered in headless Chromium, shows
charts with data. The screenshot is kept in test-artifacts/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from itss.demo_history import past_quarter
from tests.support.system import System, start_system, wait_until

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    running = start_system(tmp_path_factory.mktemp("demo"), demo=True)
    yield running
    running.stop()


def test_the_demo_past_quarter_review_has_figures_and_charts(demo: System) -> None:
    year, quarter = past_quarter(datetime.now(ZoneInfo("Asia/Shanghai")).date())
    contract = next(c for c in demo.get("/contracts", "pm").json() if c["code"] == "EGOV-2026")
    # Right after start-up the runner may still be registering its deployments (503, nothing kept): ask again.
    asked = wait_until(lambda: (r := demo.post("/reviews", "pm", json={
        "contract_id": contract["id"], "year": year, "quarter": quarter})).status_code == 202 and r,
        timeout=180, interval=3, what="POST /reviews to be accepted")
    review_id = asked.json()["id"]  # the record exists before its run has compiled it
    assert demo.get(f"/reviews/{review_id}", "pm").status_code == 200

    def compiled() -> dict:
        body = demo.get(f"/reviews/{review_id}", "pm").json()
        return body if body["review"]["status"] not in ("requested",) else {}

    body = wait_until(compiled, timeout=240, what="the demo review to be compiled")
    incidents = body["metrics"]["incidents"]
    assert incidents["total"] >= 30 and incidents["sla_applicable"] >= 30
    assert 0 < incidents["timely_response_rate"] < 1 and incidents["fractions"]["timely_resolution"]["denominator"]
    assert body["metrics"]["changes"]["total"] >= 10 and body["metrics"]["inspections"]["planned"] > 60
    assert body["metrics"]["satisfaction"]["surveys"] > 0 and body["metrics"]["risks"]["open"] >= 1
    html = demo.get(f"/reviews/{review_id}/report.html", "pm")
    assert html.status_code == 200 and "None" not in html.text and html.text.count("<svg") == 3
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "demo-quarterly-review.html").write_text(html.text)
    if CHROMIUM is None:
        if os.environ.get("ITSS_REQUIRE_PEERS"):
            pytest.fail("chromium is required here (CI installs Debian's 'chromium')")
        pytest.skip("the screenshot needs Debian's 'chromium' (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_content(html.text)
        # Data, not empty axes: SLA bars with height, a trend line with points, change bars.
        bars = page.locator("#chart-sla svg g[id^='patch_'] path").evaluate_all(
            "els => els.map(e => e.getBBox().height).filter(h => h > 1).length")
        assert bars >= 6, bars  # axes background + at least five non-empty bars
        points = page.locator("#chart-incidents svg g[id^='line2d_'] use").count()
        assert points >= 6, points
        changes = page.locator("#chart-changes svg g[id^='patch_'] path").evaluate_all(
            "els => els.map(e => e.getBBox().height).filter(h => h > 1).length")
        assert changes >= 3, changes
        page.screenshot(path=str(ARTIFACTS / "demo-quarterly-review.png"), full_page=True)
        browser.close()
    assert (ARTIFACTS / "demo-quarterly-review.png").stat().st_size > 30_000
