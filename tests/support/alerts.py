"""Post monitoring alerts and wait for the alert processor to apply them (it runs a moment after the 202)."""

from __future__ import annotations

import time
from typing import Any

import httpx


def settled(client: httpx.Client, alert_ids: list[int], headers: dict[str, str], within: float = 15) -> list[dict]:
    """The alerts once none is pending any more (polls GET /alerts/{id})."""
    deadline = time.monotonic() + within
    while True:
        alerts = [client.get(f"/alerts/{i}", headers=headers).json() for i in alert_ids]
        if all(a["status"] != "pending" for a in alerts):
            return alerts
        assert time.monotonic() < deadline, f"alerts still pending after {within} s: {alerts}"
        time.sleep(0.02)


def post_alerts(client: httpx.Client, path: str, body: Any, headers: dict[str, str]) -> list[dict]:
    """POST to an alert webhook, expect 202, and return the applied alerts."""
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 202, response.text
    return settled(client, response.json()["alert_ids"], headers)
