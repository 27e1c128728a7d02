"""Integration fixtures: the REAL delivery service (in a thread, or under gunicorn in a
subprocess) and dispatcher processes (`flask --app wsgi worker`).

Every process started here goes through bench/processes.py (the helper the benchmark uses
too) and is stopped by its PID in a fixture finalizer, before the autouse cleanup of
tests/conftest.py deletes the rows (finalizers run in reverse). `free_port` is re-exported
for the tests that import it from here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, insert, select
from werkzeug.serving import make_server

from bench.processes import ProcessError, Processes, free_port
from config import DeliveryConfig, TestConfig
from delivery import create_app as create_delivery_app
from notifier.database import utcnow
from notifier.extensions import db
from notifier.notifications.models import Notification
from notifier.worker.policy import Settings
from notifier.worker.runner import Dispatcher
from tests.delivery_support import DELIVERY_AUTH, DELIVERY_TOKEN, DELIVERY_TOKEN_ENV
from tests.factories import UserFactory
from tests.helpers import FAST_SHUTDOWN

REPO_ROOT = Path(__file__).resolve().parents[2]
JWT_SECRET = "integration-test-secret-key-of-at-least-32-bytes"


def wait_for(
    condition: Callable[[], Any], timeout: float, interval: float = 0.05, what: str = ""
) -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(interval)


@dataclass
class DeliveryService:
    """A running delivery service and its counters."""

    url: str

    def stats(self) -> dict[str, int]:
        response = requests.get(f"{self.url}/stats", headers=DELIVERY_AUTH, timeout=5)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        response = requests.post(f"{self.url}/stats/reset", headers=DELIVERY_AUTH, timeout=5)
        response.raise_for_status()


# --- the delivery service in a thread (fast tests) ----------------------------------


@pytest.fixture
def start_delivery_thread() -> Iterator[Callable[..., DeliveryService]]:
    """`start_delivery_thread(DELIVERY_LATENCY_MS=100)`: the real app on werkzeug, threaded."""
    servers = []

    def _start(**overrides: Any) -> DeliveryService:
        config = type(
            "Config",
            (DeliveryConfig,),
            {
                "DELIVERY_SIMULATOR_HOOKS": True,
                "DELIVERY_FAILURE_RATE": 0.0,
                "DELIVERY_API_TOKEN": DELIVERY_TOKEN,
                **overrides,
            },
        )
        server = make_server("127.0.0.1", 0, create_delivery_app(config), threaded=True)
        thread = threading.Thread(target=server.serve_forever, kwargs=FAST_SHUTDOWN, daemon=True)
        thread.start()
        servers.append((server, thread))
        return DeliveryService(f"http://127.0.0.1:{server.server_port}")

    yield _start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def delivery(start_delivery_thread) -> DeliveryService:
    return start_delivery_thread()


# --- the delivery service under gunicorn (the real deployment) -----------------------


@pytest.fixture
def start_gunicorn_delivery(tmp_path) -> Iterator[Callable[..., DeliveryService]]:
    """`start_gunicorn_delivery(port, DELIVERY_LATENCY_MS=200)`: gunicorn + gevent on 127.0.0.1."""
    with Processes() as processes:

        def _start(port: int | None = None, **env: Any) -> DeliveryService:
            port = port or free_port()
            process = processes.start(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "delivery/gunicorn.conf.py",
                    "delivery:create_app()",
                ],
                {
                    **os.environ,
                    "DELIVERY_BIND": f"127.0.0.1:{port}",
                    "DELIVERY_LOG_LEVEL": "warning",
                    "DELIVERY_FAILURE_RATE": "0",
                    **DELIVERY_TOKEN_ENV,
                    **{key: str(value) for key, value in env.items()},
                },
                name="delivery gunicorn",
                log_path=tmp_path / f"gunicorn-{port}.log",
                cwd=REPO_ROOT,
            )
            service = DeliveryService(f"http://127.0.0.1:{port}")
            try:
                process.wait_until_answers(f"{service.url}/health", timeout_s=20, interval_s=0.1)
            except ProcessError as error:
                pytest.fail(str(error))
            return service

        yield _start


# --- dispatcher processes ------------------------------------------------------------


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def start_worker(app, tmp_path) -> Iterator[Callable[..., WorkerProcess]]:
    """`start_worker(service_url, DELIVERY_LEASE_S=3)`: `flask --app wsgi worker` on the
    test database, as its own process."""
    with Processes() as processes:

        def _start(service_url: str, *args: str, **env: Any) -> WorkerProcess:
            environment = {
                key: value
                for key, value in os.environ.items()
                if not key.startswith(("DELIVERY_", "FLASK_"))
            }
            environment |= {
                "DATABASE_URL": TestConfig.SQLALCHEMY_DATABASE_URI,
                "JWT_SECRET_KEY": JWT_SECRET,
                "DELIVERY_SERVICE_URL": service_url,
                "DELIVERY_POLL_INTERVAL_S": "0.2",
                "DELIVERY_TIMEOUT_S": "5",
                # The former default. With the production one (192), three dispatchers on
                # the shared 2-core test machine queued more requests at the one delivery
                # process than it answered within this short timeout: the retries were
                # replays (the idempotency key held), but these tests count requests.
                "DELIVERY_CONCURRENCY": "32",
                **DELIVERY_TOKEN_ENV,
                **{key: str(value) for key, value in env.items()},
            }
            log_path = tmp_path / f"worker-{len(list(processes))}.log"
            process = processes.start(
                [sys.executable, "-m", "flask", "--app", "wsgi", "worker", *args],
                environment,
                name="dispatcher",
                log_path=log_path,
                cwd=REPO_ROOT,
            )
            return WorkerProcess(process.popen, log_path)

        yield _start


# --- data and in-process dispatchers ---------------------------------------------------


def insert_notifications(count: int, users: int = 10, **fields: Any) -> list[int]:
    """Insert `count` due notifications in bulk (spread over `users` users); return ids."""
    user_ids = [UserFactory().id for _ in range(users)]
    now = utcnow()
    rows = [
        {
            "user_id": user_ids[i % users],
            "title": f"Bulk {i}",
            "content": "Hello from the integration tests.",
            "channel": "email",
            "target": f"person{i}@example.com",
            "status": "pending",
            "attempts": 0,
            "version": 1,
            "delivery_key": os.urandom(16).hex(),
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
            **fields,
        }
        for i in range(count)
    ]
    with db.engine.begin() as connection:
        ids = connection.execute(insert(Notification).returning(Notification.id), rows)
        return list(ids.scalars())


def status_counts() -> dict[str, int]:
    with db.engine.connect() as connection:
        rows = connection.execute(
            select(Notification.status, func.count()).group_by(Notification.status)
        )
        return dict(rows.all())


@pytest.fixture
def make_dispatcher(app) -> Iterator[Callable[..., Dispatcher]]:
    """An in-process dispatcher pointed at a real delivery service."""
    made: list[Dispatcher] = []

    def _make(service_url: str, **overrides: Any) -> Dispatcher:
        settings = Settings.from_config(
            app.config,
            service_url=service_url,
            timeout_s=2.0,
            poll_interval_s=0.05,
            concurrency=8,
        )
        dispatcher = Dispatcher(db.engine, replace(settings, **overrides))
        made.append(dispatcher)
        return dispatcher

    yield _make
    for dispatcher in made:
        dispatcher.stop()
        dispatcher.client.close()
        dispatcher.waiter.close()


@pytest.fixture
def run_in_background(make_dispatcher) -> Iterator[Callable[[Dispatcher], threading.Thread]]:
    """Run `dispatcher.run()` in a thread; it is stopped and joined at teardown."""
    running: list[tuple[Dispatcher, threading.Thread]] = []

    def _run(dispatcher: Dispatcher) -> threading.Thread:
        thread = threading.Thread(target=dispatcher.run, daemon=True)
        thread.start()
        running.append((dispatcher, thread))
        return thread

    yield _run
    for dispatcher, thread in running:
        dispatcher.stop()
        thread.join(timeout=15)
        assert not thread.is_alive(), "the dispatcher did not stop"
