"""System tests: the real `itss up` in a subprocess, driven through the API, the page and Prefect's scheduler."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.net import Receiver, free_port
from tests.support.system import System, start_system

ROLES = ["admin", "service_desk", "engineer", "technical_support", "project_manager", "change_manager", "cab_member",
         "ops_manager", "customer_rep", "leadership", "service_level_manager"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/system is a slow system test."""
    for item in items:
        if "tests/system/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.system)
            item.add_marker(pytest.mark.slow)


def apprise_inbox(directory: Path) -> tuple[Receiver, Path]:
    """A loopback JSON receiver with one Apprise URL per role (path /<role>), and the config file naming them."""
    receiver = Receiver(free_port())
    lines = ["urls:"] + [f"  - json://127.0.0.1:{receiver.port}/{role}:\n      tag: {role}" for role in ROLES]
    config = directory / "apprise.yaml"
    config.write_text("\n".join(lines) + "\n")
    return receiver, config


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Receiver, Path]]:
    """The module's Apprise inbox: (the receiver, the config file naming one URL per role)."""
    receiver, config = apprise_inbox(tmp_path_factory.mktemp("inbox"))
    yield receiver, config
    receiver.stop()


@pytest.fixture(scope="module")
def system(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           inbox: tuple[Receiver, Path]) -> Iterator[System]:
    """One `itss up` per test module, notifying the module's inbox; a module adds settings in `SYSTEM_ENV`."""
    env = {"ITSS_APPRISE_CONFIG": str(inbox[1]), **getattr(request.module, "SYSTEM_ENV", {})}
    running = start_system(tmp_path_factory.mktemp("system"), env=env)
    # From the moment `itss up` says it is ready (a loaded CI machine may take long to get there).
    running.started = time.monotonic()  # type: ignore[attr-defined]
    yield running
    running.stop()
