"""Run the real API under gunicorn on a free loopback port, for tests over HTTP."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Stop one process we started, by its PID: SIGTERM, then SIGKILL after the grace."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def running_api(workdir: Path, workers: int = 1, **extra_env: str) -> Iterator[str]:
    """gunicorn wsgi:app with `workers` workers on a freshly migrated SQLite file;
    yields its base URL and stops it afterwards."""
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"FLASK_DEBUG", "DATABASE_URL", "API_BIND", "PORT", "WEB_CONCURRENCY"}
        | set(extra_env)
    }
    env.update(
        DATABASE_URL=f"sqlite:///{workdir / 'api.db'}",
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

    log_path = workdir / "gunicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"gunicorn exited with {server.returncode}:\n{tail(log_path)}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{base_url}/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"no /health answer in {STARTUP_TIMEOUT_S} s:\n{tail(log_path)}")
            time.sleep(0.2)
        yield base_url
    finally:
        stop(server)
