"""The statutory calendar on the real `itss up`: with only entered years trusted and none entered, the scheduled
sweeper tells the admins and the service level manager once that this year is missing; a general fault's on-site
clock still has a due time, marked provisional; entering the year through the API recomputes it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from tests.support.net import Receiver
from tests.support.system import System, wait_until

# The statutory calendar only from what people enter (never from the `holidays` package).
SYSTEM_ENV = {"ITSS_STATUTORY_CALENDAR_FROM_LIBRARY": "false"}


def test_missing_year_is_told_clocks_run_provisionally_and_entering_it_recomputes(
        system: System, inbox: tuple[Receiver, Path]) -> None:
    receiver = inbox[0]
    year = dt.datetime.now(ZoneInfo("Asia/Shanghai")).year

    def told(role: str) -> list[dict]:
        return [m for m in receiver.messages(f"/{role}") if f"Statutory calendar {year} missing" in m.get("title", "")]

    wait_until(lambda: told("admin") and told("service_level_manager"), timeout=180, interval=2,
               what=f"the scheduled sweeper to tell the admin and the SLM that {year} is missing")

    reported = system.post("/incidents", "desk", json={"title": "打印服务异常", "symptom": "print queue stuck"})
    assert reported.status_code == 201, reported.text
    incident_id = reported.json()["incident"]["id"]
    gate = wait_until(lambda: next((g for g in system.get("/approvals", "oncall").json()
                                    if g["record_id"] == str(incident_id) and g["gate_key"] == "acknowledge"), None),
                      timeout=180, interval=2, what="the acknowledge gate")
    decided = system.post(f"/approvals/{gate['id']}/decision", "oncall", json={"decision": "acknowledge"})
    assert decided.status_code == 200, decided.text

    def on_site() -> dict:
        clocks = system.get(f"/incidents/{incident_id}", "desk").json()["clocks"]
        found = next(c for c in clocks if c["measure"] == "on_site")
        return found if found["started_at"] else {}

    clock = wait_until(on_site, timeout=120, interval=2, what="the on-site clock to start at the acknowledgement")
    assert clock["due_at"] and clock["provisional"] and year in clock["provisional_years"]
    assert system.get(f"/incidents/{incident_id}", "desk").json()["incident"]["sla_provisional"] is True

    # The service level manager enters the year (one holiday is enough to make it entered).
    text = f"year: {year}\nsource: system test\nholidays:\n  - {{name: 元旦, start: {year}-01-01}}\n"
    entered = httpx.post(f"{system.api}/calendar/years/{year}/import", content=text, timeout=60,
                         headers={**system.headers("slm"), "Content-Type": "application/yaml"})
    assert entered.status_code == 200, entered.text
    assert entered.json()["provisional"] is False and incident_id in entered.json()["recomputed_incidents"]
    after = system.get(f"/incidents/{incident_id}", "desk").json()
    assert after["incident"]["sla_provisional"] is False
    assert not next(c for c in after["clocks"] if c["measure"] == "on_site")["provisional"] or \
        year + 1 in next(c for c in after["clocks"] if c["measure"] == "on_site")["provisional_years"]
    # Told once: more sweeps have run since, and nobody was told twice about the year.
    assert len(told("admin")) == 1 and len(told("service_level_manager")) == 1
