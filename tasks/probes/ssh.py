"""A command over SSH whose output carries a number (disk %, load, free memory), with asyncssh."""

from __future__ import annotations

import os
import re

import asyncssh

from models.inspection.probes import SshParams
from models.inspection.tables import CheckStatus
from tasks.probes.base import ProbeContext, Reading, Target, probe


@probe("ssh_command")
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
