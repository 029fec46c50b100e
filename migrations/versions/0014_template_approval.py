"""standard change templates approved by the CAB before use (existing ones wait for an approval)

Revision ID: 0014_template_approval
Revises: 0014_secrets_at_rest
Create Date: 2026-12-02 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.core.types

revision: str = '0014_template_approval'
down_revision: str | None = '0014_secrets_at_rest'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('change_template') as batch:
        batch.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        # One person authorised the existing ones: they wait for the CAB like new ones.
        batch.add_column(sa.Column('approval_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                   server_default='pending'))
        batch.add_column(sa.Column('submitted_by', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('approval_flow_run_id', sqlmodel.sql.sqltypes.AutoString(length=64),
                                   nullable=True))
        batch.add_column(sa.Column('approved_by', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('approved_at', models.core.types.UTCDateTime(timezone=True), nullable=True))
        batch.create_foreign_key('fk_change_template_submitted_by', 'person', ['submitted_by'], ['id'])
        batch.create_foreign_key('fk_change_template_approved_by', 'person', ['approved_by'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('change_template') as batch:
        batch.drop_constraint('fk_change_template_approved_by', type_='foreignkey')
        batch.drop_constraint('fk_change_template_submitted_by', type_='foreignkey')
        for column in ('approved_at', 'approved_by', 'approval_flow_run_id', 'submitted_by', 'approval_status',
                       'version'):
            batch.drop_column(column)
