"""People, roles, tokens, rosters and authentication."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from models.core.audit import AuditEvent
from models.core.clock import utcnow
from models.directory.people import ApiToken, Person
from models.directory.roles import RoleKey


def test_health_needs_no_token(client: TestClient) -> None:
    # The in-process API runs without the pulse thread; tests/system/unattended/test_pulse.py checks the pulse.
    assert client.get("/health").json() == {"status": "ok", "database": "ok", "pulse": "disabled"}


@pytest.mark.parametrize("auth", [None, "Bearer itss_wrong", "Basic abc"])
def test_bad_or_missing_token_is_401(client: TestClient, auth: str | None) -> None:
    response = client.get("/people", headers={"Authorization": auth} if auth else {})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_every_route_but_health_and_docs_requires_a_token(client: TestClient) -> None:
    open_paths = {"/health", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
    for route in client.app.routes:
        path = getattr(route, "path", "")
        if path in open_paths or path.startswith("/ui"):
            continue
        for method in getattr(route, "methods", set()) - {"HEAD", "OPTIONS"}:
            concrete = path.replace("{", "").replace("}", "").replace("_id", "1")
            response = client.request(method, concrete.replace("id", "1"))
            assert response.status_code == 401, f"{method} {path} answered {response.status_code}"


def test_admin_creates_person_and_token_shown_once(client: TestClient, headers, session: Session) -> None:
    admin = headers[RoleKey.ADMIN]
    created = client.post("/people", json={"name": "li.qiang", "roles": ["engineer"],
                                           "notify_urls": ["mailto://u:secretpw@example.invalid"]},
                          headers=admin)
    assert created.status_code == 201, created.text
    person = created.json()
    assert person["roles"] == ["engineer"] and person["notify_channels"] == 1
    assert "secretpw" not in created.text

    issued = client.post(f"/people/{person['id']}/tokens", json={"label": "phone"}, headers=admin).json()
    token = issued["token"]
    me = client.get("/people/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["name"] == "li.qiang"
    listed = client.get(f"/people/{person['id']}/tokens", headers=admin)
    assert token not in listed.text and issued["prefix"] in listed.text
    stored = session.exec(select(ApiToken).where(ApiToken.id == issued["id"])).one()
    assert stored.token_hash != token and token not in stored.token_hash


def test_non_admin_cannot_create_people(client: TestClient, headers, session: Session) -> None:
    response = client.post("/people", json={"name": "x", "roles": []}, headers=headers[RoleKey.ENGINEER])
    assert response.status_code == 403
    assert session.exec(select(Person).where(Person.name == "x")).all() == []


def test_unknown_role_lists_valid_ones(client: TestClient, headers) -> None:
    response = client.post("/people", json={"name": "x", "roles": ["wizard"]}, headers=headers[RoleKey.ADMIN])
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "roles.0"
    assert "engineer" in response.json()["errors"][0]["message"]


def test_duplicate_person_is_409(client: TestClient, headers) -> None:
    admin = headers[RoleKey.ADMIN]
    client.post("/people", json={"name": "dup", "roles": []}, headers=admin)
    response = client.post("/people", json={"name": "dup", "roles": []}, headers=admin)
    assert response.status_code == 409 and response.json()["errors"][0]["field"] == "name"
    assert len(client.get("/people", headers=admin).json()) == len(RoleKey) + 1  # one per role, one "dup"


def test_revoked_and_expired_tokens_stop_working(client: TestClient, headers, make_person) -> None:
    own = make_person("rev", RoleKey.ENGINEER)
    me = client.get("/people/me", headers=own).json()
    tokens = client.get(f"/people/{me['id']}/tokens", headers=own).json()
    assert client.delete(f"/tokens/{tokens[0]['id']}", headers=own).status_code == 200
    assert client.get("/people/me", headers=own).status_code == 401

    past = (utcnow() - timedelta(minutes=1)).isoformat()
    expired = client.post(f"/people/{me['id']}/tokens", json={"expires_at": past},
                          headers=headers[RoleKey.ADMIN]).json()["token"]
    assert client.get("/people/me", headers={"Authorization": f"Bearer {expired}"}).status_code == 401


def test_people_cannot_mint_tokens_for_others(client: TestClient, headers, make_person, session: Session) -> None:
    make_person("victim", RoleKey.LEADERSHIP)
    victim = next(p for p in client.get("/people", headers=headers[RoleKey.ENGINEER]).json() if p["name"] == "victim")
    response = client.post(f"/people/{victim['id']}/tokens", json={}, headers=headers[RoleKey.ENGINEER])
    assert response.status_code == 403 and "token" not in response.json()
    assert len(session.exec(select(ApiToken).where(ApiToken.person_id == victim["id"])).all()) == 1  # their own


def test_deactivated_person_is_locked_out(client: TestClient, headers, make_person) -> None:
    own = make_person("leaver", RoleKey.ENGINEER)
    person_id = client.get("/people/me", headers=own).json()["id"]
    client.patch(f"/people/{person_id}", json={"active": False}, headers=headers[RoleKey.ADMIN])
    assert client.get("/people/me", headers=own).status_code == 401


def test_roster_validation_and_audit(client: TestClient, headers, session: Session) -> None:
    admin = headers[RoleKey.ADMIN]
    person_id = client.get("/people/me", headers=headers[RoleKey.ENGINEER]).json()["id"]
    shift = {"role_key": "engineer", "person_id": person_id,
             "starts_at": "2026-11-24T09:00:00+08:00", "ends_at": "2026-11-24T08:00:00+08:00"}
    bad = client.post("/rosters", json=shift, headers=admin)
    assert bad.status_code == 422 and "ends_at must be after starts_at" in bad.text
    shift["ends_at"] = "2026-11-25T09:00:00+08:00"
    assert client.post("/rosters", json=shift, headers=admin).status_code == 201
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "roster.added")).one()


def test_roles_listed_with_chinese_names(client: TestClient, headers) -> None:
    roles = {r["key"]: r for r in client.get("/roles", headers=headers[RoleKey.ENGINEER]).json()}
    assert roles["project_manager"]["name_zh"] == "项目经理"
    assert set(roles) == {r.value for r in RoleKey}


def test_audit_log_is_append_only(client: TestClient, headers, session: Session) -> None:
    client.post("/people", json={"name": "audited", "roles": []}, headers=headers[RoleKey.ADMIN])
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "person.created")).first()
    assert event is not None
    event.detail = "tampered"
    session.add(event)
    with pytest.raises(DBAPIError, match="append-only"):
        session.commit()
    session.rollback()
