"""Alert intake: Alertmanager v4 exactly as sent, dedupe, malformed payloads, unknown CIs, import."""

from __future__ import annotations

import copy

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from models.directory.roles import RoleKey
from models.incidents.alert_inbox import InboxAlert
from models.incidents.tables import Incident, IncidentEvent
from tests.support.alerts import post_alerts, settled

pytestmark = pytest.mark.usefixtures("prefect_harness")

# What Alertmanager 0.25 posts (webhook payload version 4).
PAYLOAD = {
    "receiver": "itss",
    "status": "firing",
    "alerts": [{
        "status": "firing",
        "labels": {"alertname": "NodeDiskFull", "instance": "db-srv-01:9100", "severity": "critical"},
        "annotations": {"summary": "db-srv-01 /data 93% full", "description": "/data usage above 90%"},
        "startsAt": "2026-11-24T02:15:00.000Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=node_filesystem",
        "fingerprint": "c1a2b3d4e5f60718",
    }],
    "groupLabels": {"alertname": "NodeDiskFull"},
    "commonLabels": {"alertname": "NodeDiskFull", "severity": "critical"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager:9093",
    "version": "4",
    "groupKey": "{}:{alertname=\"NodeDiskFull\"}",
    "truncatedAlerts": 0,
}


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


@pytest.fixture
def monitor(headers) -> dict[str, str]:
    return headers[RoleKey.SERVICE_DESK]


@pytest.fixture
def ci(client: TestClient, headers) -> int:
    return client.post("/cis", json={"name": "db-srv-01", "ci_type": "server", "ip": "10.16.4.11",
                                     "criticality": "core"}, headers=headers[RoleKey.ENGINEER]).json()["id"]


def test_same_alert_fifty_times_is_one_incident(client: TestClient, monitor, ci: int, session: Session) -> None:
    applied = [post_alerts(client, "/alerts/alertmanager", PAYLOAD, monitor)[0] for _ in range(50)]
    assert [a["created"] for a in applied] == [True] + [False] * 49
    assert {a["incident_id"] for a in applied} == {applied[0]["incident_id"]} and applied[0]["status"] == "processed"
    incidents = session.exec(select(Incident)).all()
    assert len(incidents) == 1
    incident = incidents[0]
    assert incident.alert_count == 50 and not incident.unknown_ci
    assert incident.fault_class.value == "major"  # severity critical
    assert incident.title == "db-srv-01 /data 93% full"
    # Reported when it reached the desk (its response clock starts there); the monitor's startsAt is kept.
    assert incident.occurred_at.isoformat().startswith("2026-11-24T02:15")
    received = session.exec(select(InboxAlert.received_at).order_by(InboxAlert.id)).first()
    assert incident.reported_at == received
    detail = client.get(f"/incidents/{incident.id}", headers=monitor).json()
    assert detail["incident"]["ci_ids"] == [ci]
    assert [c["measure"] for c in detail["clocks"]] == ["response", "on_site", "resolution"]


def test_resolved_alert_updates_but_does_not_close(client: TestClient, monitor, ci: int, session: Session) -> None:
    post_alerts(client, "/alerts/alertmanager", PAYLOAD, monitor)
    resolved = copy.deepcopy(PAYLOAD)
    resolved["status"] = resolved["alerts"][0]["status"] = "resolved"
    post_alerts(client, "/alerts/alertmanager", resolved, monitor)
    incident = session.exec(select(Incident)).one()
    assert incident.status.value == "reported" and incident.alert_resolved_at is not None
    kinds = session.exec(select(IncidentEvent.kind).where(IncidentEvent.incident_id == incident.id)).all()
    assert "alert_resolved" in kinds


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: p.update(version="3"), "version"),
        (lambda p: p.update(alerts=[]), "alerts"),
        (lambda p: p["alerts"][0].pop("fingerprint"), "alerts.0.fingerprint"),
        (lambda p: p["alerts"][0].update(startsAt="yesterday"), "alerts.0.startsAt"),
        (lambda p: p["alerts"][0].update(status="burning"), "alerts.0.status"),
    ],
)
def test_malformed_payload_is_422_and_nothing_stored(client: TestClient, monitor, session: Session, mutate,
                                                     field: str) -> None:
    payload = copy.deepcopy(PAYLOAD)
    payload["alerts"].append(copy.deepcopy(payload["alerts"][0]) | {"fingerprint": "other"})
    mutate(payload)
    response = client.post("/alerts/alertmanager", json=payload, headers=monitor)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    assert count(session, Incident) == 0 and count(session, IncidentEvent) == 0 and count(session, InboxAlert) == 0


def test_unknown_ci_is_flagged_not_dropped(client: TestClient, monitor, session: Session) -> None:
    payload = copy.deepcopy(PAYLOAD)
    payload["alerts"][0]["labels"]["instance"] = "ghost-srv-99:9100"
    assert post_alerts(client, "/alerts/alertmanager", payload, monitor)[0]["created"]
    incident = session.exec(select(Incident)).one()
    assert incident.unknown_ci and incident.unknown_ci_names == ["ghost-srv-99"]
    assert "unknown CI: ghost-srv-99" in session.exec(select(IncidentEvent.detail).where(
        IncidentEvent.kind == "reported")).one()


def test_alert_webhook_needs_a_monitor_token(client: TestClient, headers, session: Session) -> None:
    assert client.post("/alerts/alertmanager", json=PAYLOAD).status_code == 401
    assert client.post("/alerts/alertmanager", json=PAYLOAD, headers=headers[RoleKey.CUSTOMER_REP]).status_code == 403
    # Refused means not taken in: no alert queued, no incident opened.
    assert session.exec(select(func.count()).select_from(InboxAlert)).one() == 0
    assert session.exec(select(func.count()).select_from(Incident)).one() == 0


def test_generic_webhook_zabbix_style(client: TestClient, monitor, ci: int, session: Session) -> None:
    problem = {"source": "zabbix", "id": "EVT-4411", "status": "problem", "title": "High load on db-srv-01",
               "ci": "10.16.4.11", "severity": "high"}
    for body in (problem, problem, problem | {"status": "ok"}):
        post_alerts(client, "/alerts/webhook", body, monitor)
    incident = session.exec(select(Incident)).one()
    assert incident.fingerprint == "zabbix:EVT-4411" and incident.alert_count == 2
    assert incident.alert_resolved_at is not None and incident.fault_class.value == "major"


CSV = """title,symptom,reported_at,acknowledged_at,on_site_at,resolved_at,closed_at,core_unavailable_pct,expected_recovery_hours,ci,consented
核心交换机宕机,core switch down,2026-03-02 10:00,2026-03-02 10:08,2026-03-02 10:50,2026-03-02 13:00,2026-03-03 09:00,70,3,db-srv-01,true
打印机故障,printer jam,2026-03-06 17:30,2026-03-06 17:45,2026-03-09 10:30,2026-03-07 09:00,,0,1,,false
"""


def test_csv_import_keeps_history_and_computes_sla(client: TestClient, monitor, ci: int, session: Session) -> None:
    response = client.post("/incidents/import?format=csv", content=CSV.encode(), headers=monitor)
    assert response.status_code == 201, response.text
    first, second = (session.get(Incident, i) for i in response.json()["incident_ids"])
    assert first.level.value == "II" and first.status.value == "closed" and first.consented
    assert first.breaches == []  # responded in 8 min, on site in 42 min, restored in 2 h 52 min
    # General fault: response 15 min (> 10) breached; on site Fri 17:45 → Mon 10:30 is 1 h 45 min of 5x8.
    assert second.fault_class.value == "general" and second.breaches == ["response"]
    assert second.status.value == "resolved" and first.flow_run_id is None


def test_bad_import_names_row_and_field_and_stores_nothing(client: TestClient, monitor, session: Session) -> None:
    bad = CSV.replace("2026-03-06 17:45", "2026-03-06 16:00").replace(",70,", ",170,")
    response = client.post("/incidents/import?format=csv", content=bad.encode(), headers=monitor)
    assert response.status_code == 422
    errors = response.json()["errors"]  # the one error shape: {detail, errors}
    assert any(e["row"] == 1 and e["field"] == "core_unavailable_pct" for e in errors)
    assert any(e["row"] == 2 and "acknowledged_at is before reported_at" in e["message"] for e in errors)
    assert count(session, Incident) == 0
    json_bad = client.post("/incidents/import?format=json", content=b"{not json", headers=monitor)
    assert json_bad.status_code == 422 and "json" in json_bad.json()["detail"]


def test_concurrent_alerts_batch_into_one_incident_and_bad_tokens_fail_alone(live_api: str, monitor, ci: int,
                                                                           headers, session: Session) -> None:
    """40 monitors posting the same alert at once, amid requests with a revoked-looking token and a
    token without a monitor role, on a real uvicorn: the writer batches them; each gets its own answer."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    def post(auth: dict[str, str]) -> httpx.Response:
        with httpx.Client(base_url=live_api, headers=auth, timeout=30) as client:
            return client.post("/alerts/alertmanager", json=PAYLOAD)

    callers = [monitor] * 40 + [{"Authorization": "Bearer not-a-token"}] * 5 + [headers[RoleKey.CUSTOMER_REP]] * 5
    with ThreadPoolExecutor(len(callers)) as pool:
        responses = list(pool.map(post, callers))

    codes = [r.status_code for r in responses]
    assert codes[:40] == [202] * 40
    assert codes[40:45] == [401] * 5 and codes[45:] == [403] * 5
    with httpx.Client(base_url=live_api, timeout=30) as client:
        applied = settled(client, [r.json()["alert_ids"][0] for r in responses[:40]], monitor)
    assert sum(a["created"] for a in applied) == 1 and count(session, InboxAlert) == 40
    incidents = session.exec(select(Incident)).all()
    assert len(incidents) == 1 and incidents[0].alert_count == 40
    kinds = [e.kind for e in session.exec(select(IncidentEvent).where(IncidentEvent.incident_id == incidents[0].id))]
    assert kinds.count("reported") == 1 and "alert_refiring" not in kinds  # repeats are counted, not logged


def test_alert_firing_again_after_resolve_goes_on_the_timeline(client: TestClient, monitor, ci: int,
                                                              session: Session) -> None:
    resolved = copy.deepcopy(PAYLOAD)
    resolved["status"] = resolved["alerts"][0]["status"] = "resolved"
    for body in (PAYLOAD, PAYLOAD, resolved, resolved, PAYLOAD):
        post_alerts(client, "/alerts/alertmanager", body, monitor)
    incident = session.exec(select(Incident)).one()
    kinds = [e.kind for e in session.exec(select(IncidentEvent).where(IncidentEvent.incident_id == incident.id)
                                          .order_by(IncidentEvent.id))]
    assert kinds.count("alert_resolved") == 1 and kinds.count("alert_refiring") == 1
    assert incident.alert_count == 3 and incident.alert_resolved_at is None


def test_alerts_left_pending_are_applied_and_a_bad_one_fails_alone(client: TestClient, monitor, ci: int,
                                                                  session: Session) -> None:
    """Rows a crashed process left pending are applied when the processor next looks; one that cannot be
    applied is kept with its error, and the alerts after it still land."""
    from api.alert_processor import drain

    good = {"title": "db-srv-01 down", "symptom": "no ping", "ci_names": ["db-srv-01"], "major": True,
            "starts_at": None}
    rows = [InboxAlert(actor="person:alertmanager", source="alertmanager", fingerprint=f"alertmanager:fp{i}",
                       firing=True, alert=alert) for i, alert in enumerate([good, {"title": "no other fields"}, good])]
    session.add_all(rows)
    session.commit()
    drain()
    applied = settled(client, [r.id for r in rows], monitor)
    assert [a["status"] for a in applied] == ["processed", "failed", "processed"]
    assert "KeyError" in applied[1]["error"] and applied[1]["incident_id"] is None
    assert applied[0]["created"] and applied[2]["created"] and applied[0]["incident_id"] != applied[2]["incident_id"]
    failed = client.get("/alerts", params={"status": "failed"}, headers=monitor).json()
    assert [a["id"] for a in failed] == [rows[1].id]


def test_long_alert_texts_are_cut_to_fit_not_failed(client: TestClient, monitor, ci: int, session: Session) -> None:
    payload = copy.deepcopy(PAYLOAD)
    payload["alerts"][0]["annotations"] = {"summary": "磁盘" * 400, "description": "x" * 9000}
    assert post_alerts(client, "/alerts/alertmanager", payload, monitor)[0]["created"]
    incident = session.exec(select(Incident)).one()
    assert len(incident.title) == 300 and len(incident.symptom) == 4000
    too_long = copy.deepcopy(PAYLOAD)
    too_long["alerts"][0]["fingerprint"] = "f" * 151
    response = client.post("/alerts/alertmanager", json=too_long, headers=monitor)
    assert response.status_code == 422 and "alerts.0.fingerprint" in response.text


def test_a_new_incidents_claim_is_renewed_only_by_its_holder(client: TestClient, monitor, ci: int,
                                                            session: Session) -> None:
    """The processor claims a new incident's dispatch as it creates it; if the dispatcher's queue is so
    long that the claim went stale and the sweeper took over, the dispatcher must not start a second run."""
    import time

    from models.incidents.dispatch import claim_dispatch, claim_new

    incident = session.get(Incident, post_alerts(client, "/alerts/alertmanager", PAYLOAD, monitor)[0]["incident_id"])
    deadline = time.monotonic() + 20
    while (incident.flow_run_id or "").startswith("claim:"):  # let the real dispatch finish first
        assert time.monotonic() < deadline, incident.flow_run_id
        time.sleep(0.05)
        session.refresh(incident)
    claim = claim_new(incident)
    session.add(incident)
    session.commit()
    assert claim_dispatch(session, incident.id, holding=claim)  # fresh and still ours: renewed
    assert not claim_dispatch(session, incident.id, holding=claim)  # renewed: that exact claim is gone
    assert not claim_dispatch(session, incident.id)  # a fresh claim keeps the sweeper off
    incident.flow_run_id = old = "claim:2026-01-01T00:00:00+00:00"
    session.add(incident)
    session.commit()
    assert not claim_dispatch(session, incident.id, holding=old)  # stale: the dispatcher gives it up
    assert claim_dispatch(session, incident.id)  # and the sweeper takes it
