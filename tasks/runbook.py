"""The runbook executor: one step at a time — shell, SSH, HTTP, backup, restore — with a timeout, the
exit code checked and the output captured with secrets masked. No database here: `tasks/changes.py`
records what each step did.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
import httpx

from models.changes.spec import RunbookStep, StepKind

MAX_OUTPUT = 16_000
MASK = "****"
# Credentials that may appear in output whatever the step declared: key=value pairs, bearer tokens,
# passwords inside URLs.
_PATTERNS = [
    re.compile(r"(?i)\b(password|passwd|pwd|secret|token|api[_-]?key)(\s*[=:]\s*)(\S+)"),
    re.compile(r"(?i)(bearer\s+)([A-Za-z0-9._~+/=-]+)"),
    re.compile(r"(://[^/\s:@]+:)([^@\s]+)(@)"),
]


def mask(text: str, secrets: list[str]) -> str:
    """`text` with every secret value and credential-looking value replaced by ****."""
    for value in sorted((s for s in secrets if s and len(s) >= 3), key=len, reverse=True):
        text = text.replace(value, MASK)
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _PATTERNS[2].sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)


@dataclass
class StepResult:
    """What a step did: success, the exit code (or HTTP status), masked output."""

    ok: bool
    exit_code: int | None
    output: str


@dataclass
class StepContext:
    """What a change's steps share: where its backups live and how CI names map to hosts."""

    backup_dir: Path
    hosts: dict[str, str] = field(default_factory=dict)


def _secrets(step: RunbookStep) -> tuple[dict[str, str], list[str], str | None]:
    """The step's secret env vars (name → value), their values, and the first missing one."""
    names = [*step.secret_env, *step.headers_env.values(), *([step.password_env] if step.password_env else [])]
    env = {name: os.environ[name] for name in names if name in os.environ}
    missing = next((name for name in names if name not in os.environ), None)
    return env, list(env.values()), missing


def run_step(step: RunbookStep, ctx: StepContext) -> StepResult:
    """Run one step under its timeout; never raises (a failure is a result with its reason)."""
    env, secrets, missing = _secrets(step)
    if missing is not None:
        return StepResult(False, None, f"env var {missing} is not set on this worker; set it and run again")
    try:
        result = _RUNNERS[step.kind](step, ctx, env)
    except Exception as exc:  # an executor failure is the step's failure, never the flow's crash
        result = StepResult(False, None, f"{type(exc).__name__}: {exc}")
    output = mask(result.output, secrets)
    if len(output) > MAX_OUTPUT:  # keep the start and the end, where errors usually are
        output = output[: MAX_OUTPUT // 2] + "\n… (output cut) …\n" + output[-MAX_OUTPUT // 2:]
    return StepResult(result.ok, result.exit_code, output)


# The orchestrator's own configuration (database URL, gate secret, Prefect API key) never reaches a
# runbook command: a step could print it into the step log.
_PRIVATE_PREFIXES = ("ITSS_", "PREFECT_")


def command_environment(secrets: dict[str, str]) -> dict[str, str]:
    """The worker's environment without the orchestrator's settings, plus the step's declared secrets."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith(_PRIVATE_PREFIXES)}, **secrets}


def _shell(step: RunbookStep, ctx: StepContext, env: dict[str, str]) -> StepResult:
    # Its own session, so a timeout kills the command and everything it started.
    process = subprocess.Popen(["/bin/sh", "-c", step.command or ""], cwd=step.cwd or None,
                               env=command_environment(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True, text=True, errors="replace")
    try:
        output, _ = process.communicate(timeout=step.timeout_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return StepResult(False, None, f"{output}\ntimed out after {step.timeout_seconds:g} s (killed)")
    return StepResult(process.returncode == 0, process.returncode, output)


def _ssh(step: RunbookStep, ctx: StepContext, env: dict[str, str]) -> StepResult:
    host = ctx.hosts.get(step.host or "", step.host or "")
    password = env.get(step.password_env) if step.password_env else None

    async def run() -> StepResult:
        known_hosts = os.path.expanduser(step.known_hosts) if step.known_hosts else None
        async with asyncssh.connect(host, port=step.port, username=step.username, password=password,
                                    client_keys=[step.key_file] if step.key_file else None,
                                    known_hosts=known_hosts, agent_path=None) as conn:
            exports = "".join(f"export {name}={_quote(value)}; " for name, value in env.items()
                              if name != step.password_env)
            done = await conn.run(exports + (step.command or ""), check=False)
        # Text with asyncssh's default encoding; typed str | bytes, so bytes are decoded, never shown as b'...'.
        output = "".join(part.decode(errors="replace") if isinstance(part, bytes) else part or ""
                         for part in (done.stdout, done.stderr))
        return StepResult(done.exit_status == 0, done.exit_status, str(output))

    try:
        return asyncio.run(asyncio.wait_for(run(), step.timeout_seconds))
    except TimeoutError:
        return StepResult(False, None, f"no end within {step.timeout_seconds:g} s on {host} (timed out)")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def _http(step: RunbookStep, ctx: StepContext, env: dict[str, str]) -> StepResult:
    headers = {header: env[name] for header, name in step.headers_env.items()}
    with httpx.Client(timeout=step.timeout_seconds) as client:
        response = client.request(step.method, step.url or "", json=step.json_body, headers=headers)
    ok = response.status_code in step.expect_status
    return StepResult(ok, response.status_code, f"HTTP {response.status_code}\n{response.text[:4000]}")


def _backup_root(step_name: str, ctx: StepContext) -> Path:
    # Always a child of this change's own backup dir, whatever the name (saved runbooks are validated
    # too, but a backup starts with rmtree, so the executor checks again).
    root = ctx.backup_dir / ("step-" + re.sub(r"[^\w.-]+", "_", step_name))
    if root.resolve().parent != ctx.backup_dir.resolve():
        raise ValueError(f"backup name {step_name!r} leaves the change's backup directory")
    return root


def _backup(step: RunbookStep, ctx: StepContext, env: dict[str, str]) -> StepResult:
    root = _backup_root(step.name, ctx)
    if root.exists():  # a retried backup starts clean: the archive must be of the state before this change
        shutil.rmtree(root)
    root.mkdir(parents=True)
    manifest = []
    for index, path in enumerate(step.paths):
        source, copy = Path(path), root / str(index)
        if source.is_dir():
            shutil.copytree(source, copy, symlinks=True)
        elif source.exists():
            shutil.copy2(source, copy, follow_symlinks=False)
        manifest.append({"path": str(source), "existed": source.exists()})
    (root / "manifest.json").write_text(json.dumps(manifest))
    return StepResult(True, 0, f"backed up {len(manifest)} path(s) to {root}")


def _restore(step: RunbookStep, ctx: StepContext, env: dict[str, str]) -> StepResult:
    root = _backup_root(step.backup or "", ctx)
    if not (root / "manifest.json").exists():
        return StepResult(False, None, f"no backup {step.backup!r} was taken for this change; nothing restored")
    lines = []
    for index, entry in enumerate(json.loads((root / "manifest.json").read_text())):
        target, copy = Path(entry["path"]), root / str(index)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        if not entry["existed"]:
            lines.append(f"removed {target} (absent before the change)")
            continue
        if copy.is_dir():
            shutil.copytree(copy, target, symlinks=True)
            shutil.copystat(copy, target)
        else:
            shutil.copy2(copy, target, follow_symlinks=False)
        lines.append(f"restored {target}")
    return StepResult(True, 0, "\n".join(lines))


_RUNNERS = {StepKind.SHELL: _shell, StepKind.SSH: _ssh, StepKind.HTTP: _http, StepKind.BACKUP: _backup,
            StepKind.RESTORE: _restore}
