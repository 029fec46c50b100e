"""A standard change may use a template only once the CAB approved its current version."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from models.changes.service import create_change, create_template, edit_template
from models.changes.spec import ChangeCreate, TemplateCreate
from models.core.errors import FieldError
from models.directory.roles import RoleKey
from models.directory.service import create_person

TEMPLATE = {"name": "restart app", "standard_kind": "nonprod_software",
            "steps": [{"name": "restart", "command": "echo restart"}]}
CHANGE = {"title": "restart", "change_type": "standard", "template": "restart app"}


def test_unapproved_or_edited_templates_are_refused(session: Session) -> None:
    author = create_person(session, name="cm", roles=[RoleKey.CHANGE_MANAGER], actor="test")
    template = create_template(session, data=TemplateCreate.model_validate(TEMPLATE), created_by=author.id,
                               actor="test")
    with pytest.raises(FieldError) as refused:
        create_change(session, data=ChangeCreate.model_validate(CHANGE), requested_by=author.id, actor="test")
    assert refused.value.field == "template" and "pending, not approved" in str(refused.value)
    template.approval_status = "approved"  # what the CAB's approval run records
    assert create_change(session, data=ChangeCreate.model_validate(CHANGE), requested_by=author.id,
                         actor="test").template_id == template.id
    edited = edit_template(session, template, data=TemplateCreate.model_validate(
        {**TEMPLATE, "steps": [{"name": "restart", "command": "echo restart twice"}]}), edited_by=author.id,
        actor="test")
    assert (edited.approval_status, edited.version, edited.approved_at) == ("pending", 2, None)
    with pytest.raises(FieldError, match="version 2"):
        create_change(session, data=ChangeCreate.model_validate(CHANGE), requested_by=author.id, actor="test")
