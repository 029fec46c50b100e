"""inspection plans that run commands on CIs approved by a second person (existing ones wait for it)

Revision ID: 0014_plan_approval
Revises: 0014_template_approval
Create Date: 2026-12-02 16:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.core.types

revision: str = '0014_plan_approval'
down_revision: str | None = '0014_template_approval'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

plan = sa.table('inspection_plan', sa.column('id', sa.Integer), sa.column('spec', sa.JSON),
                sa.column('approval_status', sa.String))


def upgrade() -> None:
    with op.batch_alter_table('inspection_plan') as batch:
        batch.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch.add_column(sa.Column('approval_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                   server_default='approved'))
        batch.add_column(sa.Column('submitted_by', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('approval_flow_run_id', sqlmodel.sql.sqltypes.AutoString(length=64),
                                   nullable=True))
        batch.add_column(sa.Column('approved_by', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('approved_at', models.core.types.UTCDateTime(timezone=True), nullable=True))
        batch.create_foreign_key('fk_inspection_plan_submitted_by', 'person', ['submitted_by'], ['id'])
        batch.create_foreign_key('fk_inspection_plan_approved_by', 'person', ['approved_by'], ['id'])
    # Plans that already run commands on CIs were never seen by a second person: they wait (the sweeper asks).
    conn = op.get_bind()
    for row_id, spec in conn.execute(sa.select(plan.c.id, plan.c.spec)).all():
        if any(check.get("probe") == "ssh_command" for check in (spec or {}).get("checks", [])):
            conn.execute(plan.update().where(plan.c.id == row_id).values(approval_status="pending"))


def downgrade() -> None:
    with op.batch_alter_table('inspection_plan') as batch:
        batch.drop_constraint('fk_inspection_plan_approved_by', type_='foreignkey')
        batch.drop_constraint('fk_inspection_plan_submitted_by', type_='foreignkey')
        for column in ('approved_at', 'approved_by', 'approval_flow_run_id', 'submitted_by', 'approval_status',
                       'version'):
            batch.drop_column(column)
