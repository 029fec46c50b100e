"""Credentials of the embedded Prefect server: generated once, kept 0600 in data_dir/secrets.

Prefect 3.8 answers 401 to every API call without `Authorization: Basic` when the server has
`PREFECT_SERVER_API_AUTH_STRING`; clients send it from `PREFECT_API_AUTH_STRING`, and the UI asks
for the same "user:password" string on first load.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from config.secret_files import read_or_create
from config.settings import Settings

USER = "itss"
SERVER_VAR, CLIENT_VAR = "PREFECT_SERVER_API_AUTH_STRING", "PREFECT_API_AUTH_STRING"


def auth_file(settings: Settings) -> Path:
    """Where `itss up` keeps the Prefect credentials."""
    return settings.data_dir.resolve() / "secrets" / "prefect-auth"


def ensure_auth_string(settings: Settings) -> str:
    """PREFECT_API_AUTH_STRING if set, else the stored one, else a new random "itss:<password>" stored 0600."""
    configured = os.environ.get(CLIENT_VAR)
    if configured:
        return configured
    return read_or_create(auth_file(settings), lambda: f"{USER}:{secrets.token_urlsafe(32)}")


def load_client_auth(settings: Settings) -> None:
    """Give this process the stored credentials (CLI commands run beside `itss up`), unless set already.

    Must run before Prefect is imported: Prefect reads its settings from the environment once."""
    path = auth_file(settings)
    if not os.environ.get(CLIENT_VAR) and path.exists():
        os.environ[CLIENT_VAR] = path.read_text().strip()
