"""repair rows that hostile input left behind (issue 14: C1, H3, L1)

Before the input checks, a PATCH could store `null` CI attributes/tags or an empty contract name (every
later read of them answered 500), and an inspection plan could hold a report template that runs code.
No schema change: the rows are put back into a shape the API can read.

Revision ID: 0014b_input
Revises: 0006
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014b_input'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for column, empty in (("attributes", "{}"), ("tags", "[]")):
        # A literal, not a bound string: PostgreSQL will not put a VARCHAR parameter into a json column.
        # (`column` and `empty` are fixed here, never input.)
        op.execute(f"UPDATE configuration_item SET {column} = '{empty}' "
                   f"WHERE {column} IS NULL OR CAST({column} AS TEXT) = 'null'")
    op.execute("UPDATE contract SET name = code WHERE name = ''")
    # A team template that reaches for private attributes is dropped (the plan's report falls back to
    # the default); the plan itself and its schedule stay.
    from models.core.user_templates import check_template

    conn = op.get_bind()
    for plan_id, spec in conn.execute(sa.text("SELECT id, spec FROM inspection_plan")).all():
        spec = json.loads(spec) if isinstance(spec, str) else spec
        template = (spec or {}).get("report_template")
        if not template:
            continue
        try:
            check_template(template)
        except ValueError:
            spec["report_template"] = None
            table = sa.table("inspection_plan", sa.column("id", sa.Integer), sa.column("spec", sa.JSON))
            conn.execute(table.update().where(table.c.id == plan_id).values(spec=spec))


def downgrade() -> None:
    pass  # the repaired values were unreadable; nothing to restore
