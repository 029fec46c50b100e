"""CMDB services: every create, update and delete of a CI writes the CI change log and the audit log."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from models.cmdb.tables import CIChange, CICreate, CIUpdate, ConfigurationItem
from models.core.audit import record_audit
from models.core.clock import utcnow
from models.core.rows import stored_id
from models.directory.service import DuplicateError


def _snapshot(ci: ConfigurationItem) -> dict[str, Any]:
    return ci.model_dump(mode="json", exclude={"created_at", "updated_at"})


def _check_name_free(session: Session, name: str, ci_id: int | None = None) -> None:
    found = session.exec(select(ConfigurationItem.id).where(ConfigurationItem.name == name)).first()
    if found is not None and found != ci_id:
        raise DuplicateError("name", name, f"CI {found} has it; choose another name or update CI {found}")


def create_ci(session: Session, *, data: CICreate, actor: str, reason: str | None = None) -> ConfigurationItem:
    """Add a CI, logging it as created."""
    _check_name_free(session, data.name)
    ci = ConfigurationItem.model_validate(data)
    session.add(ci)
    session.flush()
    after = _snapshot(ci)
    session.add(CIChange(ci_id=stored_id(ci), action="created", actor=actor, reason=reason, after=after))
    record_audit(session, actor=actor, action="ci.created", record_type="ci", record_id=ci.id, after=after)
    return ci


def update_ci(
    session: Session, *, ci: ConfigurationItem, changes: CIUpdate, actor: str, reason: str | None = None
) -> ConfigurationItem:
    """Apply the fields set in `changes`; logs before/after only when something changed."""
    values = changes.model_dump(exclude_unset=True)
    if "name" in values and values["name"] is not None:
        _check_name_free(session, values["name"], ci.id)
    before = _snapshot(ci)
    ci.sqlmodel_update(values)
    after = _snapshot(ci)
    if after == before:
        return ci
    ci.updated_at = utcnow()
    session.add(ci)
    changed = {k for k in after if after[k] != before.get(k)}
    before_diff = {k: before.get(k) for k in changed}
    after_diff = {k: after[k] for k in changed}
    session.add(CIChange(ci_id=stored_id(ci), action="updated", actor=actor, reason=reason,
                         before=before_diff, after=after_diff))
    record_audit(session, actor=actor, action="ci.updated", record_type="ci", record_id=ci.id,
                 before=before_diff, after=after_diff, detail=reason)
    return ci


def delete_ci(session: Session, *, ci: ConfigurationItem, actor: str, reason: str | None = None) -> None:
    """Remove a CI; its change log keeps the last snapshot."""
    before = _snapshot(ci)
    session.add(CIChange(ci_id=stored_id(ci), action="deleted", actor=actor, reason=reason, before=before))
    record_audit(session, actor=actor, action="ci.deleted", record_type="ci", record_id=ci.id,
                 before=before, detail=reason)
    session.delete(ci)
