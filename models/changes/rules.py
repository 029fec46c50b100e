"""Change classification (seed 002 "变更管理"): the pre-authorised standard list and what makes a change major.

Pure rules, used by the API when a change is created and by `POST /changes/classify` for advice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from models.changes.tables import ChangeType

# Seed 002's pre-authorised standard changes.
STANDARD_KINDS: dict[str, str] = {
    "account_management": "user account management (passwords, permissions)",
    "nonprod_software": "install or upgrade software in a non-production environment",
    "nonprod_hardware": "non-production hardware upgrade",
    "nonprod_ip_change": "non-production IP address change",
    "migration_ci_attributes": "CI attribute changes during a migration",
    "document_edit": "document edits",
}

# What makes a change major (seed 002): each needs a detailed plan with rollback steps and a window,
# approved by the department manager and the company leader.
MAJOR_CHARACTERISTICS: dict[str, str] = {
    "server_facilities": "server facilities (power, cooling, racks of the machine room)",
    "network_topology": "network topology",
    "bulk_data": "bulk data changes",
    "major_version_upgrade": "a major version upgrade",
}

# Types in increasing order of scrutiny; an emergency change is judged by its own path (ECAB).
_RANK = {ChangeType.STANDARD: 0, ChangeType.NORMAL: 1, ChangeType.MAJOR: 2, ChangeType.EMERGENCY: 2}


@dataclass(frozen=True)
class Classification:
    """The least type a change may be submitted as, and why."""

    minimum: ChangeType
    reasons: list[str]


def _major_number(version: str | None) -> int | None:
    match = re.match(r"\s*v?(\d+)", version or "")
    return int(match.group(1)) if match else None


def classify(*, standard_kind: str | None, characteristics: list[str], from_version: str | None = None,
             to_version: str | None = None, facility_ci: bool = False) -> Classification:
    """The least type the rules allow: major for any major characteristic, standard only for a listed kind."""
    found = list(characteristics)
    old, new = _major_number(from_version), _major_number(to_version)
    if old is not None and new is not None and new != old and "major_version_upgrade" not in found:
        found.append("major_version_upgrade")
    if facility_ci and "server_facilities" not in found:
        found.append("server_facilities")
    if found:
        return Classification(ChangeType.MAJOR, [f"it changes {MAJOR_CHARACTERISTICS[c]}" for c in found])
    if standard_kind in STANDARD_KINDS:
        return Classification(ChangeType.STANDARD, [f"pre-authorised: {STANDARD_KINDS[standard_kind]}"])
    return Classification(ChangeType.NORMAL, ["not on the pre-authorised standard list: the CAB decides"])


def allowed(requested: ChangeType, rules: Classification) -> bool:
    """True when `requested` gets at least the scrutiny the rules call for."""
    return _RANK[requested] >= _RANK[rules.minimum]
