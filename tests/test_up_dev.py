"""./up_dev.sh in Docker mode keeps the secrets it generates in .env, so that every later
compose command finds them, and prints its URLs from the settings compose will use.

A stand-in `docker` on PATH answers `docker info` and `docker compose version`, and for
`docker compose … up` records its arguments instead of starting anything. The script runs
from a copy in a temporary directory, so the repository's own .env is never touched.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FAKE_DOCKER = """#!/bin/sh
case "$1" in
    info) exit 0 ;;
    compose)
        if [ "$2" = version ]; then exit 0; fi
        shift
        printf '%s\\n' "$*" >"$(dirname "$0")/compose-args"
        exit 0
        ;;
esac
exit 1
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A directory holding up_dev.sh, and a bin/ whose `docker` is the stand-in."""
    shutil.copy(ROOT / "up_dev.sh", tmp_path / "up_dev.sh")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    return tmp_path


def up_dev(project: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    process = subprocess.run(
        [str(project / "up_dev.sh")],
        cwd=project,
        env={**clean, "PATH": f"{project / 'bin'}:{os.environ['PATH']}", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    assert (project / "bin" / "compose-args").read_text().split() == [
        "--profile",
        "seed",
        "up",
        "--build",
    ]
    return process


SETTINGS = ("JWT_SECRET_KEY", "DELIVERY_API_TOKEN", "API_HOST_PORT", "MAILPIT_HOST_PORT")


def env_file(project: Path) -> dict[str, str]:
    lines = (project / ".env").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line and not line.startswith("#")]
    return dict(pairs)


def test_without_a_env_file_the_generated_secrets_are_written_to_a_private_one(
    project: Path,
) -> None:
    process = up_dev(project)

    written = env_file(project)
    assert set(written) == {"JWT_SECRET_KEY", "DELIVERY_API_TOKEN"}
    assert len(written["JWT_SECRET_KEY"]) >= 32
    assert len(written["DELIVERY_API_TOKEN"]) >= 32
    assert written["JWT_SECRET_KEY"] != written["DELIVERY_API_TOKEN"]
    assert stat.S_IMODE((project / ".env").stat().st_mode) == 0o600
    assert "http://localhost:8000/docs" in process.stdout
    assert "8001" not in process.stdout  # the delivery service is not published


def test_a_second_run_and_later_commands_find_the_same_secrets(project: Path) -> None:
    up_dev(project)
    first = (project / ".env").read_text()
    up_dev(project)
    assert (project / ".env").read_text() == first


def test_values_the_user_set_are_kept_and_only_missing_ones_are_added(project: Path) -> None:
    mine = "my-own-signing-key-of-at-least-32-bytes-long"
    (project / ".env").write_text(
        f"# my settings\nJWT_SECRET_KEY={mine}\nAPI_HOST_PORT=9000\nDELIVERY_API_TOKEN=\n"
        "MAILPIT_HOST_PORT='9025'"  # no final newline
    )

    process = up_dev(project)

    text = (project / ".env").read_text()
    assert text.startswith(f"# my settings\nJWT_SECRET_KEY={mine}\nAPI_HOST_PORT=9000\n")
    written = env_file(project)
    assert written["JWT_SECRET_KEY"] == mine
    assert len(written["DELIVERY_API_TOKEN"]) >= 32
    assert text.count("DELIVERY_API_TOKEN=") == 1  # the empty line was replaced, not shadowed
    assert "http://localhost:9000/docs" in process.stdout
    assert "http://localhost:9025" in process.stdout


def test_a_secret_set_in_the_shell_is_not_copied_into_the_file(project: Path) -> None:
    process = up_dev(project, DELIVERY_API_TOKEN="t" * 40, API_HOST_PORT="7000")
    assert "DELIVERY_API_TOKEN" not in env_file(project)
    assert "t" * 40 not in (project / ".env").read_text()
    assert "http://localhost:7000/docs" in process.stdout
