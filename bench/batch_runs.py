"""One batch delivered by either side: our dispatchers or the Celery peer.

Both sides get the same rows (`insert_batch`), the same delivery service and the same
measurement (`BatchBench.deliver`): the workers start after the batch is queued; from
the first `sent` row to the last one the bench reads, from /proc, the CPU time of the
workers, of the delivery service (gunicorn master and workers) and of the workers'
PostgreSQL sessions (found by `application_name`); then it checks that every
notification was delivered exactly once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2.extensions
import requests

from bench.accounting import child_pids, cpu_seconds, pid_cpu_seconds
from bench.delivery_data import insert_bulk, reset, scalar
from bench.delivery_runs import (
    DELIVERY_AUTH,
    DELIVERY_TOKEN,
    DeliveryBench,
    RssSampler,
    load_average,
)
from bench.processes import Process

PEER_DIR = Path(__file__).resolve().parent / "peers" / "celery_notify"
PEER_VENV = PEER_DIR / "venv"
PEER_BROKER = "redis://127.0.0.1:6379/11"  # a Redis database of this bench's own
OURS_APP, PEER_APP = "bench-batch-ours", "bench-batch-peer"


def insert_batch(
    connection: psycopg2.extensions.connection, user_ids: list[int], count: int
) -> None:
    """Queue one batch of `count` pending notifications.

    One multi-row INSERT through the bench's own connection, rows as the API writes
    them. When `POST /batches` is on main, this is the one function to swap for a call
    to it.
    """
    insert_bulk(connection, user_ids, count, page_size=count)


@dataclass
class Side:
    """One side's delivery of one batch."""

    name: str  # "ours" or "celery"
    procs: int
    count: int
    seconds: float = 0.0  # first sent_at to last sent_at
    per_s: float = 0.0
    worker_cpu_ms: float = 0.0  # per delivery
    service_cpu_ms: float = 0.0
    db_cpu_ms: float = 0.0
    rss_mb: float = 0.0  # highest worker RSS seen
    exactly_once: bool = False
    detail: str = ""
    load: float = 0.0
    repeats: list[float] = field(default_factory=list)

    @property
    def total_cpu_ms(self) -> float:
        return self.worker_cpu_ms + self.service_cpu_ms + self.db_cpu_ms


def ensure_peer_venv() -> Path:
    """The peer's own virtualenv (git-ignored), made once from its requirements.txt."""
    python = PEER_VENV / "bin" / "python"
    if not (PEER_VENV / "bin" / "celery").exists():
        print("creating the Celery peer's virtualenv...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-r", str(PEER_DIR / "requirements.txt")],
            check=True,
        )
    return python


def session_pids(connection: psycopg2.extensions.connection, app_name: str) -> list[int]:
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", (app_name,))
        return [row[0] for row in cursor.fetchall()]


class CpuClock:
    """CPU seconds of workers, the delivery service and the workers' database sessions."""

    def __init__(self, connection, workers: list[Process], service_pid: int, app: str) -> None:
        self.connection = connection
        self.workers = [w.pid for w in workers]
        self.service_pid = service_pid
        self.app = app
        self.db_start: dict[int, float] = {}

    def read(self) -> tuple[float, float, dict[int, float]]:
        service = [self.service_pid, *child_pids(self.service_pid)]
        db = {}
        for pid in session_pids(self.connection, self.app):
            used = pid_cpu_seconds(pid)
            if used is not None:
                db[pid] = used
        return cpu_seconds(self.workers), cpu_seconds(service), db


class BatchBench:
    """Delivers one batch with either side; holds what both share."""

    def __init__(self, bench: DeliveryBench, service_url: str, service_pid: int) -> None:
        self.bench = bench
        self.service_url = service_url
        self.service_pid = service_pid

    def ours(self, procs: int, count: int) -> Side:
        def start() -> list[Process]:
            workers = []
            for i in range(procs):
                env = self.bench.base_env(
                    DELIVERY_SERVICE_URL=self.service_url,
                    PGAPPNAME=OURS_APP,
                    **self.bench.worker_env,
                )
                argv = [sys.executable, "-m", "flask", "--app", "wsgi", "worker"]
                workers.append(self.bench._start(argv, env, f"batch-worker-{i}.log"))
            return workers

        return self.deliver("ours", procs, count, start, OURS_APP)

    def peer(self, procs: int, count: int, concurrency: int) -> Side:
        python = ensure_peer_venv()
        env = self.bench.base_env(
            PEER_BROKER_URL=PEER_BROKER,
            PEER_DATABASE_URL=self.bench.db.dsn,
            PEER_DELIVERY_URL=self.service_url,
            PEER_CONCURRENCY=concurrency,
            PGAPPNAME=PEER_APP,
            DELIVERY_API_TOKEN=DELIVERY_TOKEN,
            PYTHONPATH=str(PEER_DIR),
        )

        def enqueue() -> None:
            subprocess.run(
                [str(python), "producer.py", "--purge"],
                cwd=PEER_DIR,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )

        def start() -> list[Process]:
            argv = [str(PEER_VENV / "bin" / "celery"), "-A", "tasks", "worker", "-P", "gevent"]
            argv += [
                "-c",
                str(concurrency),
                "-Q",
                "deliveries",
                "--loglevel",
                os.environ.get("PEER_LOGLEVEL", "WARNING"),
            ]
            argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
            return [
                self.bench._start([*argv, "-n", f"peer{i}@%h"], env, f"celery-{i}.log")
                for i in range(procs)
            ]

        return self.deliver("celery", procs, count, start, PEER_APP, enqueue)

    def deliver(
        self,
        name: str,
        procs: int,
        count: int,
        start: Callable[[], list[Process]],
        app: str,
        enqueue: Callable[[], None] | None = None,
    ) -> Side:
        """Queue the batch, start the workers, time and account first sent to last sent."""
        side = Side(name, procs, count, load=load_average())
        connection = self.bench.db.connect()
        try:
            reset(connection, self.bench.users)
            requests.post(
                f"{self.service_url}/stats/reset", headers=DELIVERY_AUTH, timeout=5
            ).raise_for_status()
            insert_batch(connection, self.bench.users, count)
            if enqueue is not None:
                enqueue()
            workers = start()
            clock = CpuClock(connection, workers, self.service_pid, app)
            sql = "SELECT count(*) FROM notifications WHERE status IN ('sent', 'failed')"
            deadline = time.monotonic() + 600
            with RssSampler(workers) as rss:
                while scalar(connection, sql) == 0:
                    self._check_alive(workers, deadline)
                    time.sleep(0.02)
                first = clock.read()
                while (done := scalar(connection, sql)) < count:
                    self._check_alive(workers, deadline, f"{done}/{count}")
                    time.sleep(0.05)
                last = clock.read()
                time.sleep(0.3)  # one more RSS sample at the end
            for worker in workers:
                self.bench._stop(worker)
            self._account(side, first, last, count)
            side.rss_mb = rss.peak_mb
            self._check(side, connection)
        finally:
            connection.close()
        return side

    @staticmethod
    def _check_alive(workers: list[Process], deadline: float, progress: str = "") -> None:
        for worker in workers:
            if not worker.running:
                raise RuntimeError(f"{worker.name} exited:\n{worker.log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out {progress}")

    @staticmethod
    def _account(side: Side, first: tuple, last: tuple, count: int) -> None:
        # CPU between the first and the last completion, spread over the deliveries made
        # meanwhile (all but those done before the first reading: close to `count`).
        delivered = max(1, count - 1)
        side.worker_cpu_ms = (last[0] - first[0]) * 1000 / delivered
        side.service_cpu_ms = (last[1] - first[1]) * 1000 / delivered
        db = sum(used - first[2].get(pid, 0.0) for pid, used in last[2].items())
        side.db_cpu_ms = db * 1000 / delivered

    def _check(self, side: Side, connection: psycopg2.extensions.connection) -> None:
        with connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FILTER (WHERE status = 'sent' AND attempts = 1),"
                " extract(epoch FROM max(sent_at) - min(sent_at)) FROM notifications"
            )
            sent_once, span = cursor.fetchone()
            attempts_ok = True
            if side.name == "ours":
                cursor.execute(
                    "SELECT count(*), count(DISTINCT notification_id) FROM delivery_attempts"
                    " WHERE outcome = 'sent'"
                )
                attempts_ok = tuple(cursor.fetchone()) == (side.count, side.count)
        side.seconds = float(span)
        side.per_s = (side.count - 1) / side.seconds if side.seconds else 0.0
        stats = requests.get(f"{self.service_url}/stats", headers=DELIVERY_AUTH, timeout=5).json()
        wanted = {"sent": side.count, "replays": 0, "requests": side.count}
        side.exactly_once = sent_once == side.count and stats == wanted and attempts_ok
        if not side.exactly_once:
            side.detail = f"rows sent once {sent_once}, /stats {stats}, attempts ok {attempts_ok}"


def service_pid_of(bench: DeliveryBench) -> int:
    """The delivery service's gunicorn master: the one process of `bench` named so."""
    for process in bench.procs:
        if process.name.startswith("gunicorn-"):
            return process.pid
    raise RuntimeError("the delivery service is not running")
