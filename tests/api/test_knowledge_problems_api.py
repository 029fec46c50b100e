"""/knowledge and /problems without Prefect: roles, bad input named by field, state refusals."""

from __future__ import annotations

from fastapi.testclient import TestClient

from models.directory.roles import RoleKey


def test_article_input_and_roles(client: TestClient, headers) -> None:
    engineer = headers[RoleKey.ENGINEER]
    assert client.post("/knowledge", json={"title": "x"}).status_code == 401
    assert client.post("/knowledge", json={"title": "x"}, headers=headers[RoleKey.CUSTOMER_REP]).status_code == 403
    for body, field in [({"title": ""}, "title"), ({"title": "x", "ci_ids": [999]}, "ci_ids")]:
        response = client.post("/knowledge", json=body, headers=engineer)
        assert response.status_code == 422 and field in response.text, response.text
    draft = client.post("/knowledge", json={"title": "Disk full", "symptom": "disk full"}, headers=engineer).json()
    assert draft["status"] == "draft" and draft["author_id"] is not None
    no_resolution = client.post(f"/knowledge/{draft['id']}/submit", headers=engineer)
    assert no_resolution.status_code == 422 and "resolution" in no_resolution.text
    used = client.post(f"/knowledge/{draft['id']}/solved", json={"incident_id": 1}, headers=engineer)
    assert used.status_code == 409 and "published" in used.json()["detail"]
    edited = client.patch(f"/knowledge/{draft['id']}", json={"resolution": "rotate logs", "tags": None},
                          headers=engineer)
    assert edited.status_code == 200 and edited.json()["resolution"] == "rotate logs" and edited.json()["tags"] == []
    assert client.get("/knowledge/search", params={"q": "disk"}, headers=engineer).json() == []  # drafts hidden
    assert len(client.get("/knowledge/search", params={"q": "disk", "include_drafts": True},
                          headers=engineer).json()) == 1
    assert client.get("/knowledge/search", params={"q": ""}, headers=engineer).status_code == 422
    assert client.get("/knowledge/12345", headers=engineer).status_code == 404


def test_problem_input_and_life_cycle_refusals(client: TestClient, headers) -> None:
    engineer, pm = headers[RoleKey.ENGINEER], headers[RoleKey.PROJECT_MANAGER]
    bad = client.post("/problems", json={"title": "t", "symptom": "s", "ci_id": 999}, headers=engineer)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "ci_id"
    assert client.post("/problems", json={"title": "t", "symptom": "s"},
                       headers=headers[RoleKey.SERVICE_DESK]).status_code == 403
    problem = client.post("/problems", json={"title": "Nightly batch overruns", "symptom": "batch overruns"},
                          headers=engineer).json()
    assert problem["status"] == "logged" and problem["source"] == "manual"
    duplicate = client.post("/problems", json={"title": "again", "symptom": "Batch overruns"}, headers=engineer)
    assert duplicate.status_code == 422 and duplicate.json()["errors"][0]["field"] == "symptom"
    early = client.post(f"/problems/{problem['id']}/fix", json={"change_id": 1}, headers=engineer)
    assert early.status_code == 409 and "known_error" in early.json()["detail"]
    known = client.post(f"/problems/{problem['id']}/known-error", headers=engineer,
                        json={"root_cause": "index missing", "workaround": "run the batch at 01:00"})
    assert known.status_code == 200 and known.json()["article"]["status"] == "draft"
    assert known.json()["article"]["source_type"] == "problem"
    missing = client.post(f"/problems/{problem['id']}/fix", json={"change_id": 999}, headers=engineer)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "change_id"
    assert client.post(f"/problems/{problem['id']}/close", headers=engineer).status_code == 403
    assert client.post(f"/problems/{problem['id']}/close", headers=pm).status_code == 409
    assert client.get(f"/problems/{problem['id']}", headers=pm).json()["status"] == "known_error"


def test_a_longest_title_problem_becomes_a_known_error_whose_article_still_reads(client: TestClient, headers) -> None:
    """A 300-character problem title made a 313-character article: 500 on the known-error call (with the rows
    written) and on every knowledge list after it."""
    engineer = headers[RoleKey.ENGINEER]
    problem = client.post("/problems", json={"title": "P" * 300, "symptom": "batch overruns"}, headers=engineer)
    assert problem.status_code == 201, problem.text
    blank = client.post(f"/problems/{problem.json()['id']}/known-error", headers=engineer,
                        json={"root_cause": "   ", "workaround": "run it at 01:00"})
    assert blank.status_code == 422 and blank.json()["errors"][0]["field"] == "root_cause"
    known = client.post(f"/problems/{problem.json()['id']}/known-error", headers=engineer,
                        json={"root_cause": "index missing", "workaround": "run it at 01:00"})
    assert known.status_code == 200, known.text
    title = known.json()["article"]["title"]
    assert len(title) == 300 and title.startswith("Known error: PPP") and title.endswith("…")
    assert client.get("/knowledge", headers=engineer).status_code == 200
    assert client.get(f"/knowledge/{known.json()['article']['id']}", headers=engineer).status_code == 200


def test_a_change_that_finished_before_the_problem_cannot_be_its_fix(client: TestClient, headers, session) -> None:
    """Linking an old, unrelated change took its finish as the fix time and let the problem close at once."""
    from datetime import timedelta

    from models.changes.tables import ChangeStatus, ChangeType
    from models.core.clock import utcnow
    from tests.support.history import _change

    engineer = headers[RoleKey.ENGINEER]
    person = client.get("/people/me", headers=engineer).json()["id"]
    _change(session, person, None, "old upgrade", ChangeType.NORMAL, ChangeStatus.SUCCEEDED,
            utcnow() - timedelta(days=150))
    session.commit()
    old = client.get("/changes", headers=engineer).json()[0]["id"]
    problem = client.post("/problems", json={"title": "OA slow", "symptom": "oa slow"}, headers=engineer).json()
    client.post(f"/problems/{problem['id']}/known-error", headers=engineer,
                json={"root_cause": "session table lock", "workaround": "restart the pool"})
    linked = client.post(f"/problems/{problem['id']}/fix", json={"change_id": old}, headers=engineer)
    assert linked.status_code == 422 and linked.json()["errors"][0]["field"] == "change_id"
    assert "finished before this problem was logged" in linked.json()["errors"][0]["message"]
    assert client.get(f"/problems/{problem['id']}", headers=engineer).json()["status"] == "known_error"


def test_an_id_no_database_can_hold_is_refused_naming_its_field(client: TestClient, headers) -> None:
    engineer = headers[RoleKey.ENGINEER]
    for path, body, field in [("/problems", {"title": "t", "symptom": "s", "ci_id": 2**63}, "ci_id"),
                              ("/problems", {"title": "t", "symptom": "s", "incident_ids": [0]}, "incident_ids"),
                              ("/knowledge", {"title": "t", "ci_ids": [2**64]}, "ci_ids")]:
        response = client.post(path, json=body, headers=engineer)
        assert response.status_code == 422 and response.json()["errors"][0]["field"].startswith(field), response.text
