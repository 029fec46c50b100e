"""Errors the domain raises about its input: each names the field and says how to fix it."""

from __future__ import annotations


class FieldError(ValueError):
    """A value that is well-formed but wrong against the data (an unknown CI, a scope matching nothing)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
