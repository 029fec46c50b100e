"""Processes under a pid, read from /proc (not `ps`, whose output is cut at $COLUMNS characters)."""

from __future__ import annotations

from pathlib import Path


def _stat_fields(stat: str) -> list[str]:
    # The command name in stat is in parentheses and may hold spaces: the fields after it are plain.
    return stat.rsplit(")", 1)[1].split()


def alive(pid: int) -> bool:
    """A pid that is still a process (a zombie awaiting its reaper has stopped)."""
    try:
        return _stat_fields(Path(f"/proc/{pid}/stat").read_text())[0] != "Z"
    except OSError:
        return False


def _processes() -> list[tuple[int, int, str]]:
    """(pid, ppid, command line) of every process that is still there when read."""
    rows = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # exited while we looked
            continue
        ppid = int(_stat_fields(stat)[1])
        rows.append((int(entry.name), ppid, args))
    return rows


def family(root: int) -> list[tuple[int, int, str]]:
    """(pid, ppid, command line) of every descendant of `root`."""
    rows = _processes()
    members: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid, _ in rows if ppid in frontier} - members
        members |= frontier
    return [row for row in rows if row[0] in members]


def descendant(root: int, needle: str) -> int | None:
    """The pid of a descendant of `root` whose command line contains `needle`, or None."""
    found = [pid for pid, _, args in family(root) if needle in args]
    return found[0] if found else None
