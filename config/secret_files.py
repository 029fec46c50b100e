"""Secret files in the data directory: created 0600 from the start, in 0700 directories."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) and make it 0700."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Write a secret file created 0600 from the start (never briefly readable by others)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    path.chmod(0o600)


def read_or_create(path: Path, make: Callable[[], str]) -> str:
    """The secret in `path`, created once with `make()` (0600; concurrent starters agree on one value)."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        path.chmod(0o600)
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(make())
    return path.read_text().strip()


def secure_data_dir(data_dir: Path) -> None:
    """Data dir 0700; the SQLite database, logs and secret files in it 0600 (an upgrade from older installs)."""
    private_dir(data_dir)
    for pattern in ("itss.db*", "gate_secret", "logs/*.log", "secrets/*", "demo-tokens.txt"):
        for path in data_dir.glob(pattern):
            if path.is_file():
                path.chmod(0o600)
    for sub in ("logs", "secrets", "prefect"):
        if (data_dir / sub).is_dir():
            (data_dir / sub).chmod(0o700)
