"""The supervisor's restart rule on real child processes (short-lived `python -c` children)."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from rich.console import Console

from config.settings import Settings
from itss import supervisor
from itss.supervisor import Supervisor


def make(tmp_path: Path) -> Supervisor:
    return Supervisor(Settings(data_dir=tmp_path), Console(file=open(tmp_path / "console.txt", "w")))  # noqa: SIM115


def test_a_dead_child_is_restarted_after_its_backoff_and_logged(tmp_path: Path) -> None:
    sup = make(tmp_path)
    child = sup.start("crasher", [sys.executable, "-c", "import sys; sys.exit(3)"])
    child.process.wait(30)
    now = time.monotonic()
    sup.check(now)
    first = child.process
    assert child.restart_at == now + supervisor.FIRST_BACKOFF
    sup.check(now + 0.5)  # still backing off
    assert child.process is first
    sup.check(now + supervisor.FIRST_BACKOFF)
    assert child.process is not first and child.restarts == 1
    child.process.wait(30)
    later = time.monotonic()
    sup.check(later)  # crashed again at once: the backoff doubled
    assert child.restart_at == later + 2 * supervisor.FIRST_BACKOFF
    log = child.log.read_text()
    assert "crasher exited (3); restarting in 1 s" in log and "crasher restarted" in log
    sup.stop()


def test_a_child_that_stayed_up_long_comes_back_at_once(tmp_path: Path) -> None:
    sup = make(tmp_path)
    child = sup.start("steady", [sys.executable, "-c", "pass"])
    child.process.wait(30)
    child.backoff = supervisor.MAX_BACKOFF
    now = child.started_at + supervisor.STABLE_AFTER
    sup.check(now)
    assert child.restart_at == now + supervisor.FIRST_BACKOFF
    sup.stop()


def test_stop_ends_children_in_reverse_order_and_nothing_restarts(tmp_path: Path) -> None:
    sup = make(tmp_path)
    first = sup.start("first", [sys.executable, "-c", "import time; time.sleep(60)"])
    second = sup.start("second", [sys.executable, "-c", "import time; time.sleep(60)"])
    processes = [first.process, second.process]
    sup.stop()
    assert all(p.poll() is not None for p in processes)
    assert sup.children == []


def test_a_child_killed_at_stop_takes_its_own_children_with_it(tmp_path: Path, monkeypatch) -> None:
    """A runner that ignores its stop signal is killed with the flow-run process it started, not without."""
    from tests.support import procs

    monkeypatch.setattr(supervisor, "STOP_TIMEOUT", 1.0)
    sup = make(tmp_path)
    grandchild_file = tmp_path / "grandchild.pid"
    script = ("import signal, subprocess, sys, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
              "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
              f"open({str(grandchild_file)!r}, 'w').write(str(p.pid)); time.sleep(60)")
    child = sup.start("stubborn", [sys.executable, "-c", script], stop_signal=signal.SIGINT)  # as the runner
    deadline = time.monotonic() + 30
    while not (grandchild_file.exists() and grandchild_file.read_text()):
        assert time.monotonic() < deadline, "the child never started its own child"
        time.sleep(0.1)
    grandchild = int(grandchild_file.read_text())
    sup.stop()
    assert child.process.poll() is not None
    gone_by = time.monotonic() + 10
    while procs.alive(grandchild) and time.monotonic() < gone_by:
        time.sleep(0.1)
    assert not procs.alive(grandchild), "the killed child's own child was left running"
    assert "stubborn did not stop within 1 s; killed (SIGKILL)" in child.log.read_text()
