"""Bounded work: an alert post or an import above its limit gets a 413 naming the limit and the fix, and
nothing of it is stored."""

from __future__ import annotations

import copy
import json

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from config.settings import get_settings
from models.directory.roles import RoleKey
from models.incidents.alert_inbox import InboxAlert
from models.incidents.tables import Incident
from tests.api.test_alerts import PAYLOAD


@pytest.fixture
def small_limits(monkeypatch: pytest.MonkeyPatch):
    settings = get_settings()
    for name, value in (("max_alerts_per_request", 3), ("max_alert_body_bytes", 4096), ("max_import_rows", 2),
                        ("max_import_bytes", 2048)):
        monkeypatch.setattr(settings, name, value)
    return settings


def stored(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def alerts(n: int) -> dict:
    payload = copy.deepcopy(PAYLOAD)
    payload["alerts"] = [{**PAYLOAD["alerts"][0], "fingerprint": f"fp{i}"} for i in range(n)]
    return payload


def test_too_many_alerts_in_one_post_is_413_naming_the_limit(client: TestClient, headers, session: Session,
                                                              small_limits) -> None:
    response = client.post("/alerts/alertmanager", json=alerts(4), headers=headers[RoleKey.SERVICE_DESK])
    assert response.status_code == 413, response.text
    message = response.json()["detail"]
    assert "at most 3 alerts" in message and "ITSS_MAX_ALERTS_PER_REQUEST" in message
    assert stored(session, InboxAlert) == 0


def test_an_alert_body_over_the_byte_limit_is_413_before_it_is_read(client: TestClient, headers, session: Session,
                                                                   small_limits) -> None:
    body = json.dumps(alerts(40)).encode()
    assert len(body) > 4096
    response = client.post("/alerts/alertmanager", content=body, headers={
        **headers[RoleKey.SERVICE_DESK], "content-type": "application/json"})
    assert response.status_code == 413, response.text
    assert "at most 4096 bytes" in response.json()["detail"]
    assert stored(session, InboxAlert) == 0


def test_a_post_within_the_limits_is_accepted(client: TestClient, headers, small_limits) -> None:
    response = client.post("/alerts/alertmanager", json=alerts(3), headers=headers[RoleKey.SERVICE_DESK])
    assert response.status_code == 202, response.text


CSV_HEAD = "title,reported_at\n"


def test_an_import_over_the_row_limit_is_413_and_imports_nothing(client: TestClient, headers, session: Session,
                                                                 small_limits) -> None:
    csv = CSV_HEAD + "".join(f"old {i},2026-01-0{i + 1} 10:00\n" for i in range(3))
    response = client.post("/incidents/import?format=csv", content=csv.encode(), headers=headers[RoleKey.SERVICE_DESK])
    assert response.status_code == 413, response.text
    message = response.json()["detail"]
    assert "rows (3): at most 2 rows" in message and "split the file" in message
    assert stored(session, Incident) == 0
    ok = client.post("/incidents/import?format=csv", content=(CSV_HEAD + "old,2026-01-01 10:00\n").encode(),
                     headers=headers[RoleKey.SERVICE_DESK])
    assert ok.status_code == 201, ok.text


def test_an_import_over_the_byte_limit_is_413(client: TestClient, headers, session: Session, small_limits) -> None:
    csv = CSV_HEAD + f"{'x' * 3000},2026-01-01 10:00\n"
    response = client.post("/incidents/import?format=csv", content=csv.encode(), headers=headers[RoleKey.SERVICE_DESK])
    assert response.status_code == 413, response.text
    assert "at most 2048 bytes" in response.json()["detail"]
    assert stored(session, Incident) == 0


def test_a_large_import_is_written_in_short_transactions_and_all_of_it_lands(
        client: TestClient, headers, session: Session) -> None:
    from models.incidents.importer import CHUNK

    rows = 2 * CHUNK + 7
    csv = CSV_HEAD + "".join(f"old {i},2026-01-01 10:00\n" for i in range(rows))
    response = client.post("/incidents/import?format=csv", content=csv.encode(), headers=headers[RoleKey.SERVICE_DESK])
    assert response.status_code == 201, response.text
    assert response.json()["imported"] == rows == stored(session, Incident)
    assert len(set(response.json()["incident_ids"])) == rows
