"""prefect.yaml's deployments as data: name, flow entrypoint, parameters and schedules."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from prefect import Flow
from prefect.schedules import Cron, Interval, Schedule

PREFECT_YAML = Path(__file__).resolve().parent.parent / "prefect.yaml"


@dataclass
class DeploymentSpec:
    """One entry of prefect.yaml's `deployments:` list."""

    name: str
    entrypoint: str
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    schedules: list[dict[str, Any]] = field(default_factory=list)

    def load_flow(self) -> Flow:
        """Import the flow named by `flows/module.py:function`."""
        path, _, attr = self.entrypoint.partition(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))  # file or module path
        found = getattr(module, attr)
        if not isinstance(found, Flow):
            raise TypeError(f"{self.entrypoint} is not a Prefect flow")
        return found

    def prefect_schedules(self) -> list[Schedule]:
        """The schedules as Prefect objects (cron or interval, with timezone)."""
        result: list[Schedule] = []
        for entry in self.schedules:
            active = entry.get("active", True)
            if "cron" in entry:
                result.append(Cron(entry["cron"], timezone=entry.get("timezone"), active=active))
            elif "interval" in entry:
                result.append(Interval(entry["interval"], timezone=entry.get("timezone"), active=active))
            else:
                raise ValueError(f"deployment {self.name}: a schedule needs 'cron' or 'interval'")
        return result


def load_specs(path: Path = PREFECT_YAML) -> list[DeploymentSpec]:
    """Every deployment in prefect.yaml."""
    document = yaml.safe_load(path.read_text()) or {}
    specs = []
    for entry in document.get("deployments") or []:
        specs.append(
            DeploymentSpec(
                name=entry["name"],
                entrypoint=entry["entrypoint"],
                description=entry.get("description"),
                tags=list(entry.get("tags") or []),
                parameters=dict(entry.get("parameters") or {}),
                schedules=list(entry.get("schedules") or []),
            )
        )
    return specs
