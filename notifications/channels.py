"""Apprise, the only place it is imported: build senders for a recipient, and mask secrets."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlsplit

import apprise

from config.settings import get_settings

# URLs inside free text (Apprise log lines, exception messages): scheme://anything-not-space
_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)

# Apprise's own log lines quote whole URLs with their passwords ("Could not load E-Mail URL:
# mailto://bob:secret@") and bare tokens ("Invalid DingTalk token (…)"). They never reach the
# process logs: send() captures them and keeps only a masked copy with the notification.
_apprise_log = logging.getLogger("apprise")
_apprise_log.addHandler(logging.NullHandler())  # else Python's last-resort handler prints them to stderr
_apprise_log.propagate = False


@lru_cache
def _config() -> apprise.AppriseConfig | None:
    path = get_settings().apprise_config
    if path is None:
        return None
    config = apprise.AppriseConfig()
    if not config.add(str(path)):
        raise ValueError(f"ITSS_APPRISE_CONFIG: cannot read Apprise config {path}")
    return config


def config_tags() -> set[str]:
    """Tags defined in the Apprise config file (one per role is the convention)."""
    config = _config()
    if config is None:
        return set()
    tags: set[str] = set()
    for server in config.servers():
        tags |= set(server.tags)
    return tags


def secrets_of(url: str) -> list[str]:
    """Parts of an Apprise URL that may be secret: user, password, path tokens, query values."""
    parts = urlsplit(url)
    found = [parts.username or "", parts.password or ""]
    found += [segment for segment in parts.path.split("/") if len(segment) >= 6]
    found += [value for _, value in parse_qsl(parts.query) if len(value) >= 6]
    # Many services (dingtalk://TOKEN/SECRET, discord://ID/TOKEN) put a token where a host goes;
    # a real host has dots (or is localhost).
    host = parts.netloc.rsplit("@", 1)[-1].rsplit(":", 1)[0]  # as written: .hostname lowercases
    if host and "." not in host and host != "localhost":
        found.append(host)
    return [s for s in found if s and (s != host or "." not in s)]


def mask(text: str, urls: list[str]) -> str:
    """Remove every URL and every secret part of `urls` from `text`."""
    for url in urls:
        for secret in sorted(secrets_of(url), key=len, reverse=True):
            text = text.replace(secret, "****")
    return _URL.sub(lambda m: f"{urlsplit(m.group(0)).scheme}://****", text)


def send(recipient_urls: list[str], tag: str | None, title: str, body: str) -> tuple[bool, str]:
    """Send to the given URLs and/or config tag; returns (delivered, masked error text)."""
    sender = apprise.Apprise()
    bad = [url for url in recipient_urls if not sender.add(url)]
    if tag is not None:
        config = _config()
        if config is not None:
            sender.add(config)
    if bad:
        return False, mask(f"{len(bad)} notification URL(s) not understood by Apprise", recipient_urls)
    with apprise.LogCapture(level=logging.WARNING) as captured:
        result = sender.notify(
            title=title, body=body, body_format=apprise.NotifyFormat.MARKDOWN, tag=tag or apprise.common.MATCH_ALL_TAG
        )
        log_text = captured.getvalue()
    if result is True:
        return True, ""
    if result is None:
        return False, "no notification channel matched this recipient"
    return False, mask(log_text.strip()[-1500:] or "Apprise reported a failed send", recipient_urls)
