"""The delivery benchmark's measurements: throughput and create->sent latency.

A DeliveryBench holds what every run shares (the processes it started, the database, the
bench users, the dispatchers' settings); `delivery_service` starts the real delivery
service under gunicorn, `throughput` and `create_to_sent` start the dispatchers
(`flask --app wsgi worker`) and stop them by PID when they are done.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg2.extras
import requests

from bench import cpu_quota
from bench.accounting import memory_mib
from bench.database import Database
from bench.delivery_data import INSERT, insert_bulk, reset, row, wait_all_done
from bench.processes import Process, Processes, free_port

JWT_SECRET = secrets.token_urlsafe(48)  # the dispatchers sign nothing; the app wants one
# The delivery service answers only callers with its token: the dispatchers and this bench.
DELIVERY_TOKEN = secrets.token_urlsafe(32)
DELIVERY_AUTH = {"Authorization": f"Bearer {DELIVERY_TOKEN}"}
STOP_GRACE_S = 15.0


@dataclass
class Run:
    latency_ms: int
    procs: int
    count: int = 0
    seconds: float = 0.0
    per_s: float = 0.0
    exactly_once: bool = False
    stats: dict = field(default_factory=dict)
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    samples: int = 0
    rss_mb: float = 0.0
    repeats: list[float] = field(default_factory=list)  # deliveries/s of every repeat
    load: float = 0.0  # 1-minute load average before the first repeat
    cpu_cap: float | None = None  # cores each dispatcher may use (a cgroup each), if capped


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


class RssSampler:
    """Samples VmRSS of some processes every 0.2 s; keeps the highest (MB)."""

    def __init__(self, processes: list[Process]) -> None:
        self.processes = processes
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for process in self.processes:
                with contextlib.suppress(OSError, ValueError):
                    self.peak_mb = max(self.peak_mb, memory_mib(process.pid)[0])


@dataclass
class DeliveryBench:
    """What every run shares; every process it starts is stopped by PID in stop_all."""

    db: Database
    log_dir: Path
    worker_env: dict[str, str]
    users: list[int] = field(default_factory=list)
    procs: Processes = field(default_factory=Processes)
    # Cap each dispatcher at this many cores (bench/cpu_quota.py); None: uncapped.
    cpu_cap: float | None = None
    quotas: list[cpu_quota.CpuQuotas] = field(default_factory=list)

    def base_env(self, **extra: object) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DELIVERY_", "FLASK_"))}
        env |= {"DATABASE_URL": self.db.dsn, "JWT_SECRET_KEY": JWT_SECRET}
        env |= {"DELIVERY_API_TOKEN": DELIVERY_TOKEN}
        env |= {key: str(value) for key, value in extra.items()}
        return env

    def _start(self, argv: list[str], env: dict[str, str], log_name: str) -> Process:
        return self.procs.start(argv, env, name=log_name, log_path=self.log_dir / log_name)

    def _stop(self, process: Process) -> None:
        self.procs.stop(process, STOP_GRACE_S)

    @contextlib.contextmanager
    def delivery_service(self, latency_ms: int) -> Iterator[str]:
        """The real delivery service under gunicorn (gevent), on a free loopback port."""
        port = free_port()
        process = self._start(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "delivery/gunicorn.conf.py",
                "delivery:create_app()",
            ],
            self.base_env(
                DELIVERY_BIND=f"127.0.0.1:{port}",
                DELIVERY_LATENCY_MS=latency_ms,
                DELIVERY_FAILURE_RATE=0,
                DELIVERY_LOG_LEVEL="warning",
            ),
            f"gunicorn-{latency_ms}ms.log",
        )
        url = f"http://127.0.0.1:{port}"
        try:
            process.wait_until_answers(f"{url}/health", timeout_s=30, interval_s=0.1)
            yield url
        finally:
            self._stop(process)

    def start_dispatchers(self, count: int, service_url: str) -> list[Process]:
        """`count` dispatchers, each in a CPU-capped cgroup of its own when `cpu_cap` is set
        (call `release_caps` once they have stopped)."""
        workers = [
            self._start(
                [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
                self.base_env(DELIVERY_SERVICE_URL=service_url, **self.worker_env),
                f"worker-{i}.log",
            )
            for i in range(count)
        ]
        if self.cpu_cap:
            quotas = cpu_quota.CpuQuotas(self.cpu_cap, f"delivery-bench-{os.getpid()}")
            self.quotas.append(quotas)
            for worker in workers:
                quotas.cap(worker.pid)
        return workers

    def release_caps(self) -> None:
        """Delete the cgroups of dispatchers that have exited."""
        for quotas in self.quotas:
            quotas.remove()
        self.quotas.clear()

    def throughput(self, service: str, latency_ms: int, procs: int, count: int) -> Run:
        """Deliveries/s of `count` notifications inserted at once, and exactly-once checks."""
        run = Run(latency_ms, procs, count, cpu_cap=self.cpu_cap)
        connection = self.db.connect()
        try:
            reset(connection, self.users)
            requests.post(
                f"{service}/stats/reset", headers=DELIVERY_AUTH, timeout=5
            ).raise_for_status()
            insert_bulk(connection, self.users, count)
            workers = self.start_dispatchers(procs, service)
            with RssSampler(workers) as rss:
                wait_all_done(connection, count, timeout=300)
                time.sleep(0.5)  # one more RSS sample at the end of the run
            for worker in workers:
                self._stop(worker)
            self.release_caps()
            with connection, connection.cursor() as cursor:
                cursor.execute(
                    "SELECT (SELECT min(started_at) FROM delivery_attempts),"
                    " (SELECT max(sent_at) FROM notifications),"
                    " (SELECT count(*) FROM notifications WHERE status = 'sent')"
                )
                first, last, sent = cursor.fetchone()
            run.seconds = (last - first).total_seconds()
            run.per_s = sent / run.seconds
            run.stats = requests.get(f"{service}/stats", headers=DELIVERY_AUTH, timeout=5).json()
            run.exactly_once = sent == count and run.stats == {
                "sent": count,
                "replays": 0,
                "requests": count,
            }
            run.rss_mb = rss.peak_mb
        finally:
            connection.close()
        return run

    def create_to_sent(self, service: str, run: Run, rate: float, seconds: float) -> None:
        """Steady trickle while the dispatchers idle on LISTEN: one transaction + NOTIFY each."""
        connection = self.db.connect()
        try:
            reset(connection, self.users)
            workers = self.start_dispatchers(run.procs, service)
            time.sleep(3)  # started, connected, LISTENing, idle
            total = int(rate * seconds)
            started = time.monotonic()
            with RssSampler(workers) as rss:
                for i in range(total):
                    delay = started + i / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    now = datetime.now(UTC)
                    with connection, connection.cursor() as cursor:
                        psycopg2.extras.execute_values(
                            cursor, INSERT, [row(self.users[i % len(self.users)], i, now)]
                        )
                        cursor.execute("NOTIFY notifier_due")
                wait_all_done(connection, total, timeout=60)
            for worker in workers:
                self._stop(worker)
            self.release_caps()
            with connection, connection.cursor() as cursor:
                cursor.execute(
                    "SELECT extract(epoch FROM sent_at - created_at) * 1000 FROM notifications"
                    " WHERE status = 'sent'"
                )
                latencies = [float(record[0]) for record in cursor.fetchall()]
            run.samples = len(latencies)
            run.p50_ms = percentile(latencies, 50)
            run.p99_ms = percentile(latencies, 99)
            run.max_ms = max(latencies)
            run.rss_mb = max(run.rss_mb, rss.peak_mb)
        finally:
            connection.close()
