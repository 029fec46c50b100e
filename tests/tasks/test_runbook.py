"""The runbook executor against real commands, a real HTTP peer and an SSH server on loopback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from models.changes.spec import RunbookStep
from tasks.runbook import StepContext, mask, run_step
from tests.support.files import tree
from tests.support.peers import http_server
from tests.support.sshd import sshd_server


def test_shell_exit_code_output_and_timeout(tmp_path: Path) -> None:
    ctx = StepContext(backup_dir=tmp_path / "backups")
    ok = run_step(RunbookStep(name="list", command="echo hello; echo oops >&2", cwd=str(tmp_path)), ctx)
    assert ok.ok and ok.exit_code == 0 and "hello" in ok.output and "oops" in ok.output
    failed = run_step(RunbookStep(name="fail", command="echo half; exit 3"), ctx)
    assert not failed.ok and failed.exit_code == 3 and "half" in failed.output
    slow = run_step(RunbookStep(name="slow", command="sleep 30", timeout_seconds=0.5), ctx)
    assert not slow.ok and "timed out after 0.5 s" in slow.output


def test_secrets_never_reach_the_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOY_TOKEN", "tk-9f8e7d6c")
    step = RunbookStep(name="deploy", secret_env=["DEPLOY_TOKEN"],
                       command='echo "using $DEPLOY_TOKEN"; echo password=hunter22; echo https://bob:pw1234@repo/x')
    result = run_step(step, StepContext(backup_dir=tmp_path))
    assert result.ok
    for secret in ("tk-9f8e7d6c", "hunter22", "pw1234"):
        assert secret not in result.output
    assert "using ****" in result.output
    missing = run_step(RunbookStep(name="x", command="true", secret_env=["NOT_SET_ANYWHERE"]),
                       StepContext(backup_dir=tmp_path))
    assert not missing.ok and "NOT_SET_ANYWHERE is not set" in missing.output
    assert mask("Authorization: Bearer abc.def-123", []) == "Authorization: Bearer ****"


def test_commands_never_see_the_orchestrators_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITSS_GATE_SECRET", "gate-signing-key-123")
    monkeypatch.setenv("PREFECT_API_KEY", "pnu_abcdef")
    result = run_step(RunbookStep(name="env", command="env"), StepContext(backup_dir=tmp_path))
    assert result.ok and "PATH=" in result.output
    assert "gate-signing-key-123" not in result.output and "ITSS_" not in result.output
    assert "pnu_abcdef" not in result.output


def test_backup_then_restore_leaves_the_target_exactly_as_before(tmp_path: Path) -> None:
    target = tmp_path / "app"
    (target / "conf").mkdir(parents=True)
    (target / "version").write_text("2.3\n")
    (target / "conf" / "app.ini").write_text("[db]\nhost=a\n")
    (target / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(target / "run.sh", 0o750)
    before = tree(target)
    ctx = StepContext(backup_dir=tmp_path / "backups")
    assert run_step(RunbookStep(name="backup app", kind="backup", paths=[str(target), str(tmp_path / "new.flag")]),
                    ctx).ok
    run_step(RunbookStep(name="break it", command=f"cd {target} && echo 2.4 > version && rm conf/app.ini && "
                                                  f"touch extra && chmod 644 run.sh && touch {tmp_path}/new.flag"), ctx)
    assert tree(target) != before
    restored = run_step(RunbookStep(name="restore", kind="restore", backup="backup app"), ctx)
    assert restored.ok, restored.output
    assert tree(target) == before
    assert not (tmp_path / "new.flag").exists()  # absent before the change, absent after the rollback
    nothing = run_step(RunbookStep(name="restore", kind="restore", backup="never taken"), ctx)
    assert not nothing.ok and "no backup" in nothing.output


def test_http_step_checks_the_status(tmp_path: Path) -> None:
    ctx = StepContext(backup_dir=tmp_path)
    with http_server() as port:
        ok = run_step(RunbookStep(name="health", kind="http", method="GET", url=f"http://127.0.0.1:{port}/health"),
                      ctx)
        missing = run_step(RunbookStep(name="drain", kind="http", url=f"http://127.0.0.1:{port}/drain",
                                       method="GET"), ctx)
    assert ok.ok and ok.exit_code == 200 and "healthy" in ok.output
    assert not missing.ok and missing.exit_code == 404


def test_ssh_step_runs_on_the_host_and_checks_the_exit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A real sshd runs the step in a real shell: its side effect, output and exit code are the host's.
    marker = tmp_path / "deployed"
    with sshd_server(tmp_path / "sshd") as sshd:
        common = dict(kind="ssh", host="app-srv-01", port=sshd.port, username=sshd.user, key_file=str(sshd.key_file),
                      known_hosts=str(sshd.known_hosts))
        ctx = StepContext(backup_dir=tmp_path, hosts={"app-srv-01": "127.0.0.1"})
        ok = run_step(RunbookStep(name="deploy", command=f"echo 2.4 > {marker} && cat {marker}", **common), ctx)
        bad = run_step(RunbookStep(name="nope", command="no-such-tool --restart app", **common), ctx)
        failed = run_step(RunbookStep(name="exit 3", command="echo partial; exit 3", **common), ctx)
    assert ok.ok and ok.exit_code == 0 and "2.4" in ok.output and marker.read_text() == "2.4\n"
    assert not bad.ok and bad.exit_code == 127 and "not found" in bad.output
    assert not failed.ok and failed.exit_code == 3 and "partial" in failed.output
