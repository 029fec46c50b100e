"""Targets of the quarterly check at their thresholds, the rows a report shows, and the trend figures."""

from __future__ import annotations

from models.review.targets import HEADLINES, TARGETS, evaluate, trends

BY_KEY = {t.key: t for t in TARGETS}


def test_a_figure_exactly_at_its_threshold_meets_the_target() -> None:
    response, escalation = BY_KEY["timely_response_rate"], BY_KEY["escalation_rate"]
    assert response.met(0.60) is True and response.met(0.5999) is False and response.met(1.0) is True
    assert escalation.met(0.25) is True and escalation.met(0.2501) is False and escalation.met(0.0) is True
    assert BY_KEY["late_cmdb_updates"].met(0) is True and BY_KEY["late_cmdb_updates"].met(1) is False
    assert response.met(None) is None  # nothing to measure is neither met nor missed
    assert response.describe() == "≥ 0.6" and escalation.describe() == "≤ 0.25"


def _metrics(value: float | None) -> dict:
    metrics: dict = {}
    for target in TARGETS:
        metrics.setdefault(target.path[0], {})[target.path[1]] = value
    return metrics


def test_evaluate_gives_each_target_its_figure_verdict_and_owner() -> None:
    rows = evaluate(_metrics(0))
    assert [r["key"] for r in rows] == [t.key for t in TARGETS]
    assert rows[0] == {"key": "timely_response_rate", "label": "Timely response rate", "target": "≥ 0.6", "value": 0,
                       "met": False, "owner": "service_desk"}
    assert rows[2] == {"key": "escalation_rate", "label": "Escalation rate", "target": "≤ 0.25", "value": 0,
                       "met": True, "owner": "technical_support"}


def test_trends_subtract_the_previous_quarter_to_four_decimals() -> None:
    current = {group: {key: 0.714286 for _, key in HEADLINES} for group, _ in HEADLINES}
    previous = {group: {key: 0.5 for _, key in HEADLINES} for group, _ in HEADLINES}
    previous["incidents"]["total"] = None
    rows = trends(current, previous)
    assert [r["figure"] for r in rows] == [f"{g}.{k}" for g, k in HEADLINES]
    assert rows[0] == {"figure": "incidents.total", "current": 0.714286, "previous": None, "change": None}
    assert rows[1] == {"figure": "incidents.timely_response_rate", "current": 0.714286, "previous": 0.5,
                       "change": 0.2143}
