"""Apprise's complaints about a person's notification URLs never put the URL's secrets in the logs."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from notifications.channels import send

SECRETS = ["pa55w0rdXY", "hunter2hunter", "badtoken99x", "s3cr3tTOKENx"]
URLS = ["mailto://bob:pa55w0rdXY@", "json://user:hunter2hunter@", "tgram://badtoken99x/",
        "json://ops:s3cr3tTOKENx@127.0.0.1:1/hook"]  # the last one parses, then fails to connect


@pytest.fixture
def process_log() -> Iterator[io.StringIO]:
    """What a handler on the root logger (as `itss up` configures its log files) receives, at DEBUG."""
    # Not caplog: pytest 9 attaches its capture to every logger, which no deployed process does.
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def test_malformed_and_failing_urls_leave_no_secret_in_logs_or_results(process_log: io.StringIO) -> None:
    results = [send([url], None, "Gate waiting", "body") for url in URLS]
    assert all(not delivered for delivered, _ in results)
    assert results[0][1] == "1 notification URL(s) not understood by Apprise"
    text = process_log.getvalue() + "\n".join(error for _, error in results)
    leaked = [secret for secret in SECRETS if secret in text]
    assert leaked == [], text
