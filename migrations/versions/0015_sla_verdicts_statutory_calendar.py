"""issue 15: clock verdicts on incidents, alert occurrence and truncation, the statutory calendar as data

Revision ID: 0015
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.core.types

revision: str = '0015'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('statutory_year',
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('entered_by', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('entered_at', models.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('year')
    )
    op.create_table('statutory_day',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.ForeignKeyConstraint(['year'], ['statutory_year.year'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('day')
    )
    op.create_index(op.f('ix_statutory_day_year'), 'statutory_day', ['year'], unique=False)
    with op.batch_alter_table('incident') as batch:
        batch.add_column(sa.Column('response_verdict', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True))
        batch.add_column(sa.Column('on_site_verdict', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True))
        batch.add_column(sa.Column('resolution_verdict', sqlmodel.sql.sqltypes.AutoString(length=12),
                                   nullable=True))
        batch.add_column(sa.Column('sla_provisional', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('occurred_at', models.core.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('alerts_truncated', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('alert_inbox') as batch:
        batch.add_column(sa.Column('truncated', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('alert_inbox') as batch:
        batch.drop_column('truncated')
    with op.batch_alter_table('incident') as batch:
        for name in ('alerts_truncated', 'occurred_at', 'sla_provisional', 'resolution_verdict', 'on_site_verdict',
                     'response_verdict'):
            batch.drop_column(name)
    op.drop_index(op.f('ix_statutory_day_year'), table_name='statutory_day')
    op.drop_table('statutory_day')
    op.drop_table('statutory_year')
