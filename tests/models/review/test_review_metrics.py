"""Every figure of one quarter, exactly, from a year of history whose answers were worked out by hand
(tests/support/history.py says why each record counts the way it does)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from models.review.metrics import quarter_bounds, quarter_metrics
from models.review.targets import evaluate, trends
from tests.support.history import load_year

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def year(session: Session) -> dict[str, int]:
    return load_year(session)


def test_quarter_bounds_follow_the_operating_timezone() -> None:
    start, end = quarter_bounds(2026, 4, SH)
    assert start == datetime(2026, 10, 1, tzinfo=SH) and end == datetime(2027, 1, 1, tzinfo=SH)
    assert start.astimezone(UTC) == datetime(2026, 9, 30, 16, 0, tzinfo=UTC)


def test_every_metric_of_2026_q3_exactly(session: Session, year: dict[str, int]) -> None:
    m = quarter_metrics(session, year["contract"], 2026, 3, zone=SH, now=NOW)

    assert m["inspections"] == {
        "plans": [
            {"plan": "daily core", "planned": 92, "executed": 90, "missed": 2, "on_demand": 1, "failed": 1,
             "exceptions": 5},
            {"plan": "paused plan", "planned": 0, "executed": 0, "missed": 0, "on_demand": 0, "failed": 0,
             "exceptions": 0},
            {"plan": "weekly storage", "planned": 7, "executed": 7, "missed": 0, "on_demand": 0, "failed": 0,
             "exceptions": 0},
        ],
        "planned": 99, "executed": 97, "missed": 2, "implementation_rate": 0.9798}

    incidents = m["incidents"]
    assert incidents["total"] == 8
    assert incidents["by_level"] == {"I": 1, "II": 1, "III": 1, "ordinary": 5}
    assert incidents["escalated"] == 2 and incidents["sla_applicable"] == 7
    assert incidents["transition_excluded"] == 1 and incidents["provisional"] == 0
    # Over the SLA population only (G5, transition phase, out): MTTA (5+15+8+5+9+20+5)/7, MTTR report →
    # restored over the five resolved: (180+135+308+605+1820)/5.
    assert incidents["mtta_minutes"] == 9.57 and incidents["mttr_minutes"] == 609.6
    assert incidents["sla"] == {
        "major": {"response": {"measured": 3, "met": 2, "achievement": 0.6667, "open": 0},
                  "on_site": {"measured": 2, "met": 1, "achievement": 0.5, "open": 0},
                  "resolution": {"measured": 3, "met": 2, "achievement": 0.6667, "open": 0}},
        # G4 (reported 30 Sep 23:00, unresolved, no visit) belongs to Q3; at review time (23 Nov) its on-site and
        # resolution targets have passed: both count as missed.
        "general": {"response": {"measured": 4, "met": 3, "achievement": 0.75, "open": 0},
                    "on_site": {"measured": 4, "met": 2, "achievement": 0.5, "open": 0},
                    "resolution": {"measured": 4, "met": 1, "achievement": 0.25, "open": 0}},
    }
    assert incidents["timely_response_rate"] == 0.7143
    assert incidents["timely_resolution_rate"] == 0.4286
    assert incidents["fractions"]["timely_resolution"] == {"numerator": 3, "denominator": 7, "rate": 0.4286,
                                                           "open": 0}
    assert incidents["fractions"]["escalation"] == {"numerator": 2, "denominator": 7, "rate": 0.2857}
    assert incidents["escalation_rate"] == 0.2857

    assert m["changes"] == {
        "total": 6, "by_type": {"standard": 1, "normal": 3, "major": 1, "emergency": 1},
        "outcomes": {"standard": {"succeeded": 1}, "normal": {"succeeded": 1, "rolled_back": 1, "rejected": 1},
                     "major": {"succeeded": 1}, "emergency": {"succeeded": 1}},
        "implemented": 5, "succeeded": 4, "success_rate": 0.8, "emergency_share": 0.1667, "outage_minutes": 95.5}
    assert m["compliance"] == {"changes_without_approval": 1, "incidents_closed_without_consent": 1,
                               "late_cmdb_updates": 2}
    assert m["satisfaction"] == {"surveys": 4, "mean_score": 3.5, "satisfied_share": 0.5, "complaints": 2,
                                 "complaints_open": 1}
    assert m["risks"] == {"open": 3, "mitigations_planned": 2, "mitigations_implemented": 1, "mitigation_rate": 0.5}


def test_targets_and_trends_against_q2(session: Session, year: dict[str, int]) -> None:
    q3 = quarter_metrics(session, year["contract"], 2026, 3, zone=SH, now=NOW)
    q2 = quarter_metrics(session, year["contract"], 2026, 2, zone=SH, now=NOW)
    verdicts = {t["key"]: t["met"] for t in evaluate(q3)}
    assert verdicts == {"timely_response_rate": True, "timely_resolution_rate": False, "escalation_rate": False,
                        "inspection_missed_runs": False, "changes_without_approval": False,
                        "incidents_closed_without_consent": False, "late_cmdb_updates": False,
                        "customer_satisfaction": False, "open_complaints": False, "mitigation_rate": False}
    assert q2["incidents"]["total"] == 3 and q2["incidents"]["timely_response_rate"] == 1.0
    assert q2["inspections"]["planned"] == 91 and q2["inspections"]["executed"] == 5
    by_figure = {t["figure"]: t for t in trends(q3, q2)}
    assert by_figure["incidents.total"] == {"figure": "incidents.total", "current": 8, "previous": 3, "change": 5}
    assert by_figure["incidents.mttr_minutes"]["previous"] == 65.0
    assert by_figure["incidents.mttr_minutes"]["change"] == 544.6  # 609.6 - 65.0
    assert by_figure["satisfaction.mean_score"] == {"figure": "satisfaction.mean_score", "current": 3.5,
                                                    "previous": None, "change": None}


def test_another_contract_sees_only_its_own_records_and_the_shared_ones(session: Session,
                                                                       year: dict[str, int]) -> None:
    m = quarter_metrics(session, year["other"], 2026, 3, zone=SH, now=NOW)
    # Its own major incident and the contract-less G4 alert; its own emergency change and the standard S1.
    assert m["incidents"]["total"] == 3 and m["incidents"]["by_level"]["I"] == 0
    assert m["changes"]["by_type"] == {"standard": 1, "normal": 0, "major": 0, "emergency": 1}
    assert m["compliance"]["changes_without_approval"] == 1
    assert m["satisfaction"]["surveys"] == 1 and m["satisfaction"]["mean_score"] == 1.0
