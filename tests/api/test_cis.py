"""The CMDB API: validation names the field, nothing half-written, every change logged."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from models.cmdb.tables import CIChange, ConfigurationItem
from models.core.audit import AuditEvent
from models.directory.roles import RoleKey

CI = {"name": "core-sw-01", "ci_type": "switch", "ip": "10.16.0.1", "vendor": "H3C", "model": "S7506E",
      "rack": "6-06", "criticality": "core", "tags": ["network"]}


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_create_read_update_and_change_log(client: TestClient, headers, session: Session) -> None:
    eng = headers[RoleKey.ENGINEER]
    created = client.post("/cis", json=CI, headers=eng)
    assert created.status_code == 201, created.text
    ci_id = created.json()["id"]
    assert client.get(f"/cis/{ci_id}", headers=headers[RoleKey.CUSTOMER_REP]).json()["ip"] == "10.16.0.1"

    patched = client.patch(f"/cis/{ci_id}?reason=firmware upgrade", json={"os_version": "Comware 7.1.045"},
                           headers=eng)
    assert patched.status_code == 200 and patched.json()["os_version"] == "Comware 7.1.045"

    log = client.get(f"/cis/{ci_id}/changes", headers=eng).json()
    assert [entry["action"] for entry in log] == ["created", "updated"]
    assert log[1]["before"] == {"os_version": None}
    assert log[1]["after"] == {"os_version": "Comware 7.1.045"}
    assert log[1]["reason"] == "firmware upgrade"
    assert log[1]["actor"].startswith("person:")
    audit = session.exec(select(AuditEvent).where(AuditEvent.record_type == "ci")).all()
    assert [a.action for a in audit] == ["ci.created", "ci.updated"]


def test_unchanged_patch_writes_no_log(client: TestClient, headers, session: Session) -> None:
    eng = headers[RoleKey.ENGINEER]
    ci_id = client.post("/cis", json=CI, headers=eng).json()["id"]
    client.patch(f"/cis/{ci_id}", json={"vendor": "H3C"}, headers=eng)
    assert count(session, CIChange) == 1


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"ip": "10.16.0.300"}, "ip", "not an IPv4 or IPv6 address"),
        ({"ci_type": "toaster"}, "ci_type", "server"),
        ({"name": ""}, "name", "at least 1"),
        ({"criticality": "urgent"}, "criticality", "core"),
    ],
)
def test_bad_ci_names_the_field_and_writes_nothing(
    client: TestClient, headers, session: Session, change: dict, field: str, words: str
) -> None:
    response = client.post("/cis", json={**CI, **change}, headers=headers[RoleKey.ENGINEER])
    assert response.status_code == 422
    body = response.json()
    assert [e["field"] for e in body["errors"]] == [field]
    assert words in body["errors"][0]["message"]
    assert field in body["detail"]
    assert count(session, ConfigurationItem) == 0 and count(session, CIChange) == 0


def test_duplicate_name_is_409_and_writes_nothing(client: TestClient, headers, session: Session) -> None:
    eng = headers[RoleKey.ENGINEER]
    first = client.post("/cis", json=CI, headers=eng).json()
    response = client.post("/cis", json={**CI, "ip": "10.16.0.9"}, headers=eng)
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "name"
    assert f"CI {first['id']}" in response.json()["detail"]
    assert count(session, ConfigurationItem) == 1 and count(session, CIChange) == 1


def test_rename_onto_existing_name_is_409(client: TestClient, headers, session: Session) -> None:
    eng = headers[RoleKey.ENGINEER]
    client.post("/cis", json=CI, headers=eng)
    other = client.post("/cis", json={**CI, "name": "agg-sw-01"}, headers=eng).json()
    assert client.patch(f"/cis/{other['id']}", json={"name": "core-sw-01"}, headers=eng).status_code == 409
    assert client.get(f"/cis/{other['id']}", headers=eng).json()["name"] == "agg-sw-01"  # not renamed
    assert count(session, CIChange) == 2  # the two creations, no change entry for the refused rename


def test_bad_ip_on_update_is_422(client: TestClient, headers) -> None:
    eng = headers[RoleKey.ENGINEER]
    ci_id = client.post("/cis", json=CI, headers=eng).json()["id"]
    response = client.patch(f"/cis/{ci_id}", json={"ip": "not-an-ip"}, headers=eng)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "ip"
    assert client.get(f"/cis/{ci_id}", headers=eng).json()["ip"] == "10.16.0.1"


def test_filters(client: TestClient, headers) -> None:
    eng = headers[RoleKey.ENGINEER]
    client.post("/cis", json=CI, headers=eng)
    client.post("/cis", json={**CI, "name": "db-srv-01", "ci_type": "server", "ip": "10.16.4.11",
                              "tags": ["db"]}, headers=eng)
    assert [c["name"] for c in client.get("/cis?ci_type=server", headers=eng).json()] == ["db-srv-01"]
    assert [c["name"] for c in client.get("/cis?tag=network", headers=eng).json()] == ["core-sw-01"]
    assert [c["name"] for c in client.get("/cis?q=10.16.4", headers=eng).json()] == ["db-srv-01"]


def test_delete_keeps_the_log(client: TestClient, headers) -> None:
    eng = headers[RoleKey.ENGINEER]
    ci_id = client.post("/cis", json=CI, headers=eng).json()["id"]
    assert client.delete(f"/cis/{ci_id}", headers=eng).status_code == 204
    assert client.get(f"/cis/{ci_id}", headers=eng).status_code == 404
    assert [e["action"] for e in client.get(f"/cis/{ci_id}/changes", headers=eng).json()] == ["created", "deleted"]


def test_roles_guard_writes(client: TestClient, headers) -> None:
    assert client.post("/cis", json=CI).status_code == 401
    response = client.post("/cis", json=CI, headers=headers[RoleKey.CUSTOMER_REP])
    assert response.status_code == 403
    assert "engineer" in response.json()["detail"]
