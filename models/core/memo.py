"""A per-transaction memo on a session: reference data computed once per transaction, then forgotten."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

T = TypeVar("T")
_MEMO = "itss.memo"


def remembered(session: Session, key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()` once per transaction of `session` (reference data read by every alert of a batch)."""
    memo = session.info.setdefault(_MEMO, {})
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def forget(session: Session, key: Hashable) -> None:
    """Drop `key` from the memo, so the next `remembered` computes it again (after a write to its data)."""
    session.info.get(_MEMO, {}).pop(key, None)


@event.listens_for(OrmSession, "after_transaction_end")
def _forget(session: OrmSession, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended, not a savepoint
        session.info.pop(_MEMO, None)
