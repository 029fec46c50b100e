"""The known-answer quarter (tests/sla/known_quarter.py): imported through the API, every incident's stored verdicts
and every incident figure of the review equal the hand-worked ones. Runs on SQLite and, with
ITSS_TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from config.settings import get_settings
from models.contracts.service import create_contract
from models.contracts.tables import ContractCreate
from models.directory.people import Organisation, OrgKind
from models.directory.roles import RoleKey
from models.incidents.tables import Incident, IncidentEvent
from models.review.metrics import quarter_metrics
from models.review.targets import evaluate
from tests.sla.known_quarter import ROWS, SH, expected_incident_figures, import_rows

CALENDARS = Path(__file__).parent / "calendars"
REVIEW_AT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # the review runs after the quarter, explicitly


@pytest.fixture
def quarter(monkeypatch: pytest.MonkeyPatch, client: TestClient, session: Session,
            make_person: Callable[..., dict[str, str]],
            frozen_clock: Callable[[datetime], datetime]) -> dict[str, int]:
    # Imported when the review runs: an incident still open is timed up to REVIEW_AT, not up to today
    # (from 2028 its clock would reach into years nobody entered and turn provisional).
    frozen_clock(REVIEW_AT)
    monkeypatch.setattr(get_settings(), "statutory_calendar_from_library", False)
    slm = make_person("slm", RoleKey.SERVICE_LEVEL_MANAGER)
    desk = make_person("desk", RoleKey.SERVICE_DESK)
    entered = client.post("/calendar/years/2026/import", content=(CALENDARS / "2026.yaml").read_text(),
                          headers={**slm, "Content-Type": "application/yaml"})
    assert entered.status_code == 200, entered.text
    customer = Organisation(name="known-answer customer", kind=OrgKind.CUSTOMER)
    session.add(customer)
    session.flush()
    contract = create_contract(session, data=ContractCreate(code="KQ-2026", name="known-answer quarter",
                                                            customer_id=customer.id, starts_on=date(2026, 6, 17),
                                                            ends_on=date(2027, 6, 16)), actor="test")
    session.commit()
    imported = client.post("/incidents/import?format=json", json=import_rows("KQ-2026"), headers=desk)
    assert imported.status_code == 201, imported.text
    return {"contract": int(contract.id), "count": imported.json()["imported"]}


def test_every_incident_carries_the_hand_worked_verdicts(quarter: dict[str, int], session: Session) -> None:
    assert quarter["count"] == len(ROWS)
    by_title = {i.title: i for i in session.exec(select(Incident))}
    for title, *_rest, verdicts, why in ROWS:
        incident = by_title[title]
        stored = (incident.response_verdict, incident.on_site_verdict, incident.resolution_verdict)
        expected = tuple("running" if v == "open" and index == 0 else "not_started" if v == "open" else v
                         for index, v in enumerate(verdicts))
        assert stored == expected, f"{title} ({why})"
        # Stored breaches are exactly the missed clocks; each breach line carries the instant it happened.
        assert incident.breaches == sorted(m for m, v in zip(("on_site", "resolution", "response"),
                                                              (verdicts[1], verdicts[2], verdicts[0]), strict=True)
                                           if v == "missed"), title
    g2 = by_title["G2"]
    assert g2.on_site_due == datetime(2026, 7, 16, 12, 0, tzinfo=SH) and "on_site" not in g2.breaches
    breach = session.exec(select(IncidentEvent).where(IncidentEvent.incident_id == by_title["G10"].id,
                                                      IncidentEvent.kind == "breach",
                                                      IncidentEvent.detail.startswith("on_site"))).one()
    assert breach.at == datetime(2026, 10, 8, 11, 0, tzinfo=SH)  # when the target passed, not the import time


def test_the_review_counts_exactly_the_hand_worked_figures(quarter: dict[str, int], session: Session) -> None:
    metrics = quarter_metrics(session, quarter["contract"], 2026, 3, zone=SH, now=REVIEW_AT)
    expected = expected_incident_figures()
    # The headline figures, also written out: 16/21 timely responses, 9/20 timely resolutions (1 still open),
    # 4 of 21 escalated; 3 transition-phase incidents excluded.
    assert expected["fractions"]["timely_response"] == {"numerator": 16, "denominator": 21, "rate": 0.7619,
                                                        "open": 0}
    assert expected["fractions"]["timely_resolution"] == {"numerator": 9, "denominator": 20, "rate": 0.45,
                                                          "open": 1}
    assert expected["fractions"]["escalation"]["numerator"] == 4 and expected["transition_excluded"] == 3
    assert metrics["incidents"] == expected
    verdicts = {t["key"]: t["met"] for t in evaluate(metrics)}
    assert verdicts["timely_response_rate"] is True and verdicts["timely_resolution_rate"] is False
    assert verdicts["escalation_rate"] is True
    assert verdicts["customer_satisfaction"] is None and verdicts["mitigation_rate"] is None  # no data: n/a
