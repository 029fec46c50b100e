"""one-time sign-in links and page sessions (issue 18)

Revision ID: 0018
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.core.types

revision: str = '0018'
down_revision: str | None = '0014_plan_approval'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('signin_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('secret_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('created_at', models.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', models.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', models.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('secret_hash')
    )
    op.create_index(op.f('ix_signin_link_person_id'), 'signin_link', ['person_id'], unique=False)
    op.create_table('page_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('secret_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('via', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('created_at', models.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', models.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', models.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('secret_hash')
    )
    op.create_index(op.f('ix_page_session_person_id'), 'page_session', ['person_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_page_session_person_id'), table_name='page_session')
    op.drop_table('page_session')
    op.drop_index(op.f('ix_signin_link_person_id'), table_name='signin_link')
    op.drop_table('signin_link')
