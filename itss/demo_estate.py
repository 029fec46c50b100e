"""The demo's simulated estate: loopback peers standing in for the demo CIs, and a notification inbox.

`itss up --demo` must never probe the user's network, so every demo CI lives at 127.16.x.y (the
seed's 10.16.x.y moved into 127.0.0.0/8, which Linux routes to the loopback interface) and this
process answers there: a management TCP port on every CI, SSH (asyncssh) on the servers, HTTPS with
a certificate on the security devices and the load balancer, SNMP on the switches and the router.
Most are healthy; the VPN gateway's certificate is near expiry (warning) and the load balancer's
portal answers 503 (critical, which opens an incident). Ports are chosen free when the demo is
loaded and kept in data_dir/demo-estate.json, so two systems on one machine do not collide.

The inbox is an HTTP receiver for Apprise's `json://` notifications: each demo person's own channel
posts to /inbox/<name>, and every message is appended to data_dir/demo-inbox.jsonl (mode 0600),
which the approval page shows at /ui/inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import http.server
import json
import os
import socket
import ssl
import threading
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import asyncssh
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api as snmp_api

from config.settings import Settings

ESTATE_FILE = "demo-estate.json"
INBOX_FILE = "demo-inbox.jsonl"
SSH_USER = "inspector"
IF_OPER_STATUS_1 = "1.3.6.1.2.1.2.2.1.8.1"
# What the simulated devices report. Anything not named here is healthy.
CERT_DAYS = {"vpn-01": 20.0}  # warning: the demo plan warns below 30 days
PORTAL = {"lb-01": (503, "upstream pool empty: 0 of 4 portal servers healthy")}  # critical
DISK_PERCENT = {"db-srv-01": 63}
SNMP_IF_STATUS: dict[str, int] = {}


def loopback_ip(seed_ip: str) -> str:
    """The demo address of a seed address: 10.16.3.11 → 127.16.3.11 (loopback, never the user's network)."""
    return "127." + seed_ip.split(".", 1)[1]


@dataclass
class EstatePorts:
    """The ports of one demo estate (the same on every CI address), chosen when the demo is loaded."""

    mgmt: int
    ssh: int
    https: int
    snmp: int
    inbox: int

    def inbox_url(self, person: str) -> str:
        """The Apprise URL of a demo person's own channel: their box in the demo inbox."""
        return f"json://127.0.0.1:{self.inbox}/inbox/{person}"


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def estate_dir(settings: Settings) -> Path:
    """Where the estate keeps its keys and certificates."""
    return (settings.data_dir / "demo-estate").resolve()


def load_ports(settings: Settings) -> EstatePorts | None:
    """The estate's ports, or None when this data dir has no demo estate."""
    path = settings.data_dir / ESTATE_FILE
    if not path.exists():
        return None
    return EstatePorts(**json.loads(path.read_text("utf-8")))


def ensure_estate(settings: Settings) -> EstatePorts:
    """Choose the estate's ports and make its SSH client key (once per data dir)."""
    existing = load_ports(settings)
    if existing is not None:
        return existing
    ports = EstatePorts(mgmt=_free_port(), ssh=_free_port(), https=_free_port(),
                        snmp=_free_port(socket.SOCK_DGRAM), inbox=_free_port())
    directory = estate_dir(settings)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(str(directory / "inspector_key"))
    os.chmod(directory / "inspector_key", 0o600)
    key.write_public_key(str(directory / "inspector_key.pub"))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / ESTATE_FILE).write_text(json.dumps(asdict(ports)), "utf-8")
    return ports


def plan_yaml(template: str, ports: EstatePorts, settings: Settings) -> str:
    """The demo plan with the estate's ports and key filled in."""
    return (template.replace("{mgmt_port}", str(ports.mgmt)).replace("{ssh_port}", str(ports.ssh))
            .replace("{https_port}", str(ports.https)).replace("{snmp_port}", str(ports.snmp))
            .replace("{ssh_key}", str(estate_dir(settings) / "inspector_key")))


# --- the peers ---------------------------------------------------------------------------------------

def _certificate(directory: Path, name: str, days_left: float) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name}.demo.invalid")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=300))
            .not_valid_after(now + dt.timedelta(days=days_left)).sign(key, hashes.SHA256()))
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


def _portal_handler(name: str) -> type[http.server.BaseHTTPRequestHandler]:
    status, text = PORTAL.get(name, (200, "ok: portal healthy"))

    class Portal(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = text.encode() if self.path == "/health" else b"demo device"
            self.send_response(status if self.path == "/health" else 200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    return Portal


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def _serve(server: http.server.HTTPServer) -> None:
    threading.Thread(target=server.serve_forever, daemon=True).start()


def _https_peer(directory: Path, name: str, ip: str, port: int) -> None:
    server = _Server((ip, port), _portal_handler(name))
    context = _certificate(directory, name, CERT_DAYS.get(name, 300.0))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    _serve(server)


class _Inbox(http.server.BaseHTTPRequestHandler):
    path_file: Path

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        try:
            payload = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            payload = {}
        person = self.path.removeprefix("/inbox/").strip("/")
        entry = {"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "to": person,
                 "title": str(payload.get("title", "")), "body": str(payload.get("message", "")),
                 "type": str(payload.get("type", ""))}
        fd = os.open(self.path_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def read_inbox(settings: Settings, person: str) -> list[dict[str, str]]:
    """The demo inbox of one person, newest first."""
    path = settings.data_dir / INBOX_FILE
    if not path.exists():
        return []
    entries = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [e for e in reversed(entries) if e.get("to") == person]


class _SnmpAgent(asyncio.DatagramProtocol):
    """Answers SNMP v1/v2c GETs for ifOperStatus.1 with the device's simulated link state."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            module = snmp_api.PROTOCOL_MODULES[int(snmp_api.decodeMessageVersion(data))]
            request, _ = decoder.decode(data, asn1Spec=module.Message())
        except Exception:  # not SNMP: a real agent drops it too
            return
        response = module.apiMessage.get_response(request)
        request_pdu = module.apiMessage.get_pdu(request)
        response_pdu = module.apiMessage.get_pdu(response)
        binds = []
        for oid, _ in module.apiPDU.get_varbinds(request_pdu):
            if str(oid) == IF_OPER_STATUS_1:
                binds.append((oid, module.Integer(self.status)))
            else:
                binds.append((oid, module.Null("")))
                module.apiPDU.set_error_status(response_pdu, 2)  # noSuchName
        module.apiPDU.set_varbinds(response_pdu, binds)
        assert self.transport is not None
        self.transport.sendto(encoder.encode(response), addr)


async def _answer_ssh(process: asyncssh.SSHServerProcess) -> None:
    # The demo plan asks `df --output=pcent / | tail -1`; the server's name comes from its address.
    ip = process.get_extra_info("sockname")[0]
    percent = _DISK_BY_IP.get(ip, 41)
    if process.command and process.command.startswith("df "):
        process.stdout.write(f" {percent}%\n")
        process.exit(0)
    else:
        process.stderr.write(f"{process.command}: not available on this simulated host\n")
        process.exit(127)


_DISK_BY_IP: dict[str, int] = {}


async def _tcp_accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def serve_estate(settings: Settings, cis: list[tuple[str, str, str]]) -> None:
    """Answer for every demo CI `(name, ci_type, ip)` on its loopback address until cancelled."""
    ports = ensure_estate(settings)
    directory = estate_dir(settings)
    for ip in {ip for _, _, ip in cis}:
        if not ip.startswith("127."):
            raise ValueError(f"demo CI address {ip} is not loopback; the demo estate only serves 127.0.0.0/8")
    addresses = [ip for _, _, ip in cis]
    mgmt = await asyncio.start_server(_tcp_accept, host=addresses, port=ports.mgmt)
    servers = [ip for _, kind, ip in cis if kind == "server"]
    _DISK_BY_IP.update({ip: DISK_PERCENT[name] for name, _, ip in cis if name in DISK_PERCENT})
    client_key = asyncssh.import_authorized_keys(
        (directory / "inspector_key.pub").read_text("utf-8"))
    ssh = await asyncssh.create_server(
        asyncssh.SSHServer, host=servers, port=ports.ssh,
        server_host_keys=[asyncssh.generate_private_key("ssh-ed25519")],
        authorized_client_keys=client_key, process_factory=_answer_ssh)
    loop = asyncio.get_running_loop()
    for name, kind, ip in cis:
        if kind in ("switch", "router"):
            await loop.create_datagram_endpoint(partial(_SnmpAgent, SNMP_IF_STATUS.get(name, 1)),  # made at once
                                                local_addr=(ip, ports.snmp))
        if kind in ("vpn_gateway", "security_device", "load_balancer", "firewall"):
            _https_peer(directory, name, ip, ports.https)
    inbox_handler = type("Inbox", (_Inbox,), {"path_file": (settings.data_dir / INBOX_FILE).resolve()})
    _serve(_Server(("127.0.0.1", ports.inbox), inbox_handler))
    try:
        await asyncio.Event().wait()
    finally:
        mgmt.close()
        ssh.close()


def run_estate(settings: Settings) -> None:
    """Serve the demo CIs of the project database (those on loopback) until interrupted."""
    from sqlmodel import select

    from models.cmdb.tables import ConfigurationItem
    from models.core.db import session_scope

    with session_scope() as session:
        cis = [(ci.name, ci.ci_type.value, ci.ip) for ci in session.exec(select(ConfigurationItem))
               if ci.ip and ci.ip.startswith("127.")]
    print(f"demo estate: {len(cis)} simulated CIs on loopback, ports {asdict(ensure_estate(settings))}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_estate(settings, cis))
