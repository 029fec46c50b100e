"""Pure rules of problem management: the life cycle's allowed moves and the closing condition."""

from __future__ import annotations

from datetime import datetime, timedelta

from models.problems.tables import ProblemStatus

# Which statuses each step may start from.
MOVES: dict[str, set[ProblemStatus]] = {
    "investigate": {ProblemStatus.LOGGED},
    "known_error": {ProblemStatus.LOGGED, ProblemStatus.INVESTIGATING},
    "fix": {ProblemStatus.KNOWN_ERROR},
    "close": {ProblemStatus.FIX_SCHEDULED},
}
# Inspection: the same CI and check failing in this many runs within the window makes a problem.
RECURRENCE_WINDOW = timedelta(days=90)  # the same symptom on the same CI within this opens a problem
INSPECTION_REPEATS = 3
INSPECTION_WINDOW = timedelta(days=14)


def move_refusal(step: str, status: ProblemStatus) -> str | None:
    """Why `step` may not start from `status`, or None when it may."""
    allowed = MOVES[step]
    if status in allowed:
        return None
    return f"the problem is {status.value}; {step} needs it {' or '.join(sorted(s.value for s in allowed))}"


def close_refusal(*, status: ProblemStatus, fixed_at: datetime | None, last_recurrence_at: datetime | None,
                  now: datetime, quiet_days: int) -> str | None:
    """Why the problem may not close yet: its fix must have succeeded, then `quiet_days` without recurrence."""
    refusal = move_refusal("close", status)
    if refusal:
        return refusal
    if fixed_at is None:
        return "the fixing change has not succeeded yet"
    if last_recurrence_at is not None and last_recurrence_at >= fixed_at:
        return f"the fault recurred on {last_recurrence_at.date().isoformat()} after the fix"
    quiet_until = fixed_at + timedelta(days=quiet_days)
    if now < quiet_until:
        return f"no recurrence is needed for {quiet_days} days after the fix, until {quiet_until.isoformat()}"
    return None
