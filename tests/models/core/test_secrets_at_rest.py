"""People's notification URLs are stored encrypted, with a key kept outside the database (0600)."""

from __future__ import annotations

import stat

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlmodel import Session

from config.settings import get_settings
from models.core.crypto import PREFIX, decrypt
from models.core.migrate import upgrade
from models.directory.people import Person
from models.directory.roles import RoleKey
from tests.models.core.test_migrations import fresh_url  # noqa: F401 - the fixture

URL = "mailto://ops:S3cret-pass@mail.example.test?to=oncall@example.test"


def test_urls_given_to_the_api_are_ciphertext_in_the_database(client: TestClient, headers, session: Session) -> None:
    created = client.post("/people", headers=headers[RoleKey.ADMIN],
                          json={"name": "li", "roles": ["engineer"], "notify_urls": [URL]})
    assert created.status_code == 201 and created.json()["notify_channels"] == 1
    raw = session.exec(text("SELECT notify_urls FROM person WHERE name = 'li'")).one()[0]
    assert raw.startswith(PREFIX) and "S3cret" not in raw and "example" not in raw
    session.expire_all()
    assert session.get(Person, created.json()["id"]).notify_urls == URL  # the sender reads plaintext
    key = get_settings().data_dir.resolve() / "secrets" / "encryption-key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and URL not in key.read_text()


@pytest.mark.db
def test_migration_encrypts_urls_stored_in_plaintext(fresh_url: str) -> None:  # noqa: F811
    upgrade(fresh_url, "0014_tenancy")
    engine = create_engine(fresh_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO person (name, active, contract_scoped, notify_urls, created_at) "
                          "VALUES ('old', true, false, :urls, CURRENT_TIMESTAMP), "
                          "('none', true, false, '', CURRENT_TIMESTAMP)"), {"urls": URL})
    upgrade(fresh_url)
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT name, notify_urls FROM person")).all())
    engine.dispose()
    assert stored["old"].startswith(PREFIX) and decrypt(stored["old"]) == URL
    assert stored["none"] == ""
