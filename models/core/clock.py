"""The one clock: every rule that asks "what time is it" reads `now()`, so a test can set it.

Production reads the system clock. Tests freeze or shift it with `set_now`/`frozen`, and a CI pass
shifts the whole process tree's clock with libfaketime (see `.ci/shifted_date_pass.sh`), which this
module follows because it reads the system clock through `datetime.now`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_fixed: datetime | None = None


def now() -> datetime:
    """The current instant, timezone-aware in UTC (the fixed instant while a test has set one)."""
    if _fixed is not None:
        return _fixed
    return datetime.now(UTC)


def utcnow() -> datetime:
    """`now()` under the name tables use for their timestamps' default_factory."""
    return now()


def set_now(at: datetime | None) -> None:
    """Fix the clock at `at` (timezone-aware), or give it back to the system clock with None."""
    global _fixed
    if at is not None and (at.tzinfo is None or at.utcoffset() is None):
        raise ValueError(f"the clock needs a timezone-aware instant (got {at.isoformat()})")
    _fixed = at.astimezone(UTC) if at is not None else None


@contextmanager
def frozen(at: datetime) -> Iterator[datetime]:
    """Within the block, `now()` is `at`."""
    before = _fixed
    set_now(at)
    try:
        yield at.astimezone(UTC)
    finally:
        set_now(before)
