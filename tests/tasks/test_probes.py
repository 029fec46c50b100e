"""Every probe against a real server on loopback; the recorded status and value are asserted."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from models.inspection.probes import PROBE_SPECS
from models.inspection.tables import CheckStatus
from tasks.probes import PROBES, ProbeContext, Target, run_check
from tests.support.net import free_port
from tests.support.peers import http_server, silent_server, snmp_agent, tls_server
from tests.support.sshd import sshd_server

LOCAL = Target(ci_id=1, name="web-01", host="127.0.0.1")


async def check(probe: str, params: dict, *, timeout: float = 5, warning=None, critical=None, target=LOCAL):
    kind = PROBES[probe]
    ctx = ProbeContext()
    try:
        return await run_check(kind, kind.params.model_validate(params), target, ctx, timeout=timeout,
                               warning=warning, critical=critical)
    finally:
        await ctx.aclose()


def test_every_probe_a_plan_may_name_has_an_implementation_and_no_other_runs() -> None:
    """A plan is validated against models' catalogue; a name without an implementation would be saved and
    then fail every run, an implementation without a name could never be asked for."""
    assert set(PROBES) == set(PROBE_SPECS)
    assert all(PROBES[name].params is spec.params and PROBES[name].unit == spec.unit
               for name, spec in PROBE_SPECS.items())


async def test_tcp_open_and_closed_port() -> None:
    with http_server() as port:
        result = await check("tcp", {"port": port}, warning=500)
    assert result.status == CheckStatus.OK and result.value is not None and result.value < 500
    closed = await check("tcp", {"port": free_port()})
    assert closed.status == CheckStatus.CRITICAL and "refused" in closed.message and closed.value is None


async def test_http_status_latency_and_keyword() -> None:
    with http_server() as port:
        ok = await check("http", {"url": f"http://{{host}}:{port}/health", "keyword": "healthy"})
        missing = await check("http", {"url": f"http://{{host}}:{port}/health", "keyword": "ready"})
        wrong = await check("http", {"url": f"http://{{host}}:{port}/nope"})
        slow = await check("http", {"url": f"http://{{host}}:{port}/health"}, warning=0.0)
    assert ok.status == CheckStatus.OK and ok.value is not None and "HTTP 200" in ok.message
    assert missing.status == CheckStatus.CRITICAL and "'ready' not in the body" in missing.message
    assert wrong.status == CheckStatus.CRITICAL and "HTTP 404, expected 200" in wrong.message
    assert slow.status == CheckStatus.WARNING and slow.threshold == "warn ≥ 0 ms"  # any latency ≥ 0


async def test_tls_certificate_close_to_expiry(tmp_path: Path) -> None:
    with tls_server(tmp_path, days_left=5) as port:
        result = await check("tls_expiry", {"port": port}, warning=30, critical=7)
    assert result.status == CheckStatus.CRITICAL
    assert result.value is not None and 4.9 < result.value <= 5.0
    assert result.threshold == "warn ≤ 30 days, crit ≤ 7 days" and "itss-test.local" in result.message


async def test_tls_certificate_with_time_left_is_ok(tmp_path: Path) -> None:
    with tls_server(tmp_path, days_left=90) as port:
        result = await check("tls_expiry", {"port": port}, warning=30, critical=7)
    assert result.status == CheckStatus.OK and 89.9 < result.value <= 90


async def test_a_hanging_service_is_cut_by_the_timeout() -> None:
    with silent_server() as port:
        result = await check("http", {"url": f"http://{{host}}:{port}/"}, timeout=0.5)
    assert result.status == CheckStatus.ERROR and "timed out" in result.message
    assert 400 < result.duration_ms < 3000


async def test_ssh_command_value_against_thresholds(tmp_path: Path, monkeypatch) -> None:
    # The host's own `df`, run by a real sshd: the probe must report the number df prints there.
    local = subprocess.run(["df", "--output=pcent", str(tmp_path)], capture_output=True, text=True, check=True)
    used = float(local.stdout.split()[-1].rstrip("%"))
    with sshd_server(tmp_path / "sshd") as sshd:
        params = {"command": f"df --output=pcent {tmp_path} | tail -1", "username": sshd.user, "port": sshd.port,
                  "key_file": str(sshd.key_file), "known_hosts": str(sshd.known_hosts), "unit": "%"}
        warn = await check("ssh_command", params, warning=used - 1, critical=used + 50)
        crit = await check("ssh_command", params, warning=used - 2, critical=used - 1)
        fine = await check("ssh_command", params, warning=used + 1, critical=used + 2)
        failing = await check("ssh_command", params | {"command": "no-such-tool"})
        stranger = await check("ssh_command", params | {"key_file": str(sshd.stranger_key)})
        spoofed = await check("ssh_command", params | {"known_hosts": str(sshd.wrong_known_hosts)})
        monkeypatch.setenv("ITSS_TEST_SSH_PASSWORD", "s3cret-ssh")
        password = await check("ssh_command", params | {"key_file": None, "password_env": "ITSS_TEST_SSH_PASSWORD"})
    assert warn.status == CheckStatus.WARNING and warn.value == used
    assert warn.threshold == f"warn ≥ {used - 1:g}, crit ≥ {used + 50:g}"
    assert crit.status == CheckStatus.CRITICAL and fine.status == CheckStatus.OK and fine.value == used
    assert failing.status == CheckStatus.ERROR and "exit 127" in failing.message and "not found" in failing.message
    assert stranger.status == CheckStatus.ERROR and stranger.value is None  # an unauthorised key is refused
    assert spoofed.status == CheckStatus.ERROR and spoofed.value is None  # a host key not in known_hosts is refused
    assert password.status == CheckStatus.ERROR and "s3cret" not in password.message  # and never echoed


async def test_snmp_get_from_debian_snmpd(tmp_path: Path) -> None:
    with snmp_agent(tmp_path) as port:
        if port is None:
            if os.environ.get("ITSS_REQUIRE_PEERS"):
                pytest.fail("snmpd is required here (apt-get install snmpd)")
            pytest.skip("needs Debian's snmpd (apt-get install snmpd)")
        # ifOperStatus of interface 1 (lo): up = 1
        up = await check("snmp_get", {"oid": "1.3.6.1.2.1.2.2.1.8.1", "port": port, "community": "itss-ro",
                                      "expect": 1})
        wrong = await check("snmp_get", {"oid": "1.3.6.1.2.1.2.2.1.8.1", "port": port, "community": "itss-ro",
                                         "expect": 2})
        uptime = await check("snmp_get", {"oid": "1.3.6.1.2.1.1.3.0", "port": port, "community": "itss-ro"})
    assert up.status == CheckStatus.OK and up.value == 1.0
    assert wrong.status == CheckStatus.CRITICAL and "expected 2" in wrong.message
    assert uptime.status == CheckStatus.OK and uptime.value is not None and uptime.value >= 0


async def test_database_connection_check_against_postgresql(monkeypatch) -> None:
    monkeypatch.setenv("ITSS_TEST_DB", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    monkeypatch.setenv("ITSS_TEST_DB_DOWN", f"postgresql+psycopg://postgres:pw@127.0.0.1:{free_port()}/x")
    ok = await check("db_connect", {"url_env": "ITSS_TEST_DB"})
    down = await check("db_connect", {"url_env": "ITSS_TEST_DB_DOWN"})
    unset = await check("db_connect", {"url_env": "ITSS_NOT_SET_ANYWHERE"})
    assert ok.status == CheckStatus.OK and ok.value is not None
    assert down.status == CheckStatus.CRITICAL and "pw" not in down.message
    assert unset.status == CheckStatus.ERROR and "ITSS_NOT_SET_ANYWHERE" in unset.message


def _icmp_sockets_permitted() -> bool:
    # The kernel decides (sysctl net.ipv4.ping_group_range), so ask it directly, independently of the probe.
    try:
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP).close()
    except PermissionError:
        return False
    return True


async def test_ping_loopback_or_a_clear_not_permitted() -> None:
    result = await check("ping", {"count": 1})
    if _icmp_sockets_permitted():
        assert result.status == CheckStatus.OK and result.value is not None and result.value >= 0
    else:
        assert result.status == CheckStatus.ERROR and result.value is None
        assert "ICMP not permitted" in result.message and "ping_group_range" in result.message
