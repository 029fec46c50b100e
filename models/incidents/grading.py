"""Incident grading on both axes: emergency level (seed 001 §2.3.2.4) and SLA fault class (seed 002).

The seed's level rules, with its gaps decided so that every input gets exactly one level:

| core systems unavailable | expected recovery       | level                                   |
|--------------------------|-------------------------|-----------------------------------------|
| > 60 %                   | > 12 h                  | I   (seed)                              |
| 20–60 % (inclusive)      | > 24 h                  | I   (seed)                              |
| 20–60 %                  | > 12 h and ≤ 24 h       | II  (seed)                              |
| > 60 %                   | ≤ 12 h                  | II  (gap: a majority outage is never below II) |
| ≥ 20 %                   | > 6 h and ≤ 12 h        | III (gap: recovery exactly 12 h stays III) |
| any, nationwide scope    | > 6 h                   | III (seed: 6–12 h; gap: longer too, if no rule above) |
| anything else            |                         | ordinary incident                       |

"Nationwide interruption of key business" (seed, Level III) is the `nationwide` scope. Boundaries:
20 % and 60 % belong to the 20–60 % band; "not recoverable within 24 h" means more than 24 h.

Fault class: major when the incident is an emergency (level I–III) or the whole business function
is lost (seed 002: "paralyses the system"); general otherwise.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from models.sla.policies import FaultClass


class Level(StrEnum):
    """Emergency level, most severe first."""

    I = "I"  # noqa: E741 - the seed's own name
    II = "II"
    III = "III"
    ORDINARY = "ordinary"


SEVERITY = {Level.I: 3, Level.II: 2, Level.III: 1, Level.ORDINARY: 0}


class Scope(StrEnum):
    NATIONWIDE = "nationwide"
    REGIONAL = "regional"
    LOCAL = "local"


class ImpactFacts(BaseModel):
    """What the lead knows about the impact; grading is re-run whenever these change."""

    core_unavailable_pct: float = Field(default=0, ge=0, le=100, description="share of core systems down, %")
    expected_recovery_hours: float = Field(default=0, ge=0, le=24 * 365)
    scope: Scope = Scope.LOCAL
    business_function_lost: bool = False


def emergency_level(facts: ImpactFacts) -> Level:
    """The emergency level for `facts` (total: see the module docstring's table)."""
    pct, hours = facts.core_unavailable_pct, facts.expected_recovery_hours
    in_band = 20 <= pct <= 60
    if (pct > 60 and hours > 12) or (in_band and hours > 24):
        return Level.I
    if (in_band and hours > 12) or pct > 60:
        return Level.II
    if (pct >= 20 and 6 < hours <= 12) or (facts.scope == Scope.NATIONWIDE and hours > 6):
        return Level.III
    return Level.ORDINARY


def fault_class(facts: ImpactFacts, level: Level | None = None) -> FaultClass:
    """Major for emergencies and lost business functions, general otherwise."""
    level = level or emergency_level(facts)
    if level != Level.ORDINARY or facts.business_function_lost:
        return FaultClass.MAJOR
    return FaultClass.GENERAL
