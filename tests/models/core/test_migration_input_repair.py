"""Migration 0014b_input: rows that hostile input stored before the checks become readable again."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine, select

from models.core.migrate import upgrade
from models.tables import metadata
from tests.models.core.test_migrations import fresh_url  # noqa: F401 (fixture)

C1 = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"


@pytest.mark.db
def test_null_attributes_empty_names_and_code_templates_are_repaired(fresh_url: str) -> None:  # noqa: F811
    upgrade(fresh_url, "0018")  # the revision before 0014b_input
    engine = create_engine(fresh_url)
    tables = metadata.tables
    now = datetime.now(UTC)
    spec = {"name": "nightly", "cron": "0 9 * * *", "report_template": C1,
            "checks": [{"key": "port", "name": "HTTPS port", "probe": "tcp", "params": {"port": 443}}]}
    good = {**spec, "name": "weekly", "report_template": "# {{ plan.name }}"}
    with engine.begin() as conn:
        conn.execute(tables["configuration_item"].insert().values(
            id=1, name="core-sw-01", ci_type="switch", criticality="core", tags=None, attributes=None,
            created_at=now, updated_at=now))
        conn.execute(tables["organisation"].insert().values(id=1, name="电子政务办", kind="customer"))
        conn.execute(tables["contract"].insert().values(id=1, code="EGOV-2026", name="", customer_id=1,
                                                        starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31),
                                                        status="active"))
        conn.execute(tables["inspection_plan"].insert(), [
            {"id": 1, "name": "nightly", "spec": spec, "active": True, "created_at": now, "updated_at": now},
            {"id": 2, "name": "weekly", "spec": good, "active": True, "created_at": now, "updated_at": now}])

    upgrade(fresh_url)
    with engine.connect() as conn:
        ci = conn.execute(select(tables["configuration_item"])).mappings().one()
        assert ci["attributes"] == {} and ci["tags"] == []
        assert conn.execute(select(tables["contract"].c.name)).scalar_one() == "EGOV-2026"
        plans = dict(conn.execute(select(tables["inspection_plan"].c.id, tables["inspection_plan"].c.spec)).all())
    engine.dispose()
    assert plans[1]["report_template"] is None and plans[1]["checks"] == spec["checks"]
    assert plans[2]["report_template"] == "# {{ plan.name }}"
