"""Network probes: TCP port, HTTP(S), TLS certificate expiry, ICMP ping."""

from __future__ import annotations

import asyncio
import ssl
import time

import icmplib
from cryptography import x509

from models.core.clock import utcnow
from models.inspection.probes import HttpParams, PingParams, TcpParams, TlsParams
from models.inspection.tables import CheckStatus
from tasks.probes.base import ProbeContext, Reading, Target, probe


@probe("tcp")
async def tcp(target: Target, params: TcpParams, ctx: ProbeContext) -> Reading:
    """Connect to a TCP port; the value is the connect time."""
    started = time.perf_counter()
    try:
        _, writer = await asyncio.open_connection(target.host, params.port)
    except ConnectionRefusedError:
        return Reading(None, f"port {params.port} refused the connection", CheckStatus.CRITICAL)
    elapsed = (time.perf_counter() - started) * 1000
    writer.close()
    await writer.wait_closed()
    return Reading(round(elapsed, 3), f"port {params.port} open")


@probe("http")
async def http(target: Target, params: HttpParams, ctx: ProbeContext) -> Reading:
    """GET a URL: status code, latency, and an optional keyword in the body."""
    url = params.url.replace("{host}", target.host)
    started = time.perf_counter()
    response = await ctx.http(params.verify_tls).get(url)
    elapsed = round((time.perf_counter() - started) * 1000, 3)
    if response.status_code != params.expect_status:
        return Reading(elapsed, f"HTTP {response.status_code}, expected {params.expect_status}", CheckStatus.CRITICAL)
    if params.keyword is not None and params.keyword not in response.text:
        return Reading(elapsed, f"HTTP {response.status_code} but '{params.keyword}' not in the body",
                       CheckStatus.CRITICAL)
    return Reading(elapsed, f"HTTP {response.status_code} in {elapsed:.0f} ms")


@probe("tls_expiry")
async def tls_expiry(target: Target, params: TlsParams, ctx: ProbeContext) -> Reading:
    """Days until the server certificate expires (read even when untrusted: expiry is what is checked)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    _, writer = await asyncio.open_connection(target.host, params.port, ssl=context,
                                              server_hostname=params.server_name or target.host)
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
    cert = x509.load_der_x509_certificate(der)
    days = (cert.not_valid_after_utc - utcnow()).total_seconds() / 86400
    if days < 0:
        return Reading(round(days, 2), f"certificate expired {-days:.1f} days ago", CheckStatus.CRITICAL)
    return Reading(round(days, 2), f"certificate {cert.subject.rfc4514_string()} expires in {days:.1f} days")


@probe("ping")
async def ping(target: Target, params: PingParams, ctx: ProbeContext) -> Reading:
    """ICMP echo without root (Linux ping sockets); where the OS forbids them, an error saying so."""
    try:
        host = await icmplib.async_ping(target.host, count=params.count, interval=0.2, timeout=1, privileged=False)
    except icmplib.SocketPermissionError:
        return Reading(None, "ICMP not permitted for this process (allow it with sysctl "
                             "net.ipv4.ping_group_range, or check with a tcp probe)", CheckStatus.ERROR)
    if not host.is_alive:
        return Reading(None, f"no echo reply ({host.packet_loss:.0%} loss)", CheckStatus.CRITICAL)
    return Reading(round(host.avg_rtt, 3), f"{host.packet_loss:.0%} loss, avg {host.avg_rtt:.1f} ms")
