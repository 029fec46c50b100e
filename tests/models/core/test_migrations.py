"""Alembic: upgrade head, downgrade base, upgrade head on a fresh database; no model drift."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, make_url, text

from models.core.migrate import alembic_config, downgrade, upgrade
from models.tables import metadata


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[str]:
    """A brand-new empty database of the same kind as the test database."""
    base = make_url(os.environ["ITSS_DATABASE_URL"])
    if base.get_backend_name() != "postgresql":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"itss_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.db
def test_upgrade_downgrade_upgrade(fresh_url: str) -> None:
    upgrade(fresh_url)
    engine = create_engine(fresh_url)
    assert {"person", "configuration_item", "audit_event", "contract"} <= set(inspect(engine).get_table_names())
    downgrade(fresh_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(fresh_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_history_is_linear() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    command.history(alembic_config("sqlite://"))  # parses every revision
