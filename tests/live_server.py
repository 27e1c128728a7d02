"""Run the real API under gunicorn on a free loopback port, for tests over HTTP.

Processes are started and stopped through bench/processes.py, the helper the benchmark
uses too; `stop` (for a Popen a test made itself) and `tail` stay importable from here.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.processes import STOP_GRACE_S, Process, ProcessError, free_port, start, tail

__all__ = ["free_port", "running_api", "stop", "tail"]

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 60


def stop(process: subprocess.Popen, grace_s: float = STOP_GRACE_S) -> None:
    """Stop a process a test started itself with Popen: SIGTERM, SIGKILL after the grace."""
    Process(str(process.args), process, own_group=False).stop(grace_s)


@contextlib.contextmanager
def running_api(
    workdir: Path, workers: int = 1, database_url: str | None = None, **extra_env: str
) -> Iterator[str]:
    """gunicorn wsgi:app with `workers` workers on a freshly migrated SQLite file (or
    on `database_url`, migrated to the head); yields its base URL and stops it afterwards."""
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"FLASK_DEBUG", "DATABASE_URL", "API_BIND", "PORT", "WEB_CONCURRENCY"}
        | set(extra_env)
    }
    env.update(
        DATABASE_URL=database_url or f"sqlite:///{workdir / 'api.db'}",
        JWT_SECRET_KEY="live-test-signing-key-0123456789-abcdefghijkl",
        API_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY=str(workers),
        PYTHONUNBUFFERED="1",
        **extra_env,
    )
    migrate = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrate.returncode == 0, f"flask db upgrade failed:\n{migrate.stderr[-3000:]}"

    server = start(
        [sys.executable, "-m", "gunicorn", "wsgi:app"],
        env,
        name="gunicorn wsgi:app",
        log_path=workdir / "gunicorn.log",
        cwd=ROOT,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        try:
            server.wait_until_answers(
                f"{base_url}/health", timeout_s=STARTUP_TIMEOUT_S, interval_s=0.05
            )
        except ProcessError as error:
            pytest.fail(str(error))
        yield base_url
    finally:
        server.stop()
