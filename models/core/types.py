"""Column types shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field as PydanticField
from sqlalchemy import JSON, DateTime, String, Text
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores instants in UTC and always returns them timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; pass a timezone-aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSON documents (free-form attributes, audit before/after); JSONB-free so SQLite works too.
JSONDoc = JSON


class EnumText(TypeDecorator[Any]):
    """A StrEnum stored as plain text (no database enum types to migrate), read back as the enum."""

    impl = String
    cache_ok = True

    def __init__(self, enum_cls: type[StrEnum], length: int = 32) -> None:
        super().__init__(length)
        self.enum_cls = enum_cls

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else self.enum_cls(value).value

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else self.enum_cls(value)


class EncryptedText(TypeDecorator[str]):
    """Text encrypted at rest (models/core/crypto.py): the database holds only ciphertext."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        from models.core.crypto import encrypt

        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        from models.core.crypto import decrypt

        return None if value is None else decrypt(value)


# Row ids as the API accepts them: positive and within a 64-bit integer, so an id no database can
# hold answers 422 naming the parameter instead of overflowing the driver (a 500).
MAX_ID = 2**63 - 1
Id = Annotated[int, PydanticField(ge=1, le=MAX_ID, description="a row id (1 to 2^63-1)")]

# A short label in a list (a tag, a CI type, an objective): lists of them are bounded where they are used.
Label = Annotated[str, PydanticField(min_length=1, max_length=200)]


def iana_timezone(value: str) -> str:
    """`value` if it names an IANA timezone; a ValueError saying what to write instead (for validators)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {value!r}; use an IANA name such as 'Asia/Shanghai'") from None
    return value
