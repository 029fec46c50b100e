"""Encryption at rest of secrets kept in the database (people's Apprise notification URLs).

The key lives outside the database: ITSS_ENCRYPTION_KEY (a Fernet key; set the same one on every
host), or data_dir/secrets/encryption-key (0600), created at `itss up` or first use.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

from config.secret_files import read_or_create
from config.settings import get_settings

PREFIX = "fernet:"  # marks an encrypted value; anything else is plaintext from before encryption


@lru_cache
def fernet() -> Fernet:
    """The configured key, or the one kept in the data directory."""
    settings = get_settings()
    if settings.encryption_key is not None:
        return Fernet(settings.encryption_key.get_secret_value().encode())
    path = settings.data_dir.resolve() / "secrets" / "encryption-key"
    return Fernet(read_or_create(path, lambda: Fernet.generate_key().decode()).encode())


def encrypt(text: str) -> str:
    """The value to store; empty stays empty (nothing to hide, and "no channels" stays cheap to see)."""
    if not text or text.startswith(PREFIX):
        return text
    return PREFIX + fernet().encrypt(text.encode()).decode()


def decrypt(stored: str) -> str:
    """The plaintext of a stored value (a value stored before encryption is returned as it is)."""
    if not stored.startswith(PREFIX):
        return stored
    try:
        return fernet().decrypt(stored.removeprefix(PREFIX).encode()).decode()
    except InvalidToken:
        raise RuntimeError("a stored secret does not decrypt with this key: set the ITSS_ENCRYPTION_KEY "
                           "(or secrets/encryption-key) it was written with") from None
