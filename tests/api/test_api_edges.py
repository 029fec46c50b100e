"""Smaller API edges people tripped over: CI names beside ids in results, run lists without reports, a hint
naming `target` when a check is given a host, and one timezone in every change answer."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session

from models.directory.roles import RoleKey
from models.inspection.service import close_run, open_run, plan_by_ref, store_results
from models.inspection.tables import CheckStatus, RunStatus
from tests.flows.test_release_deployment import release


def _run_with_results(client: TestClient, session: Session, lead: dict) -> int:
    assert client.post("/cis", json={"name": "web-01", "ci_type": "server", "ip": "127.0.0.1", "tags": ["w"]},
                       headers=lead).status_code == 201
    ci_id = client.get("/cis", headers=lead).json()[0]["id"]
    plan = {"name": "edge plan", "objective": "x", "cron": "0 9 * * *", "scope": {"tags": ["w"]},
            "checks": [{"key": "ssh", "name": "SSH port", "probe": "tcp", "params": {"port": 22}}]}
    assert client.post("/inspection-plans", json=plan, headers=lead).status_code == 201
    run = open_run(session, plan_by_ref(session, "edge plan"), trigger="manual", flow_run_id=None)
    store_results(session, [dict(run_id=run.id, ci_id=ci_id, check_key="ssh", probe="tcp", status=CheckStatus.OK,
                                 value=1.0, threshold="", message="open", duration_ms=1.0,
                                 checked_at=datetime.now(UTC))])
    close_run(session, run.id, status=RunStatus.COMPLETED, report_md="# a long report\n" + "line\n" * 500)
    session.commit()
    return run.id


def test_results_name_their_ci_and_run_lists_leave_reports_out(client: TestClient, session: Session,
                                                                headers) -> None:
    lead = headers[RoleKey.ENGINEER]
    run_id = _run_with_results(client, session, lead)
    results = client.get(f"/inspection-runs/{run_id}/results", headers=lead).json()
    assert results[0]["ci_name"] == "web-01" and results[0]["ci_id"]
    rows = list(csv.DictReader(io.StringIO(client.get(f"/inspection-runs/{run_id}/results.csv",
                                                      headers=lead).text.lstrip("\ufeff"))))
    assert rows[0]["ci_name"] == "web-01"
    listed = client.get("/inspection-runs", headers=lead).json()
    assert listed[0]["id"] == run_id and "report_md" not in listed[0]
    assert "a long report" in client.get(f"/inspection-runs/{run_id}", headers=lead).json()["report_md"]


def test_a_host_in_check_params_names_target(client: TestClient, headers, tmp_path: Path) -> None:
    engineer = headers[RoleKey.ENGINEER]
    body = release(tmp_path, 1)
    body["verification"] = [{"key": "health", "name": "health", "probe": "http",
                             "params": {"url": "http://{host}/health", "host": "10.1.6.4"}}]
    response = client.post("/changes", json=body, headers=engineer)
    assert response.status_code == 422
    message = response.json()["detail"]
    assert "params.host" in message and "'target'" in message and "url" in message


def test_change_answers_times_in_one_timezone(client: TestClient, headers, tmp_path: Path) -> None:
    engineer = headers[RoleKey.ENGINEER]
    body = release(tmp_path, 1, window_start="2026-12-01T22:00:00+08:00", window_end="2026-12-01T23:30:00+08:00")
    created = client.post("/changes", json=body, headers=engineer)
    assert created.status_code == 201, created.text
    fetched = client.get(f"/changes/{created.json()['id']}", headers=engineer).json()["change"]
    assert created.json()["window_start"] == fetched["window_start"]
    assert datetime.fromisoformat(created.json()["window_start"]).utcoffset().total_seconds() == 0


def test_every_503_says_when_to_try_again() -> None:
    """Prefect busy or away answers 503 from several routes; each says Retry-After, in the documented shape."""
    from fastapi import FastAPI, HTTPException

    from api.errors import RETRY_AFTER_SECONDS, install

    app = FastAPI()
    install(app)

    @app.get("/busy")
    def busy() -> None:
        raise HTTPException(503, "the routine_inspection deployment could not be started; try again")

    @app.get("/gone")
    def gone() -> None:
        raise HTTPException(404, "no such thing")

    with TestClient(app) as client:
        answer = client.get("/busy")
        assert answer.status_code == 503 and answer.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert answer.json() == {"detail": "the routine_inspection deployment could not be started; try again",
                                 "errors": []}
        assert "Retry-After" not in client.get("/gone").headers
