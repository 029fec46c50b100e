"""Files as a test compares them."""

from __future__ import annotations

import stat
from pathlib import Path


def tree(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file and directory under `root` with its mode and content: 'exactly as before' means equal."""
    return {str(p.relative_to(root)): (stat.S_IMODE(p.lstat().st_mode), p.read_bytes() if p.is_file() else b"")
            for p in sorted(root.rglob("*"))}
