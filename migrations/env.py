"""Alembic environment: targets SQLModel.metadata; the URL comes from ITSS settings."""

from __future__ import annotations

from alembic import context

from config.settings import get_settings
from models.core.db import make_engine
from models.core.types import EnumText
from models.tables import metadata

config = context.config


def run_migrations() -> None:
    url = config.attributes.get("url") or get_settings().resolved_database_url
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _render_item(type_: str, obj, autogen_context):
    # Enum columns are plain VARCHAR in the schema; migrations must not import app enums.
    if type_ == "type" and isinstance(obj, EnumText):
        return f"sa.String(length={obj.impl.length})"
    return False


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTER needs batch mode
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
