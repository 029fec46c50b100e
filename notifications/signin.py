"""One-time sign-in links sent to a person's own channels (never to shared role/group channels)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from sqlmodel import Session

from config.settings import get_settings
from models.core.rows import stored_id
from models.directory.people import Person
from models.directory.signin import issue_link
from notifications import channels


def own_channels(person: Person) -> list[str]:
    """The person's own Apprise URLs."""
    return [u.strip() for u in person.notify_urls.splitlines() if u.strip()]


def describe(url: str) -> str:
    """Where a channel points, safe to show on a page: the scheme and a real host name, never a secret."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    shown = host if ("." in host or host == "localhost") else ""
    return f"{parts.scheme}://{shown}" if shown else f"{parts.scheme} channel"


def link_url(secret: str) -> str:
    """The page that spends a sign-in link."""
    return f"{get_settings().public_base_url.rstrip('/')}/ui/login/link/{secret}"


def signin_line(session: Session, person_id: int, purpose: str) -> str:
    """A fresh one-time link for a message to the person's own channel (a gate notification)."""
    minutes = get_settings().signin_link_minutes
    secret = issue_link(session, person_id=person_id, ttl=timedelta(minutes=minutes), purpose=purpose)
    return f"Sign in without a token (one-time link, valid {minutes:g} min, only for you): {link_url(secret)}"


def send_signin_link(session: Session, person: Person) -> list[str]:
    """Send a sign-in link through each of the person's own channels; returns where it went (described)."""
    urls = own_channels(person)
    if not urls:
        return []
    line = signin_line(session, stored_id(person), "sign-in")
    session.commit()
    ok, _error = channels.send(urls, None, "ITSS approvals: your sign-in link 登录链接",
                               f"{line}\n\nIf you did not ask for it, ignore this message.")
    return [describe(u) for u in urls] if ok else []
