"""The two gunicorn servers under test, ours (`wsgi:app`) and the floor, on shared settings.

Both run with `-c gunicorn.conf.py` from the repository root, on a free 127.0.0.1 port, with
the same database and secret; each sets PGAPPNAME so that its PostgreSQL sessions can be
told apart when CPU is counted.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass

from bench.accounting import child_pids, cpu_seconds
from bench.paths import GUNICORN_CONF, REPO_ROOT, RESULTS_DIR, VENV_BIN
from bench.processes import Process, Processes, free_port

OURS_APP = "wsgi:app"
FLOOR_APP = "bench.floor_app:create_app()"
LOGIN_RATE_LIMIT = "1000000 per minute"
FALLBACK_GUNICORN_ARGS = ["-w", "4", "-k", "sync"]


@dataclass
class Server:
    """One gunicorn master serving on 127.0.0.1."""

    name: str
    proc: Process
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pg_application_name(self) -> str:
        """Set through PGAPPNAME, so that its PostgreSQL sessions can be told apart."""
        return f"bench-{self.name}"

    def workers(self) -> list[int]:
        return child_pids(self.proc.pid)

    def app_cpu_seconds(self) -> float:
        """CPU used so far by the gunicorn master and its workers, past and present."""
        return cpu_seconds([self.proc.pid, *self.workers()], reaped_children_of=self.proc.pid)

    def drain(self, timeout_s: float = 180.0) -> None:
        """Wait until the workers are idle.

        When wrk stops, the requests it already sent are still queued: sync workers serve
        them although the client is gone. On a slow endpoint (login) that backlog would
        eat into the next run, so wait until the workers stop burning CPU.
        """
        deadline = time.monotonic() + timeout_s
        quiet = 0
        while time.monotonic() < deadline and quiet < 2:
            pids = [self.proc.pid, *self.workers()]
            before = cpu_seconds(pids)
            time.sleep(0.25)
            quiet = quiet + 1 if cpu_seconds(pids) - before < 0.02 else 0

    def wait_healthy(self, timeout_s: float = 60.0) -> None:
        """Until /health answers 200; RuntimeError with the log tail if it never does."""
        self.proc.wait_until_answers(f"{self.base_url}/health", timeout_s, interval_s=0.3)


def gunicorn_settings_args() -> tuple[list[str], str]:
    """The shared gunicorn settings for both apps, and a sentence saying which they are."""
    if GUNICORN_CONF.exists():
        return ["-c", str(GUNICORN_CONF)], "gunicorn.conf.py from the repository root"
    return (
        list(FALLBACK_GUNICORN_ARGS),
        "gunicorn.conf.py does not exist: both apps run with `-w 4 -k sync`",
    )


def gunicorn_config_summary(env: Mapping[str, str]) -> dict[str, str]:
    """Resolved workers, worker class and friends, via `gunicorn --print-config`."""
    settings, _ = gunicorn_settings_args()
    argv = [str(VENV_BIN / "gunicorn"), *settings, "--print-config", FLOOR_APP]
    out = subprocess.run(
        argv, cwd=REPO_ROOT, env=dict(env), capture_output=True, text=True, timeout=60
    )
    wanted = {
        "workers",
        "worker_class",
        "threads",
        "worker_connections",
        "preload_app",
        "timeout",
        "keepalive",
        "max_requests",
        "backlog",
    }
    summary = {}
    for line in out.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() in wanted:
            summary[key.strip()] = value.strip()
    return summary


def server_env(secret: str, port: int, dsn: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("FLASK_DEBUG", None)  # production config, as deployed
    env.update(
        DATABASE_URL=dsn,
        JWT_SECRET_KEY=secret,
        RATELIMIT_LOGIN=LOGIN_RATE_LIMIT,
        RATELIMIT_LOGIN_PER_EMAIL=LOGIN_RATE_LIMIT,
        RATELIMIT_LOGIN_PER_ADDRESS=LOGIN_RATE_LIMIT,
        PORT=str(port),
        PYTHONUNBUFFERED="1",
        PATH=f"{VENV_BIN}:{env.get('PATH', '')}",
    )
    return env


def start_server(
    procs: Processes,
    name: str,
    app: str,
    secret: str,
    dsn: str,
    extra_env: Mapping[str, str] | None = None,
) -> Server:
    """gunicorn `app` as `name`, healthy on return; extra_env on top of server_env."""
    port = free_port()
    settings, _ = gunicorn_settings_args()
    # No control socket: its default path is shared by every gunicorn on the machine.
    argv = [str(VENV_BIN / "gunicorn"), *settings, app, "-b", f"127.0.0.1:{port}"]
    argv.append("--no-control-socket")
    env = {**server_env(secret, port, dsn), **(extra_env or {})}
    env["PGAPPNAME"] = f"bench-{name}"  # libpq's default application_name
    proc = procs.start(argv, env, name=name, log_path=RESULTS_DIR / f"gunicorn-{name}.log")
    server = Server(name, proc, port)
    server.wait_healthy()
    return server
