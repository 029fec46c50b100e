"""Tenancy: two customers, every GET list and item endpoint and the gate decision, for every kind of caller.

A customer's representative or leader sees only their own organisation's contracts and what hangs under
them: another customer's records are missing from lists and answer 404 (as if they did not exist).
Provider staff see everything unless an admin scoped them to their contract teams.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel

from api.main import app
from models.directory.people import Organisation, OrgKind
from models.directory.roles import RoleKey
from tests.support.tenants import customer, internal, person, team_member

ALL = {"a", "b", "internal"}


@dataclass
class World:
    ids: dict[str, dict[str, int]]  # tenant -> kind -> id ("shared": the provider's, seen by everyone)
    callers: dict[str, tuple[dict[str, str], set[str], RoleKey]]  # name -> (headers, tenants seen, role)


@pytest.fixture
def world(session: Session) -> World:
    provider = Organisation(name="运维服务商", kind=OrgKind.PROVIDER)
    session.add(provider)
    session.commit()
    eng_id, eng = person(session, "eng", RoleKey.ENGINEER, org=provider.id)
    a, b, inside = customer(session, "alpha", eng_id), customer(session, "beta", eng_id), internal(session, eng_id)
    rep_a_id, rep_a = person(session, "rep-a", RoleKey.CUSTOMER_REP, org=a.ids["org"])
    rep_b_id, _ = person(session, "rep-b", RoleKey.CUSTOMER_REP, org=b.ids["org"])
    a.ids["person"], b.ids["person"] = rep_a_id, rep_b_id
    scoped_eng_id, scoped_eng = person(session, "scoped-eng", RoleKey.ENGINEER, org=provider.id, scoped=True)
    scoped_pm_id, scoped_pm = person(session, "scoped-pm", RoleKey.PROJECT_MANAGER, org=provider.id, scoped=True)
    for member in (scoped_eng_id, scoped_pm_id):
        team_member(session, a.ids["contract"], member)
    callers = {
        "customer rep of A": (rep_a, {"a"}, RoleKey.CUSTOMER_REP),
        "customer leader of A": (person(session, "lead-a", RoleKey.LEADERSHIP, org=a.ids["org"])[1], {"a"},
                                 RoleKey.LEADERSHIP),
        "customer rep of the provider": (person(session, "rep-none", RoleKey.CUSTOMER_REP, org=provider.id)[1],
                                         ALL, RoleKey.CUSTOMER_REP),
        "engineer": (eng, ALL, RoleKey.ENGINEER),
        "service desk": (person(session, "desk", RoleKey.SERVICE_DESK)[1], ALL, RoleKey.SERVICE_DESK),
        "project manager": (person(session, "pm", RoleKey.PROJECT_MANAGER, org=provider.id)[1], ALL,
                            RoleKey.PROJECT_MANAGER),
        "provider leadership": (person(session, "boss", RoleKey.LEADERSHIP, org=provider.id)[1], ALL,
                                RoleKey.LEADERSHIP),
        "ops manager": (person(session, "ops", RoleKey.OPS_MANAGER)[1], ALL, RoleKey.OPS_MANAGER),
        "admin": (person(session, "root", RoleKey.ADMIN)[1], ALL, RoleKey.ADMIN),
        "engineer scoped to A's team": (scoped_eng, {"a", "internal"}, RoleKey.ENGINEER),
        "project manager scoped to A's team": (scoped_pm, {"a", "internal"}, RoleKey.PROJECT_MANAGER),
    }
    shared = {"person": eng_id, "org": provider.id}
    return World(ids={"a": a.ids, "b": b.ids, "internal": inside.ids, "shared": shared}, callers=callers)


# Who may call a path at all (role checks come before tenancy); absent: every authenticated person.
READERS = {RoleKey.PROJECT_MANAGER, RoleKey.OPS_MANAGER, RoleKey.SERVICE_LEVEL_MANAGER, RoleKey.LEADERSHIP,
           RoleKey.CUSTOMER_REP, RoleKey.ADMIN}
ALLOWED = {"/reviews": READERS, "/improvement-measures": READERS,
           "/notifications": {RoleKey.OPS_MANAGER, RoleKey.PROJECT_MANAGER, RoleKey.ADMIN}}

# path -> kind of record listed (the JSON list's items carry it as "id")
LISTS = {
    "/contracts": "contract", "/incidents": "incident", "/cis": "ci", "/alerts": "alert", "/changes": "change",
    "/reviews": "review", "/improvement-measures": "measure", "/complaints": "complaint", "/risks": "risk",
    "/approvals": "gate", "/rosters": "shift", "/people": "person", "/organisations": "org",
    "/notifications": "notification", "/change-templates": "template", "/inspection-plans": "plan",
    "/inspection-runs": "run",
}
# path template -> (kind, tenants that hold such a record)
ITEMS = {
    "/contracts/{}": ("contract", ("a", "b")),
    "/incidents/{}": ("incident", ("a", "b", "internal")),
    "/incidents/{}/timeline": ("incident", ("a", "b", "internal")),
    "/incidents/{}/report": ("incident", ("a", "b")),
    "/cis/{}": ("ci", ("a", "b", "internal")),
    "/cis/{}/changes": ("ci", ("a", "b", "internal")),
    "/cis/{}/checks/ping/history": ("ci", ("a", "b", "internal")),
    "/alerts/{}": ("alert", ("a", "b", "internal")),
    "/changes/{}": ("change", ("a", "b")),
    "/changes/{}/report": ("change", ("a", "b")),
    "/reviews/{}": ("review", ("a", "b")),
    "/reviews/{}/report.html": ("review", ("a", "b")),
    "/reviews/{}/report.xlsx": ("review", ("a", "b")),
    "/approvals/{}": ("gate", ("a", "b")),
    "/people/{}": ("person", ("a", "b", "shared")),
    "/inspection-plans/{}": ("plan", ("internal",)),
    "/inspection-runs/{}": ("run", ("internal",)),
    "/inspection-runs/{}/results": ("run", ("internal",)),
    "/inspection-runs/{}/results.csv": ("run", ("internal",)),
}
# The same for everyone: reference data, or the caller's own records.
SHARED = {"/health", "/roles", "/people/me", "/services", "/sla/policy-sets", "/sla/policy-sets/{set_id}",
          "/change-windows", "/change-freezes", "/people/{person_id}/tokens"}
OWN_TESTS = {"/changes/metrics", "/audit"}  # aggregates: tested below
# The statutory calendar is national data: everyone reads it.
SHARED |= {"/calendar/years", "/calendar/years/{year}"}
# The provider's internal working records: customer-side people get 403 on every one (tested below).
INTERNAL = {"/knowledge", "/knowledge/search", "/knowledge/{article_id}", "/knowledge/incidents/{incident_id}",
            "/problems", "/problems/{problem_id}", "/drills/plans", "/drills/runs", "/drills/runs/{run_id}",
            "/drills/runs/{run_id}/report"}


def _template(path: str) -> str:
    import re
    return re.sub(r"\{[^}]+\}", "{}", path).replace("{}/checks/{}/history", "{}/checks/ping/history")


def test_every_get_endpoint_is_in_the_matrix() -> None:
    """A new GET route must be classified here (listed, item, shared) before it ships."""
    paths = {p for p, ops in app.openapi()["paths"].items() if "get" in ops}
    classified = set(LISTS) | SHARED | OWN_TESTS | INTERNAL
    unclassified = {p for p in paths - classified if _template(p) not in ITEMS}
    assert not unclassified, f"classify these GET endpoints in tests/api/test_tenancy.py: {sorted(unclassified)}"


@pytest.mark.parametrize("template", sorted(INTERNAL))
def test_internal_records_are_refused_to_customer_side_people(client: TestClient, world: World, template: str) -> None:
    path = re.sub(r"\{[^}]+\}", "1", template)
    for name, (headers, seen, _role) in world.callers.items():
        response = client.get(path, headers=headers)
        if seen == {"a"}:  # customer-side: only their organisation's contracts, no internal records
            assert response.status_code == 403, f"{name} {path}: {response.status_code}"
            assert "internal records" in response.json()["detail"]
        else:
            assert response.status_code != 403, f"{name} {path}: {response.text}"


def _may_call(path: str, role: RoleKey) -> bool:
    for prefix, roles in ALLOWED.items():
        if path.startswith(prefix):
            return role in roles
    return True


DIRECTORY = {"person", "org"}  # staff (even scoped) know every customer's people; customers only their own


def _sees(tenant: str, seen: set[str], kind: str) -> bool:
    return tenant == "shared" or tenant in seen or (kind in DIRECTORY and "internal" in seen)


@pytest.mark.parametrize("path", sorted(LISTS))
def test_lists_show_only_what_the_caller_may_see(client: TestClient, world: World, path: str) -> None:
    kind, served = LISTS[path], 0
    for name, (headers, seen, role) in world.callers.items():
        response = client.get(path, headers=headers)
        if not _may_call(path, role):
            assert response.status_code == 403, f"{name} {path}: {response.status_code}"
            continue
        assert response.status_code == 200, f"{name} {path}: {response.text}"
        served += 1
        listed = {row["id"] for row in response.json()}
        for tenant, ids in world.ids.items():
            if kind in ids:
                expected = _sees(tenant, seen, kind)
                assert (ids[kind] in listed) == expected, (
                    f"{name} {'should' if expected else 'must not'} see {tenant}'s {kind} in {path}")
    assert served >= 2


@pytest.mark.parametrize("template", sorted(ITEMS))
def test_items_of_other_tenants_answer_404(client: TestClient, world: World, template: str) -> None:
    kind, tenants = ITEMS[template]
    for name, (headers, seen, role) in world.callers.items():
        for tenant in tenants:
            path = template.format(world.ids[tenant][kind])
            response = client.get(path, headers=headers)
            if not _may_call(path, role):
                assert response.status_code == 403, f"{name} {path}: {response.status_code}"
            elif _sees(tenant, seen, kind):
                assert response.status_code == 200, f"{name} should read {tenant}'s {path}: {response.text}"
            else:
                assert response.status_code == 404, f"{name} must get 404 for {tenant}'s {path}: {response.text}"


def test_gate_decision_on_another_tenants_gate_is_404(client: TestClient, world: World) -> None:
    """Deciding (API and approval page) follows the same rule: nobody votes on a gate they cannot see."""
    for name, (headers, seen, _role) in world.callers.items():
        for tenant in ("a", "b"):
            gate = world.ids[tenant]["gate"]
            response = client.post(f"/approvals/{gate}/decision", json={"decision": "approve"}, headers=headers)
            expected = 200 if tenant in seen else 404
            assert response.status_code == expected, f"{name} deciding {tenant}'s gate: {response.text}"
    rep_a = world.callers["customer rep of A"][0]
    client.post("/ui/login", data={"token": rep_a["Authorization"].removeprefix("Bearer ")})
    assert client.get(f"/ui/gates/{world.ids['a']['gate']}").status_code == 200
    assert client.get(f"/ui/gates/{world.ids['b']['gate']}").status_code == 404
    client.cookies.clear()


def _every_row(session: Session) -> dict[str, list[tuple]]:
    """Every row of every table except the API tokens (each request stamps its token's last use)."""
    session.expire_all()
    return {table.name: sorted(map(tuple, session.execute(table.select()).all()), key=repr)
            for table in SQLModel.metadata.sorted_tables if table.name != "api_token"}


def test_writes_to_another_tenants_records_are_404_or_refused(client: TestClient, world: World,
                                                              session: Session) -> None:
    rep_a = world.callers["customer rep of A"][0]
    scoped = world.callers["engineer scoped to A's team"][0]
    scoped_pm = world.callers["project manager scoped to A's team"][0]
    b = world.ids["b"]
    assert client.post(f"/incidents/{world.ids['a']['incident']}/satisfaction", json={"score": 5},
                       headers=rep_a).status_code == 201
    before = _every_row(session)
    assert client.post(f"/incidents/{b['incident']}/satisfaction", json={"score": 1}, headers=rep_a).status_code == 404
    refused = client.post("/complaints", json={"subject": "x", "contract_id": b["contract"]}, headers=rep_a)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "contract_id"
    no_contract = client.post("/complaints", json={"subject": "x"}, headers=rep_a)
    assert no_contract.status_code == 422 and no_contract.json()["errors"][0]["field"] == "contract_id"
    assert client.patch(f"/incidents/{b['incident']}/notes", json={"cause": "x"}, headers=scoped).status_code == 404
    assert client.patch(f"/cis/{b['ci']}", json={"location": "x"}, headers=scoped).status_code == 404
    assert client.patch(f"/risks/{b['risk']}", json={"title": "x"}, headers=scoped_pm).status_code == 404
    assert client.patch(f"/contracts/{b['contract']}", json={"name": "x"}, headers=scoped_pm).status_code == 404
    imported = client.post("/incidents/import?format=json", headers=scoped, content=json.dumps([
        {"title": "old", "reported_at": "2026-10-01T10:00:00+08:00", "contract_code": "C-beta"}]))
    assert imported.status_code == 422 and "contract_code" in imported.text
    assert client.post("/changes", headers=scoped_pm, json={
        "title": "x", "change_type": "normal", "contract_id": b["contract"]}).status_code == 422
    after = _every_row(session)
    # The point of a refusal: nothing was written anywhere (no row, no audit line, no half-import).
    assert {name: rows for name, rows in after.items() if rows != before[name]} == {}


def test_metrics_and_audit_count_only_visible_contracts(client: TestClient, world: World) -> None:
    lead_a = world.callers["customer leader of A"][0]
    boss = world.callers["provider leadership"][0]
    assert client.get("/changes/metrics?month=2026-11", headers=lead_a).json()["changes"] == 1
    assert client.get("/changes/metrics?month=2026-11", headers=boss).json()["changes"] == 2
    pm = world.callers["project manager"][0]
    assert client.patch(f"/risks/{world.ids['b']['risk']}", json={"title": "y"}, headers=pm).status_code == 200
    assert client.get("/audit", headers=pm).json(), "an unscoped manager reads the audit log"
    assert client.get("/audit", headers=world.callers["project manager scoped to A's team"][0]).json() == []
    assert client.get("/audit", headers=world.callers["customer rep of A"][0]).status_code == 403


def test_a_customer_reads_neither_engineers_gates_nor_the_internal_knowledge_and_problem_lines(
        client: TestClient, session: Session) -> None:
    """Found on the running system: a customer read 'Known error (problem 4) … Workaround' in the acknowledge
    gate of their incident, and the problem and knowledge lines of its timeline."""
    from models.gates.service import open_gate
    from models.gates.tables import GateSpec
    from models.incidents.tables import log_event

    provider = Organisation(name="服务商", kind=OrgKind.PROVIDER)
    session.add(provider)
    session.commit()
    eng_id, eng = person(session, "eng", RoleKey.ENGINEER, org=provider.id)
    tenant = customer(session, "gamma", eng_id)
    _, rep = person(session, "rep-g", RoleKey.CUSTOMER_REP, org=tenant.ids["org"])
    incident_id = tenant.ids["incident"]
    for kind in ("reported", "problem_linked", "knowledge_solved"):
        log_event(session, incident_id, actor="system:problem", kind=kind, detail=f"{kind} detail")
    ack, _ = open_gate(session, flow_run_id="run-g", actor="test", spec=GateSpec(
        key="acknowledge", subject="Acknowledge", details_md="**Known error** (problem 4): restart the pool",
        eligible_roles=[RoleKey.ENGINEER], contract_id=tenant.ids["contract"], record_type="incident",
        record_id=str(incident_id)))
    session.commit()
    assert client.get(f"/approvals/{ack.id}", headers=eng).status_code == 200
    assert client.get(f"/approvals/{ack.id}", headers=rep).status_code == 404
    kinds = {e["kind"] for e in client.get(f"/incidents/{incident_id}/timeline", headers=rep).json()}
    assert "reported" in kinds and not kinds & {"problem_linked", "knowledge_solved"}
    staff = {e["kind"] for e in client.get(f"/incidents/{incident_id}/timeline", headers=eng).json()}
    assert {"problem_linked", "knowledge_solved"} <= staff
    client.post("/ui/login", data={"token": rep["Authorization"].removeprefix("Bearer ")})  # the page's cookie
    assert client.get(f"/ui/gates/{ack.id}").status_code == 404
    page = client.get(f"/ui/incidents/{incident_id}")
    assert page.status_code == 200 and "problem_linked" not in page.text and "reported" in page.text
