"""alert inbox

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 08:57:51.692381
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.core.types

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('alert_inbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('received_at', models.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('firing', sa.Boolean(), nullable=False),
    sa.Column('alert', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('created', sa.Boolean(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('processed_at', models.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alert_inbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_inbox_fingerprint'), ['fingerprint'], unique=False)
        batch_op.create_index('ix_alert_inbox_status_id', ['status', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('alert_inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_inbox_status_id')
        batch_op.drop_index(batch_op.f('ix_alert_inbox_fingerprint'))

    op.drop_table('alert_inbox')
