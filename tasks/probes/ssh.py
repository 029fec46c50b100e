"""A command over SSH whose output carries a number (disk %, load, free memory), with asyncssh."""

from __future__ import annotations

import os
import re

import asyncssh
from pydantic import Field

from models.inspection.tables import CheckStatus
from tasks.probes.base import ProbeContext, ProbeParams, Reading, Target, probe

NUMBER = r"(-?\d+(?:\.\d+)?)"


class SshParams(ProbeParams):
    command: str = Field(min_length=1, examples=["df --output=pcent / | tail -1"])
    pattern: str = Field(default=NUMBER, description="regex whose first group is the value")
    username: str = Field(default="itss", min_length=1)
    port: int = Field(default=22, ge=1, le=65535)
    key_file: str | None = Field(default=None, description="private key path on the worker")
    password_env: str | None = Field(default=None, description="name of the env var holding the password")
    known_hosts: str | None = Field(default="~/.ssh/known_hosts",
                                    description="known_hosts path; null skips host-key checks (lab use only)")
    unit: str = ""


@probe("ssh_command", SshParams, unit="")
async def ssh_command(target: Target, params: SshParams, ctx: ProbeContext) -> Reading:
    """Run the command; the value is the first number its output matches."""
    password = os.environ.get(params.password_env) if params.password_env else None
    if params.password_env and password is None:
        return Reading(None, f"env var {params.password_env} (the SSH password) is not set on this worker",
                       CheckStatus.ERROR)
    known_hosts = os.path.expanduser(params.known_hosts) if params.known_hosts else None
    async with asyncssh.connect(target.host, port=params.port, username=params.username, password=password,
                                client_keys=[params.key_file] if params.key_file else None,
                                known_hosts=known_hosts, agent_path=None) as conn:
        result = await conn.run(params.command, check=False)
    output = str(result.stdout or "").strip()
    if result.exit_status != 0:
        return Reading(None, f"exit {result.exit_status}: {str(result.stderr or '').strip()[:300]}", CheckStatus.ERROR)
    match = re.search(params.pattern, output)
    if match is None:
        return Reading(None, f"no value matching {params.pattern!r} in: {output[:200]}", CheckStatus.ERROR)
    value = float(match.group(1))
    return Reading(value, f"{params.command} → {value:g}{params.unit}")
