"""The one injectable clock (models.core.clock) behind models.core.db.utcnow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from models.core import clock
from models.core.clock import utcnow


def test_the_clock_follows_the_system_until_set() -> None:
    before = datetime.now(UTC)
    assert before <= utcnow() <= datetime.now(UTC) and utcnow().tzinfo is UTC


def test_set_and_frozen_clocks_are_used_and_given_back() -> None:
    shanghai = timezone(timedelta(hours=8))
    try:
        clock.set_now(datetime(2027, 12, 31, 23, 50, tzinfo=shanghai))
        assert utcnow() == datetime(2027, 12, 31, 15, 50, tzinfo=UTC) and utcnow().tzinfo is UTC
        with clock.frozen(datetime(2028, 2, 29, 12, 0, tzinfo=UTC)):
            assert utcnow() == datetime(2028, 2, 29, 12, 0, tzinfo=UTC)
        assert utcnow() == datetime(2027, 12, 31, 15, 50, tzinfo=UTC)  # the outer setting again
    finally:
        clock.set_now(None)
    assert abs(utcnow() - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set_now(datetime(2026, 10, 2, 10, 0))
