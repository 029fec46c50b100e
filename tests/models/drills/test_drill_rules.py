"""Pure drill rules: what ends a drill at once, and how long its records are kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.drills.rules import retain_until, terminates
from models.incidents.grading import Level


@pytest.mark.parametrize(("level", "cis", "stops"), [
    (Level.ORDINARY, {7}, True),  # any incident on a CI in scope
    (Level.III, {9}, False),  # elsewhere and below Level II: the drill goes on
    (Level.ORDINARY, set(), False),
    (Level.II, {9}, True),  # Level I/II anywhere
    (Level.I, set(), True),
])
def test_terminates(level: Level, cis: set[int], stops: bool) -> None:
    reason = terminates(level=level, incident_ci_ids=cis, scope_ci_ids={7, 8})
    assert (reason is not None) is stops
    if stops and cis & {7, 8}:
        assert "CI 7" in reason


def test_retention_is_six_years_and_29_february_keeps_to_28() -> None:
    assert retain_until(datetime(2026, 6, 15, 2, tzinfo=UTC), 6) == datetime(2032, 6, 15, 2, tzinfo=UTC)
    assert retain_until(datetime(2028, 2, 29, tzinfo=UTC), 6) == datetime(2034, 2, 28, tzinfo=UTC)
