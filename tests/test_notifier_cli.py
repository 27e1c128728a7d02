"""`./notifier-cli`: the documented commands work after `./up_dev.sh --local`, whatever
`flask` the shell has and without exporting JWT_SECRET_KEY.

Each test runs the real script in a scratch copy of the project's entry points (the script,
`config.py`, `wsgi.py`; the packages linked), so the SQLite database and the signing key it
makes are the scratch copy's `instance/`, not the developer's.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("notifier-cli", "config.py", "wsgi.py"):
        shutil.copy2(ROOT / name, tmp_path / name)
    for name in ("notifier", "delivery", "migrations"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


def _run(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        "PATH": "/usr/bin:/bin",  # no virtualenv on the PATH: the shell's flask is not ours
        "HOME": str(project),
        "NOTIFIER_VENV": sys.prefix,
        # Local mode ignores DATABASE_URL, and so does the wrapper.
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/nowhere",
        **env,
    }
    return subprocess.run(
        [str(project / "notifier-cli"), *args],
        cwd="/",
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_api_key_command_of_the_docs_works_on_the_local_stacks_database(project):
    for command in (["db", "upgrade"], ["seed"]):
        result = _run(project, *command)
        assert result.returncode == 0, result.stderr
    secret = project / "instance" / "dev-secret"
    assert secret.stat().st_mode & 0o077 == 0
    assert len(made := secret.read_text()) == 64

    result = _run(
        project, "api-keys", "create", "--email", "demo@example.com", "--name", "billing-server"
    )
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("ntf_live_")
    with sqlite3.connect(project / "instance" / "notifier.db") as connection:
        names = [row[0] for row in connection.execute("SELECT name FROM api_keys")]
    assert "billing-server" in names
    assert secret.read_text() == made  # made once, then kept (tokens survive restarts)


def test_an_exported_signing_key_wins_over_the_local_one(project):
    result = _run(project, "db", "upgrade", JWT_SECRET_KEY="x" * 40)
    assert result.returncode == 0, result.stderr
    assert not (project / "instance" / "dev-secret").exists()


def test_without_the_virtualenv_it_says_how_to_make_it(project):
    result = _run(project, "seed", NOTIFIER_VENV=str(project / "no-venv"))
    assert result.returncode == 1
    assert "./up_test.sh --install-only" in result.stderr
    assert not os.path.exists(project / "instance")
