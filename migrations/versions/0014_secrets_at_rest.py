"""secrets at rest: people's notification URLs encrypted (Fernet, key outside the database)

Revision ID: 0014_secrets_at_rest
Revises: 0014_tenancy
Create Date: 2026-12-02 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014_secrets_at_rest'
down_revision: str | None = '0014_tenancy'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

person = sa.table('person', sa.column('id', sa.Integer), sa.column('notify_urls', sa.Text))


def upgrade() -> None:
    from models.core.crypto import encrypt

    # Ciphertext is longer than the 4000 characters the plaintext column allowed.
    with op.batch_alter_table('person') as batch:
        batch.alter_column('notify_urls', type_=sa.Text(), existing_nullable=False)
    conn = op.get_bind()
    for row_id, urls in conn.execute(sa.select(person.c.id, person.c.notify_urls)).all():
        if urls and urls != encrypt(urls):
            conn.execute(person.update().where(person.c.id == row_id).values(notify_urls=encrypt(urls)))


def downgrade() -> None:
    from models.core.crypto import decrypt

    conn = op.get_bind()
    for row_id, urls in conn.execute(sa.select(person.c.id, person.c.notify_urls)).all():
        if urls:
            conn.execute(person.update().where(person.c.id == row_id).values(notify_urls=decrypt(urls)))
    with op.batch_alter_table('person') as batch:
        batch.alter_column('notify_urls', type_=sa.String(4000), existing_nullable=False)
