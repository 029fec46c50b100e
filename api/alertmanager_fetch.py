"""Alerts an Alertmanager left out of a notification (`max_alerts`): fetched back from its API v2.

Alertmanager cuts a group's notification at `max_alerts` and says how many it dropped in `truncatedAlerts`.
The missing ones are still active in Alertmanager: `GET {externalURL}/api/v2/alerts`, filtered on the group's
labels and the receiver, returns them. Only hosts listed in the `alertmanager_fetch_hosts` setting are
contacted (the URL comes from the payload).
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

import httpx

from config.settings import get_settings

log = logging.getLogger(__name__)
TIMEOUT = httpx.Timeout(5.0)


def allowed(url: str) -> bool:
    """True when `url` is http(s) on a host the settings allow the API to contact."""
    parts = urlsplit(url)
    hosts = {h.strip().lower() for h in get_settings().alertmanager_fetch_hosts.split(",") if h.strip()}
    return parts.scheme in ("http", "https") and (parts.hostname or "").lower() in hosts


async def fetch_group(external_url: str, group_labels: dict[str, str], receiver: str) -> list[dict[str, Any]] | None:
    """The group's active alerts as Alertmanager's API v2 lists them; None when it cannot be asked or reached."""
    if not allowed(external_url):
        log.warning("not fetching truncated alerts from %s: host not in alertmanager_fetch_hosts", external_url)
        return None
    # Typed as httpx's query values: a list is invariant, so list[tuple[str, str]] would not be accepted.
    params: list[tuple[str, str | int | float | bool | None]] = [
        ("active", "true"), ("silenced", "false"), ("inhibited", "false"), ("receiver", f"^{re.escape(receiver)}$")]
    params += [("filter", f'{name}="{value}"') for name, value in sorted(group_labels.items())]
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.get(f"{external_url.rstrip('/')}/api/v2/alerts", params=params)
            response.raise_for_status()
            found = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("truncated alerts could not be fetched from %s: %s", external_url, exc)
        return None
    return [a for a in found if isinstance(a, dict) and a.get("fingerprint") and a.get("startsAt")]
