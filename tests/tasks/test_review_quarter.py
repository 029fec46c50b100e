"""Which quarter the schedule reviews: the one before the operating timezone's date."""

from __future__ import annotations

from datetime import date

import pytest

from tasks.review import which_quarter


def test_the_first_day_of_a_quarter_reviews_the_one_before() -> None:
    assert which_quarter(None, None, date(2027, 1, 1)) == (2026, 4)
    assert which_quarter(None, None, date(2026, 4, 1)) == (2026, 1)
    assert which_quarter(None, None, date(2026, 10, 1)) == (2026, 3)
    assert which_quarter(None, None, date(2026, 12, 31)) == (2026, 3)


def test_an_asked_quarter_is_taken_as_given() -> None:
    assert which_quarter(2025, 2, date(2027, 1, 1)) == (2025, 2)


def test_half_a_quarter_is_refused() -> None:
    with pytest.raises(ValueError, match="together"):
        which_quarter(2026, None, date(2027, 1, 1))
    with pytest.raises(ValueError, match="1, 2, 3 or 4"):
        which_quarter(2026, 5, date(2027, 1, 1))


def test_a_deliverable_only_moves_forward() -> None:
    from models.review.tables import ReviewStatus as S
    from models.review.tables import moves_forward

    assert moves_forward(S.COMPILED, S.PM_REVIEW) and moves_forward(S.PM_REVIEW, S.SUBMITTED)
    assert not moves_forward(S.SUBMITTED, S.PM_REVIEW)  # a run re-executing after the customer's gate
    assert moves_forward(S.SUBMITTED, S.RETURNED) and not moves_forward(S.ARCHIVED, S.RETURNED)
    assert not moves_forward(S.ARCHIVED, S.ARCHIVED)
