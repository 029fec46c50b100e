"""Debian's OpenSSH server (package `openssh-server`, which CI installs) on a free loopback port.

It runs as the user running the tests, with a throwaway host key and one authorised client key, and
executes real commands in a real shell: the SSH probes and runbook steps talk to a real peer.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.net import free_port

SSHD_MISSING = "needs Debian's OpenSSH server (apt-get install openssh-server)"


@dataclass(frozen=True)
class Sshd:
    """A running sshd: log in as `user` on 127.0.0.1:`port` with `key_file`; `stranger_key` is refused;
    `known_hosts` holds its host key (and `wrong_known_hosts` another one)."""

    port: int
    user: str
    key_file: Path
    stranger_key: Path
    known_hosts: Path
    wrong_known_hosts: Path


def _sshd_binary() -> str | None:
    return shutil.which("sshd") or next((p for p in ("/usr/sbin/sshd",) if Path(p).exists()), None)


def require_sshd() -> str:
    """The sshd binary; skips the test (fails it when ITSS_REQUIRE_PEERS=1) when it is not installed."""
    binary = _sshd_binary()
    if binary is None or shutil.which("ssh-keygen") is None:
        if os.environ.get("ITSS_REQUIRE_PEERS") == "1":
            pytest.fail(f"sshd is required here: {SSHD_MISSING}")
        pytest.skip(SSHD_MISSING)
    return binary


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True,
                   stdout=subprocess.DEVNULL)


@contextmanager
def sshd_server(directory: Path) -> Iterator[Sshd]:
    """Start sshd on a free loopback port for the current user; stop it afterwards."""
    binary = require_sshd()
    directory.mkdir(parents=True, exist_ok=True)
    host_key, client_key, stranger = directory / "host_key", directory / "client_key", directory / "stranger_key"
    for key in (host_key, client_key, stranger):
        _keygen(key)
    port = free_port()
    known_hosts, wrong_known_hosts = directory / "known_hosts", directory / "wrong_known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {(directory / 'host_key.pub').read_text()}")
    wrong_known_hosts.write_text(f"[127.0.0.1]:{port} {(directory / 'stranger_key.pub').read_text()}")
    authorized = directory / "authorized_keys"
    authorized.write_text((directory / "client_key.pub").read_text())
    authorized.chmod(0o600)
    config = directory / "sshd_config"
    config.write_text("\n".join([
        f"ListenAddress 127.0.0.1:{port}", f"HostKey {host_key}", f"AuthorizedKeysFile {authorized}",
        f"PidFile {directory / 'sshd.pid'}", f"AllowUsers {getpass.getuser()}",
        "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
        "PermitRootLogin prohibit-password", "UsePAM no",
        # The temp directory sits under the world-writable /tmp, which StrictModes refuses.
        "StrictModes no", "LogLevel ERROR", "",
    ]))
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    log = (directory / "sshd.log").open("ab")
    process = subprocess.Popen([binary, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise AssertionError(f"sshd exited {process.returncode}: {(directory / 'sshd.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("sshd did not listen within 20 s") from None
                time.sleep(0.1)
        yield Sshd(port=port, user=getpass.getuser(), key_file=client_key, stranger_key=stranger,
                   known_hosts=known_hosts, wrong_known_hosts=wrong_known_hosts)
    finally:
        process.terminate()
        process.wait(10)
        log.close()
