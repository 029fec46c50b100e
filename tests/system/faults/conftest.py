"""Fixtures of the fault tests: a fresh `itss up` per test with its own Apprise inbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.net import Receiver
from tests.support.system import System, start_system
from tests.system.conftest import apprise_inbox


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[tuple[Receiver, Path]]:
    receiver, config = apprise_inbox(tmp_path)
    yield receiver, config
    receiver.stop()


@pytest.fixture
def system(tmp_path: Path, inbox: tuple[Receiver, Path]) -> Iterator[System]:
    running = start_system(tmp_path / "sys", env={"ITSS_APPRISE_CONFIG": str(inbox[1]),
                                                  "ITSS_RUN_HEARTBEAT_TIMEOUT_SECONDS": "75"})
    yield running
    running.stop()
