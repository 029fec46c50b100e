"""The `itss` command's user management and demo loading."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ITSS = str(Path(sys.executable).parent / "itss")


def run(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITSS_")}
    env.update(ITSS_DATA_DIR=str(data), COLUMNS="200")
    return subprocess.run([ITSS, *args], env=env, capture_output=True, text=True, timeout=120)


def test_unknown_role_lists_valid_roles_and_writes_nothing(tmp_path: Path) -> None:
    result = run("user", "add", "bob", "--role", "wizard", data=tmp_path)
    assert result.returncode == 2
    assert "unknown role 'wizard'" in result.stdout
    assert "engineer" in result.stdout and "cab_member" in result.stdout
    assert not (tmp_path / "itss.db").exists()


def test_user_add_prints_a_working_token_and_refuses_duplicates(tmp_path: Path) -> None:
    added = run("user", "add", "bob", "--role", "engineer", "--role", "cab_member", data=tmp_path)
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    assert token.startswith("itss_")
    import sqlite3

    db = sqlite3.connect(tmp_path / "itss.db")
    roles = {r for (r,) in db.execute("select role_key from role_membership")}
    assert roles == {"engineer", "cab_member"}
    again = run("user", "add", "bob", "--role", "engineer", data=tmp_path)
    assert again.returncode == 1 and "already exists" in again.stdout


def test_demo_is_idempotent(tmp_path: Path) -> None:
    first = run("demo", data=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("itss_") == 14  # one token per demo person
    second = run("demo", data=tmp_path)
    assert second.returncode == 0 and "already loaded" in second.stdout and "itss_" not in second.stdout
    import sqlite3

    db = sqlite3.connect(tmp_path / "itss.db")
    assert db.execute("select count(*) from configuration_item").fetchone() == (20,)
    assert db.execute("select count(*) from person").fetchone() == (14,)
    assert db.execute("select count(*) from contract").fetchone() == (1,)
