"""The targets a quarter is checked against, and what an unmet one asks of whom (《交付改进措施表》).

The three rates come from the acceptance thresholds (seed 001 §3.5.3); the others are the checklist's own
"none may happen" items (000 §3.3) and the project's decisions, written here so they can be argued with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.directory.roles import RoleKey


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    path: tuple[str, str]  # where the figure is in the metrics
    at_least: float | None  # met when figure ≥ at_least …
    at_most: float | None  # … or ≤ at_most
    owner: RoleKey
    measure: str  # the improvement measure proposed when unmet

    def met(self, value: float | None) -> bool | None:
        """True/False, or None when there was nothing to measure."""
        if value is None:
            return None
        if self.at_least is not None and value < self.at_least:
            return False
        return not (self.at_most is not None and value > self.at_most)

    def describe(self) -> str:
        return f"≥ {self.at_least:g}" if self.at_least is not None else f"≤ {self.at_most:g}"


TARGETS = [
    Target("timely_response_rate", "Timely response rate", ("incidents", "timely_response_rate"), 0.60, None,
           RoleKey.SERVICE_DESK, "Review the on-call roster and alert routing; call back within the response target."),
    Target("timely_resolution_rate", "Timely resolution rate", ("incidents", "timely_resolution_rate"), 0.60, None,
           RoleKey.ENGINEER, "Analyse the late resolutions; add runbooks and spare parts for the recurring causes."),
    Target("escalation_rate", "Escalation rate", ("incidents", "escalation_rate"), None, 0.25,
           RoleKey.TECHNICAL_SUPPORT, "Train first and second line on the escalated faults; publish knowledge."),
    Target("inspection_missed_runs", "Missed inspection runs", ("inspections", "missed"), None, 0,
           RoleKey.ENGINEER, "Find why scheduled inspections did not run (paused plan, worker down) and fix it."),
    Target("changes_without_approval", "Changes without the required approval",
           ("compliance", "changes_without_approval"), None, 0, RoleKey.CHANGE_MANAGER,
           "Investigate each unapproved change; enforce the approval path before deployment."),
    Target("incidents_closed_without_consent", "Incidents closed without consent",
           ("compliance", "incidents_closed_without_consent"), None, 0, RoleKey.SERVICE_DESK,
           "Close incidents only after the requester's consent; re-confirm the closed ones with the customer."),
    Target("late_cmdb_updates", "CMDB updates later than 24 h after a change", ("compliance", "late_cmdb_updates"),
           None, 0, RoleKey.CHANGE_MANAGER, "Update the CMDB as part of every release; audit the late ones."),
    Target("customer_satisfaction", "Customer satisfaction (mean score of 5)", ("satisfaction", "mean_score"), 4.0,
           None, RoleKey.PROJECT_MANAGER, "Meet the customer on the low scores and agree on corrective actions."),
    Target("open_complaints", "Complaints still open", ("satisfaction", "complaints_open"), None, 0,
           RoleKey.PROJECT_MANAGER, "Answer and close every open complaint with the customer."),
    Target("mitigation_rate", "Planned risk mitigations implemented", ("risks", "mitigation_rate"), 1.0, None,
           RoleKey.PROJECT_MANAGER, "Implement the overdue mitigations or re-plan them with a new date."),
]


def evaluate(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with its figure and whether it was met (None: nothing to measure)."""
    rows = []
    for target in TARGETS:
        value = metrics[target.path[0]][target.path[1]]
        rows.append({"key": target.key, "label": target.label, "target": target.describe(), "value": value,
                     "met": target.met(value), "owner": target.owner.value})
    return rows


HEADLINES = [("incidents", "total"), ("incidents", "timely_response_rate"), ("incidents", "timely_resolution_rate"),
             ("incidents", "escalation_rate"), ("incidents", "mttr_minutes"), ("changes", "total"),
             ("changes", "success_rate"), ("changes", "outage_minutes"), ("inspections", "implementation_rate"),
             ("satisfaction", "mean_score"), ("satisfaction", "complaints")]


def trends(current: dict[str, Any], previous: dict[str, Any]) -> list[dict[str, Any]]:
    """The headline figures against the previous quarter."""
    rows = []
    for group, key in HEADLINES:
        now, before = current[group][key], previous[group][key]
        change = None if now is None or before is None else round(now - before, 4)
        rows.append({"figure": f"{group}.{key}", "current": now, "previous": before, "change": change})
    return rows
