"""The system watches its own pulse: a hung runner turns /health degraded and tells the admins once each
way, on the real `itss up`.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.support import procs
from tests.support.net import Receiver
from tests.support.system import System, wait_until


def test_stopping_the_runner_degrades_health_and_tells_admins_once_each_way(
        system: System, inbox: tuple[Receiver, Path]) -> None:
    receiver = inbox[0]
    interval = 30
    runner = _child(system, "itss serve")
    wait_until(lambda: system.get("/health").json()["components"]["sweeper"]["status"] == "ok",
               timeout=120, what="a healthy sweeper first")
    os.kill(runner, signal.SIGSTOP)  # a hung runner: alive, executing nothing
    try:
        stopped_at = time.monotonic()
        health = wait_until(lambda: (h := system.get("/health").json())["status"] == "degraded"
                            and h["components"]["sweeper"]["status"] == "late" and h,
                            timeout=3 * interval + 60, interval=1, what="/health to say degraded")
        print(f"degraded after {time.monotonic() - stopped_at:.0f} s: {health['reasons']}")
        assert any("sweeper" in r for r in health["reasons"])
        wait_until(lambda: receiver.messages("/admin"), timeout=60, what="the admins' notice")
        _let_pulses_pass(system, 3)  # "exactly one": further pulses of the watcher send nothing more
        down = [m for m in receiver.messages("/admin") if "stopped" in m["title"]]
        assert len(down) == 1, down
    finally:
        os.kill(runner, signal.SIGCONT)
    wait_until(lambda: system.get("/health").json()["components"]["sweeper"]["status"] == "ok",
               timeout=240, interval=1, what="/health to recover")
    wait_until(lambda: [m for m in receiver.messages("/admin") if "again" in m["title"]], timeout=60,
               what="the admins' 'back' notice")
    _let_pulses_pass(system, 3)
    assert len([m for m in receiver.messages("/admin") if "again" in m["title"]]) == 1
    assert len([m for m in receiver.messages("/admin") if "stopped" in m["title"]]) == 1
    status = system.run_cli("itss", "status", "--url", system.api)
    assert status.returncode == 0 and "sweeper" in status.stdout, status.stdout + status.stderr


def _let_pulses_pass(system: System, count: int) -> None:
    seen: set[str] = set()
    wait_until(lambda: seen.add(system.get("/health").json().get("checked_at", "")) or len(seen) > count,
               timeout=120, interval=1, what=f"{count} more pulses")


def _child(system: System, needle: str) -> int:
    """The pid of the system's child process running `needle` (waiting for it: the supervisor may be
    restarting it)."""
    try:
        return wait_until(lambda: procs.descendant(system.proc.pid, needle), timeout=120, interval=1, what=f"a child running {needle!r}")
    except AssertionError:
        print(system.log("supervisor") if (system.data_dir / "logs" / "supervisor.log").exists() else "")
        print(system.log("runner"))
        raise
