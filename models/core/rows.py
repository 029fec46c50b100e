"""Typed access to stored rows: SQLModel types every primary key `int | None` (None until the INSERT), and
`session.get` may find nothing; these helpers say which of those cases cannot happen, and fail loudly if it does."""

from __future__ import annotations

from typing import Protocol, TypeVar, cast

from sqlalchemy.orm import Mapped
from sqlmodel import Session, col

Row = TypeVar("Row")


def must_get(session: Session, model: type[Row], row_id: object) -> Row:
    """The row with this primary key, or a LookupError naming it: for ids a task or flow was handed, which
    must exist (a missing row is a bug or a deleted record, never a case to carry on with)."""
    row = session.get(model, row_id)
    if row is None:
        raise LookupError(f"no {model.__name__} with id {row_id}")
    return row


class _Stored(Protocol):
    id: int | None


def stored_id(row: _Stored) -> int:
    """The primary key of a row read from or flushed to the database. SQLModel types every `id` as optional
    (None until the INSERT); a None here is a row used before it was saved, which must not pass silently."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: flush it before using its id")
    return row.id


def id_of(model: type[_Stored]) -> Mapped[int]:
    """`model.id` for queries that select ids: typed `int`, as a stored row's primary key is never NULL
    (SQLModel types the attribute `int | None` only for rows not yet inserted)."""
    return cast("Mapped[int]", col(model.id))
