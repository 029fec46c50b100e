"""The issue 14 payloads replayed through the API: each is refused with a 422/409 naming the field, and
nothing is written (no row, no change log, no audit entry)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from api.main import app
from models.changes.tables import ChangeRequest, ChangeTemplate
from models.cmdb.tables import CIChange
from models.contracts.tables import Contract
from models.core.audit import AuditEvent
from models.directory.people import Person
from models.directory.roles import RoleKey
from models.inspection.tables import InspectionPlan

C1 = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def fields(response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


def test_c1_code_in_a_report_template_is_refused_at_save(client: TestClient, headers, session: Session) -> None:
    plan = {"name": "nightly", "cron": "0 9 * * *", "report_template": f"# Report\n{C1}",
            "checks": [{"key": "port", "name": "HTTPS port", "probe": "tcp", "params": {"port": 443}}]}
    for role in (RoleKey.ENGINEER, RoleKey.PROJECT_MANAGER, RoleKey.OPS_MANAGER):
        response = client.post("/inspection-plans", json=plan, headers=headers[role])
        assert response.status_code == 422, response.text
        assert fields(response) == ["report_template"] and "__globals__" in response.json()["detail"]
    assert count(session, InspectionPlan) == 0


def _ci(client: TestClient, headers) -> dict:
    return client.post("/cis", json={"name": "core-sw-01", "ci_type": "switch", "attributes": {"ports": 48}},
                       headers=headers[RoleKey.ENGINEER]).json()


@pytest.mark.parametrize("field", ["attributes", "tags", "name", "ci_type", "criticality"])
def test_h3_null_for_a_field_that_cannot_be_empty_is_422_and_the_cmdb_keeps_answering(
        client: TestClient, headers, session: Session, field: str) -> None:
    eng = headers[RoleKey.ENGINEER]
    ci = _ci(client, headers)
    response = client.patch(f"/cis/{ci['id']}", json={field: None}, headers=eng)
    assert response.status_code == 422, response.text
    assert fields(response) == [field]
    assert client.get("/cis", headers=headers[RoleKey.CUSTOMER_REP]).status_code == 200
    assert client.get(f"/cis/{ci['id']}", headers=eng).json() == ci
    assert count(session, CIChange) == 1  # only "created"


def test_h3_null_still_clears_a_field_that_may_be_empty(client: TestClient, headers) -> None:
    eng = headers[RoleKey.ENGINEER]
    ci = client.post("/cis", json={"name": "web-01", "ci_type": "server", "vendor": "Huawei"}, headers=eng).json()
    assert client.patch(f"/cis/{ci['id']}", json={"vendor": None}, headers=eng).json()["vendor"] is None


def _id_routes() -> list[tuple[str, str]]:
    """Every API operation with an integer id in its path."""
    document = app.openapi()
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            ids = [p for p in operation.get("parameters", []) if p["in"] == "path"
                   and p["schema"].get("type") == "integer"]
            if ids:
                found.append((method.upper(), path))
    return found


def test_l1_ids_past_64_bits_are_404_or_422_on_every_path(client: TestClient, headers) -> None:
    routes = _id_routes()
    assert len(routes) >= 25  # the issue counted ~25 endpoints that answered 500
    admin = headers[RoleKey.ADMIN]
    for huge in (2**63, 2**64 + 1, -(2**63) - 1):
        for method, path in routes:
            url = re.sub(r"\{[a-z_]+\}", str(huge), path)
            response = client.request(method, url, json={}, headers=admin)
            assert response.status_code in (404, 422), (method, url, response.status_code, response.text)
            assert set(response.json()) == {"detail", "errors"}


def test_l1_ids_past_64_bits_in_queries_are_422_naming_the_parameter(client: TestClient, headers) -> None:
    document = app.openapi()
    queries = [(path, p["name"]) for path, ops in document["paths"].items() if "get" in ops and "{" not in path
               for p in ops["get"].get("parameters", []) if p["in"] == "query" and p["name"].endswith("_id")
               and "integer" in str(p["schema"])]
    assert len(queries) >= 4
    for url, query in queries:
        response = client.get(url, params={query: 2**63}, headers=headers[RoleKey.ADMIN])
        assert response.status_code == 422 and fields(response) == [query], (url, response.text)


def test_l1_month_classify_and_empty_contract_name(client: TestClient, headers, session: Session) -> None:
    admin = headers[RoleKey.ADMIN]
    for month in ("0001-01", "9999-12", "2026-13"):
        response = client.get("/changes/metrics", params={"month": month}, headers=admin)
        assert response.status_code == 422 and fields(response) == ["month"], response.text
    assert client.get("/changes/metrics", params={"month": "2026-11"}, headers=admin).status_code == 200

    response = client.post("/changes/classify", json={"characteristics": ["bulk_data", "teleport"]}, headers=admin)
    assert response.status_code == 422 and fields(response) == ["characteristics"], response.text
    assert "network_topology" in response.json()["detail"]  # the fix: the known characteristics

    customer = client.post("/organisations", json={"name": "电子政务办", "kind": "customer"}, headers=admin).json()
    contract = client.post("/contracts", headers=admin, json={
        "code": "EGOV-2026", "name": "运维服务", "customer_id": customer["id"],
        "starts_on": "2026-01-01", "ends_on": "2026-12-31"}).json()
    audit_before = count(session, AuditEvent)
    for change, field in (({"name": ""}, "name"), ({"name": None}, "name"), ({"status": None}, "status"),
                          ({"ci_ids": [2**63]}, "ci_ids.0")):
        response = client.patch(f"/contracts/{contract['id']}", json=change, headers=admin)
        assert response.status_code == 422 and fields(response) == [field], response.text
    assert client.get(f"/contracts/{contract['id']}", headers=admin).json()["name"] == "运维服务"
    assert count(session, AuditEvent) == audit_before
    session.expire_all()
    assert session.get(Contract, contract["id"]).name == "运维服务"


def _me(client: TestClient, auth: dict) -> dict:
    return client.get("/people/me", headers=auth).json()


@pytest.mark.parametrize("value", [0, 1, "false", "no", None])
def test_m7_active_takes_only_true_or_false(client: TestClient, headers, value) -> None:
    admin = headers[RoleKey.ADMIN]
    engineer = _me(client, headers[RoleKey.ENGINEER])
    response = client.patch(f"/people/{engineer['id']}", json={"active": value}, headers=admin)
    assert response.status_code == 422 and fields(response) == ["active"], response.text
    assert client.get("/people/me", headers=headers[RoleKey.ENGINEER]).status_code == 200


def test_m7_the_last_active_admin_cannot_deactivate_themselves_or_drop_the_role(
        client: TestClient, headers, make_person, session: Session) -> None:
    admin = headers[RoleKey.ADMIN]
    me = _me(client, admin)
    audit_before = count(session, AuditEvent)
    for change in ({"active": False}, {"roles": ["engineer"]}, {"roles": []}):
        response = client.patch(f"/people/{me['id']}", json=change, headers=admin)
        assert response.status_code == 409, response.text
        assert "last active admin" in response.json()["detail"]
    assert _me(client, admin)["roles"] == ["admin"] and _me(client, admin)["active"] is True
    assert count(session, AuditEvent) == audit_before

    # With a second admin, the first may step down.
    second = make_person("second-admin", RoleKey.ADMIN)
    assert client.patch(f"/people/{me['id']}", json={"roles": ["engineer"]}, headers=admin).status_code == 200
    response = client.patch(f"/people/{_me(client, second)['id']}", json={"active": False}, headers=second)
    assert response.status_code == 409
    session.expire_all()
    assert session.get(Person, _me(client, second)["id"]).active


STEP_ESCAPES = [
    ({"name": "..", "kind": "backup", "paths": ["/srv/app"]}, "steps.0.name"),
    ({"name": "../../etc", "kind": "backup", "paths": ["/srv/app"]}, "steps.0.name"),
    ({"name": "/var/lib/itss", "kind": "backup", "paths": ["/srv/app"]}, "steps.0.name"),
    ({"name": "back up", "kind": "backup", "paths": ["/"]}, "steps.0.paths.0"),
    ({"name": "back up", "kind": "backup", "paths": ["srv/app"]}, "steps.0.paths.0"),
    ({"name": "back up", "kind": "backup", "paths": ["/srv/app/../.."]}, "steps.0.paths.0"),
]


@pytest.mark.parametrize(("step", "field"), STEP_ESCAPES)
def test_m6_runbook_paths_that_escape_are_refused_at_save(client: TestClient, headers, session: Session,
                                                          step: dict, field: str) -> None:
    change = {"title": "Deploy app 2.4", "change_type": "normal", "steps": [step, {"name": "go", "command": "true"}],
              "rollback": [{"name": "undo", "kind": "restore", "backup": step["name"]}]}
    response = client.post("/changes", json=change, headers=headers[RoleKey.ENGINEER])
    assert response.status_code == 422, response.text
    assert field in fields(response), response.json()
    template = {"name": "nightly fix", "standard_kind": "nonprod_software", "steps": [step]}
    response = client.post("/change-templates", json=template, headers=headers[RoleKey.CHANGE_MANAGER])
    assert response.status_code == 422 and field in fields(response), response.text
    assert count(session, ChangeRequest) == 0 and count(session, ChangeTemplate) == 0


def test_m6_a_restore_cannot_name_an_escaping_backup(client: TestClient, headers, session: Session) -> None:
    change = {"title": "Deploy", "change_type": "normal", "steps": [{"name": "go", "command": "true"}],
              "rollback": [{"name": "undo", "kind": "restore", "backup": ".."}]}
    response = client.post("/changes", json=change, headers=headers[RoleKey.ENGINEER])
    assert response.status_code == 422 and "rollback.0.backup" in fields(response), response.text
    assert count(session, ChangeRequest) == 0


def test_l4_a_token_minted_for_oneself_expires(client: TestClient, headers, make_person) -> None:
    from config.settings import get_settings

    days = get_settings().self_token_days
    own = headers[RoleKey.ENGINEER]
    me = _me(client, own)
    minted = client.post(f"/people/{me['id']}/tokens", json={"label": "phone"}, headers=own).json()
    expires = datetime.fromisoformat(minted["expires_at"])
    assert timedelta(days=days - 1) < expires - datetime.now(UTC) <= timedelta(days=days)

    # The minted token cannot mint a longer-lived one, nor a non-expiring one.
    stolen = {"Authorization": f"Bearer {minted['token']}"}
    far = (datetime.now(UTC) + timedelta(days=days + 30)).isoformat()
    response = client.post(f"/people/{me['id']}/tokens", json={"expires_at": far}, headers=stolen)
    assert response.status_code == 422 and fields(response) == ["expires_at"], response.text
    unbounded = client.post(f"/people/{me['id']}/tokens", json={"expires_at": None}, headers=stolen).json()
    assert unbounded["expires_at"] is not None
    assert len(client.get(f"/people/{me['id']}/tokens", headers=own).json()) == 3  # make_person's, phone, last

    # Admins minting for someone else (a service account) may still choose no expiry.
    service = _me(client, make_person("svc-monitor", RoleKey.ENGINEER))
    issued = client.post(f"/people/{service['id']}/tokens", json={}, headers=headers[RoleKey.ADMIN]).json()
    assert issued["expires_at"] is None


def test_l2_the_openapi_document_describes_the_error_bodies_sent(client: TestClient, headers) -> None:
    document = app.openapi()
    assert set(document["components"]["schemas"]["ErrorBody"]["properties"]) == {"detail", "errors"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for code in ("400", "401", "403", "404", "409", "422"):
                content = operation["responses"][code]["content"]
                assert content == {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}, \
                    (method, path, code)
    # And the bodies are that shape: 401, 403, 404, 409, 422.
    engineer = headers[RoleKey.ENGINEER]
    ci = client.post("/cis", json={"name": "db-01", "ci_type": "server"}, headers=engineer)
    answers = [client.get("/cis"), client.post("/people", json={"name": "x"}, headers=engineer),
               client.get("/cis/424242", headers=engineer),
               client.post("/cis", json={"name": "db-01", "ci_type": "server"}, headers=engineer),
               client.patch(f"/cis/{ci.json()['id']}", json={"ip": "300.1.1.1"}, headers=engineer)]
    assert [a.status_code for a in answers] == [401, 403, 404, 409, 422]
    assert all(set(a.json()) == {"detail", "errors"} for a in answers)
    assert answers[4].json()["errors"][0]["field"] == "ip"
