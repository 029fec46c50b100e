"""API token secrets: generated with `secrets`, stored only as SHA-256."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "itss_"


def new_token() -> str:
    """A fresh bearer token (256 bits of randomness)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a token; a fast hash suffices because tokens are high-entropy."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_prefix(token: str) -> str:
    """The first characters, safe to show so people can tell their tokens apart."""
    return token[: len(TOKEN_PREFIX) + 6]
