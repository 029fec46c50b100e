"""Emergency level and fault class at every boundary of the seed's rules and of the decided gaps."""

from __future__ import annotations

import itertools

import pytest

from models.incidents.grading import SEVERITY, ImpactFacts, Level, Scope, emergency_level, fault_class
from models.sla.policies import FaultClass


def level(pct: float, hours: float, scope: Scope = Scope.LOCAL) -> Level:
    return emergency_level(ImpactFacts(core_unavailable_pct=pct, expected_recovery_hours=hours, scope=scope))


@pytest.mark.parametrize(
    ("pct", "hours", "expected"),
    [
        # > 60 %: Level I beyond 12 h, II at or below (gap decided).
        (60.01, 12.01, Level.I), (100, 48, Level.I), (60.01, 12, Level.II), (61, 0, Level.II),
        (60, 12.01, Level.II),  # exactly 60 % is in the 20-60 band
        # 20-60 %: I beyond 24 h, II in (12, 24], III in (6, 12], ordinary at 6 h or less.
        (20, 24.01, Level.I), (60, 24.01, Level.I), (20, 24, Level.II), (40, 12.01, Level.II),
        (20, 12, Level.III), (59, 6.01, Level.III), (20, 6, Level.ORDINARY), (19.99, 24.01, Level.ORDINARY),
        (0, 0, Level.ORDINARY),
    ],
)
def test_level_boundaries(pct: float, hours: float, expected: Level) -> None:
    assert level(pct, hours) == expected


@pytest.mark.parametrize(
    ("hours", "expected"),
    [(6, Level.ORDINARY), (6.01, Level.III), (11.99, Level.III), (12, Level.III), (48, Level.III)],
)
def test_nationwide_interruption(hours: float, expected: Level) -> None:
    assert level(5, hours, Scope.NATIONWIDE) == expected
    assert level(5, hours, Scope.REGIONAL) == Level.ORDINARY


def test_nationwide_never_lowers_a_higher_level() -> None:
    assert level(70, 30, Scope.NATIONWIDE) == Level.I


PCTS = [0, 19.99, 20, 40, 60, 60.01, 100]
HOURS = [0, 6, 6.01, 12, 12.01, 24, 24.01, 100]


def _by_the_table(pct: float, hours: float, scope: Scope) -> Level:
    """The module docstring's table, row by row, first match wins."""
    rows = [
        (pct > 60 and hours > 12, Level.I),
        (20 <= pct <= 60 and hours > 24, Level.I),
        (20 <= pct <= 60 and 12 < hours <= 24, Level.II),
        (pct > 60 and hours <= 12, Level.II),
        (pct >= 20 and 6 < hours <= 12, Level.III),
        (scope == Scope.NATIONWIDE and hours > 6, Level.III),
    ]
    return next((found for matches, found in rows if matches), Level.ORDINARY)


def test_every_input_gets_the_level_of_the_table() -> None:
    for pct, hours, scope in itertools.product(PCTS, HOURS, list(Scope)):
        assert level(pct, hours, scope) == _by_the_table(pct, hours, scope), (pct, hours, scope)


def test_a_worse_outage_never_gets_a_lower_level() -> None:
    # More systems down, a longer recovery or a wider scope may raise the level, never lower it.
    for scope in Scope:
        for i, j in itertools.product(range(len(PCTS)), range(len(HOURS))):
            here = SEVERITY[level(PCTS[i], HOURS[j], scope)]
            if i + 1 < len(PCTS):
                assert SEVERITY[level(PCTS[i + 1], HOURS[j], scope)] >= here, (PCTS[i + 1], HOURS[j], scope)
            if j + 1 < len(HOURS):
                assert SEVERITY[level(PCTS[i], HOURS[j + 1], scope)] >= here, (PCTS[i], HOURS[j + 1], scope)
            assert SEVERITY[level(PCTS[i], HOURS[j], Scope.NATIONWIDE)] >= here


def test_fault_class() -> None:
    assert fault_class(ImpactFacts(core_unavailable_pct=25, expected_recovery_hours=8)) == FaultClass.MAJOR
    assert fault_class(ImpactFacts(business_function_lost=True)) == FaultClass.MAJOR
    assert fault_class(ImpactFacts(core_unavailable_pct=5, expected_recovery_hours=2)) == FaultClass.GENERAL


def test_bad_facts_rejected() -> None:
    with pytest.raises(ValueError, match="core_unavailable_pct"):
        ImpactFacts(core_unavailable_pct=120)
