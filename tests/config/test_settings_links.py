"""Links in notifications follow the API's configured address unless a public base URL is given."""

from __future__ import annotations

import pytest

from config.settings import Settings


@pytest.fixture(autouse=True)
def _no_link_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ITSS_PUBLIC_BASE_URL", "ITSS_API_HOST", "ITSS_API_PORT"):
        monkeypatch.delenv(name, raising=False)


def test_a_changed_api_port_moves_the_links_with_it() -> None:
    assert Settings(api_port=8123).public_base_url == "http://127.0.0.1:8123"


def test_an_api_on_every_interface_links_to_loopback_not_to_0_0_0_0() -> None:
    assert Settings(api_host="0.0.0.0", api_port=9000).public_base_url == "http://127.0.0.1:9000"
    assert Settings(api_host="::1", api_port=9000).public_base_url == "http://[::1]:9000"


def test_an_explicit_public_base_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITSS_PUBLIC_BASE_URL", "https://itss.example")
    assert Settings(api_port=8123).public_base_url == "https://itss.example"
