"""Benchmark the dispatcher against the real delivery service, on PostgreSQL.

    .venv/bin/python bench/delivery_bench.py
    .venv/bin/python bench/delivery_bench.py --count 1000 --latencies 200 --procs 1

Steps: (re)create the database `notifier_delivery_bench` and migrate it with
`flask --app wsgi db upgrade`. For each simulated provider latency
(`DELIVERY_LATENCY_MS`, default 0 and 200 ms), start the delivery service under
gunicorn (gevent) on a free 127.0.0.1 port, then for each number of dispatcher
processes (default 1 and 2):

- **throughput**: insert N due notifications in bulk (default 3000), start the
  dispatchers (`flask --app wsgi worker`), and measure deliveries/s from the
  first claim (earliest attempt start) to the last `sent_at`; check that the
  delivery service saw exactly N requests and N distinct keys sent;
- **latency**: with the dispatchers idle (waiting on LISTEN), insert
  notifications one transaction each (with `NOTIFY`, as the API does) at a
  steady rate (default 50/s for 10 s) and measure `sent_at - created_at`.

The dispatchers' resident memory (VmRSS, sampled every 0.2 s) is reported as the
highest seen. The Markdown table goes to stdout and bench/results/delivery.md.
Whatever happens, every process started here is stopped by its PID and the
database is dropped.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
import psycopg2.extensions
import psycopg2.extras
import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = REPO_ROOT / "bench" / "results" / "delivery.md"
# Process logs go to a temporary directory, deleted after a successful run.
LOG_DIR = Path(tempfile.gettempdir()) / f"delivery-bench-{os.getpid()}"
DB_NAME = "notifier_delivery_bench"
PG = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
DATABASE_URL = f"{PG}/{DB_NAME}"
JWT_SECRET = secrets.token_urlsafe(48)  # the dispatchers sign nothing; the app wants one
USERS = 100

TARGETS = {
    "throughput_200ms_1_proc": 100.0,  # deliveries/s
    "scaling_200ms_2_procs": 1.8,  # x one process
    "p50_slack_ms": 50.0,  # create->sent p50 <= latency + this
    "rss_mb": 120.0,
}

_processes: list[subprocess.Popen] = []


# --- processes ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def spawn(args: list[str], env: dict[str, str], log_name: str) -> subprocess.Popen:
    LOG_DIR.mkdir(exist_ok=True)
    log = open(LOG_DIR / log_name, "ab")  # noqa: SIM115 (the child owns it; closed at exit)
    process = subprocess.Popen(args, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    _processes.append(process)
    return process


def stop(process: subprocess.Popen, grace: float = 15.0) -> None:
    """SIGTERM this process (by its PID), SIGKILL after `grace` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    if process in _processes:
        _processes.remove(process)


def base_env(**extra: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DELIVERY_", "FLASK_"))}
    env |= {"DATABASE_URL": DATABASE_URL, "JWT_SECRET_KEY": JWT_SECRET}
    env |= {key: str(value) for key, value in extra.items()}
    return env


@contextlib.contextmanager
def delivery_service(latency_ms: int) -> Iterator[str]:
    """The real delivery service under gunicorn (gevent), on a free loopback port."""
    port = free_port()
    process = spawn(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "delivery/gunicorn.conf.py",
            "delivery:create_app()",
        ],
        base_env(
            DELIVERY_BIND=f"127.0.0.1:{port}",
            DELIVERY_LATENCY_MS=latency_ms,
            DELIVERY_FAILURE_RATE=0,
            DELIVERY_LOG_LEVEL="warning",
        ),
        f"gunicorn-{latency_ms}ms.log",
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}")
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{url}/health", timeout=1).ok:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the delivery service did not start")
            time.sleep(0.1)
        yield url
    finally:
        stop(process)


def start_dispatchers(count: int, service_url: str, worker_env: dict[str, str]) -> list:
    return [
        spawn(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
            base_env(DELIVERY_SERVICE_URL=service_url, **worker_env),
            f"worker-{i}.log",
        )
        for i in range(count)
    ]


class RssSampler:
    """Samples VmRSS of some processes every 0.2 s; keeps the highest (MB)."""

    def __init__(self, processes: list[subprocess.Popen]) -> None:
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
                with contextlib.suppress(OSError):
                    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            self.peak_mb = max(self.peak_mb, int(line.split()[1]) / 1024)


# --- database ---------------------------------------------------------------------------


def admin_execute(sql: str) -> None:
    connection = psycopg2.connect(f"{PG}/postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


def create_database() -> None:
    admin_execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    admin_execute(f"CREATE DATABASE {DB_NAME}")
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=REPO_ROOT,
        env=base_env(),
        check=True,
        capture_output=True,
    )


def drop_database() -> None:
    admin_execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def connect() -> psycopg2.extensions.connection:
    return psycopg2.connect(DATABASE_URL)


def reset(connection, user_ids: list[int] | None = None) -> list[int]:
    """Empty the queue (and the per-user counters the triggers keep); make users once."""
    with connection, connection.cursor() as cursor:
        cursor.execute("TRUNCATE notifications, notification_counts CASCADE")
        if user_ids:
            return user_ids
        now = datetime.now(UTC)
        rows = psycopg2.extras.execute_values(
            cursor,
            "INSERT INTO users (name, email, password_hash, created_at, updated_at)"
            " VALUES %s RETURNING id",
            [(f"Bench {i}", f"bench{i}@example.com", "x", now, now) for i in range(USERS)],
            fetch=True,
        )
        return [row[0] for row in rows]


def _row(user_id: int, i: int, now: datetime) -> tuple:
    return (
        user_id,
        f"Bench {i}",
        "Hello from the delivery benchmark.",
        "email",
        f"person{i}@example.com",
        "pending",
        0,
        1,
        uuid.uuid4().hex,
        now,
        now,
        now,
    )


INSERT = (
    "INSERT INTO notifications (user_id, title, content, channel, target, status, attempts,"
    " version, delivery_key, next_attempt_at, created_at, updated_at) VALUES %s"
)


def insert_bulk(connection, user_ids: list[int], count: int) -> None:
    now = datetime.now(UTC)
    rows = [_row(user_ids[i % len(user_ids)], i, now) for i in range(count)]
    with connection, connection.cursor() as cursor:
        psycopg2.extras.execute_values(cursor, INSERT, rows, page_size=1000)


def scalar(connection, sql: str):
    with connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def wait_all_done(connection, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = scalar(
            connection, "SELECT count(*) FROM notifications WHERE status IN ('sent','failed')"
        )
        if done >= count:
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out: {done}/{count} done after {timeout} s")


# --- measurements -------------------------------------------------------------------------


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


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def throughput(
    service: str, latency_ms: int, procs: int, count: int, users: list[int], env: dict
) -> Run:
    run = Run(latency_ms, procs, count)
    connection = connect()
    try:
        reset(connection, users)
        requests.post(f"{service}/stats/reset", timeout=5).raise_for_status()
        insert_bulk(connection, users, count)
        workers = start_dispatchers(procs, service, env)
        with RssSampler(workers) as rss:
            wait_all_done(connection, count, timeout=300)
            time.sleep(0.5)  # one more RSS sample at the end of the run
        for worker in workers:
            stop(worker)
        with connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT min(started_at) FROM delivery_attempts),"
                " (SELECT max(sent_at) FROM notifications),"
                " (SELECT count(*) FROM notifications WHERE status = 'sent')"
            )
            first, last, sent = cursor.fetchone()
        run.seconds = (last - first).total_seconds()
        run.per_s = sent / run.seconds
        run.stats = requests.get(f"{service}/stats", timeout=5).json()
        run.exactly_once = sent == count and run.stats == {
            "sent": count,
            "replays": 0,
            "requests": count,
        }
        run.rss_mb = rss.peak_mb
    finally:
        connection.close()
    return run


def create_to_sent(
    service: str, run: Run, users: list[int], env: dict, rate: float, seconds: float
) -> None:
    """Steady trickle while the dispatchers idle on LISTEN: one transaction + NOTIFY each."""
    connection = connect()
    try:
        reset(connection, users)
        workers = start_dispatchers(run.procs, service, env)
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
                        cursor, INSERT, [_row(users[i % len(users)], i, now)]
                    )
                    cursor.execute("NOTIFY notifier_due")
            wait_all_done(connection, total, timeout=60)
        for worker in workers:
            stop(worker)
        with connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT extract(epoch FROM sent_at - created_at) * 1000 FROM notifications"
                " WHERE status = 'sent'"
            )
            latencies = [float(row[0]) for row in cursor.fetchall()]
        run.samples = len(latencies)
        run.p50_ms = percentile(latencies, 50)
        run.p99_ms = percentile(latencies, 99)
        run.max_ms = max(latencies)
        run.rss_mb = max(run.rss_mb, rss.peak_mb)
    finally:
        connection.close()


# --- report ---------------------------------------------------------------------------------


def table(runs: list[Run], env: dict) -> str:
    lines = [
        "# Dispatcher delivery benchmark",
        "",
        f"{datetime.now(UTC).isoformat(timespec='seconds')} on {platform.node()}: "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, PostgreSQL, delivery "
        "service under gunicorn (1 gevent worker). Dispatcher settings: "
        + ", ".join(f"{k}={v}" for k, v in sorted(env.items()))
        + " (unset ones at their defaults).",
        "",
        "deliveries/s: the median of the repeats (each repeat in brackets), from the first "
        "claim to the last `sent_at`. create->sent: a steady trickle of single inserts "
        "(with NOTIFY) while the dispatchers idle. Load: the host's 1-minute load average "
        "just before the setup's first repeat; it includes this bench's own previous runs, "
        "so only the first row shows whether something else was running (above ~0.5).",
        "",
        "| provider latency | dispatchers | notifications | deliveries/s | first claim to "
        "last sent | exactly once | create->sent p50 | p99 | max | dispatcher RSS (peak) "
        "| load |",
        "|---:|---:|---:|---:|---:|:---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        lat = (
            f"{run.p50_ms:.0f} ms | {run.p99_ms:.0f} ms | {run.max_ms:.0f} ms"
            if run.p50_ms is not None
            else "- | - | -"
        )
        lines.append(
            f"| {run.latency_ms} ms | {run.procs} | {run.count} | {run.per_s:.0f} "
            f"({', '.join(f'{x:.0f}' for x in run.repeats)}) | "
            f"{run.seconds:.2f} s | {'yes' if run.exactly_once else 'NO ' + str(run.stats)} | "
            f"{lat} | {run.rss_mb:.0f} MB | {run.load:.2f} |"
        )
    lines += ["", "Targets:", ""]
    by = {(r.latency_ms, r.procs): r for r in runs}
    one, two = by.get((200, 1)), by.get((200, 2))
    if one:
        ok = one.per_s >= TARGETS["throughput_200ms_1_proc"]
        lines.append(
            f"- 200 ms, one process >= 100/s: {one.per_s:.0f}/s {'met' if ok else 'MISSED'}"
        )
    if one and two:
        ratio = two.per_s / one.per_s
        ok = ratio >= TARGETS["scaling_200ms_2_procs"]
        lines.append(f"- two processes >= 1.8x one: {ratio:.2f}x {'met' if ok else 'MISSED'}")
    for run in runs:
        if run.p50_ms is not None:
            limit = run.latency_ms + TARGETS["p50_slack_ms"]
            ok = run.p50_ms <= limit
            lines.append(
                f"- create->sent p50 <= latency + 50 ms ({run.latency_ms} ms, {run.procs} "
                f"proc): {run.p50_ms:.0f} ms <= {limit:.0f} ms {'met' if ok else 'MISSED'}"
            )
    peak = max((r.rss_mb for r in runs), default=0)
    ok = peak <= TARGETS["rss_mb"]
    lines.append(f"- dispatcher RSS <= 120 MB: peak {peak:.0f} MB {'met' if ok else 'MISSED'}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--latencies", default="0,200", help="DELIVERY_LATENCY_MS values")
    parser.add_argument("--procs", default="1,2", help="numbers of dispatcher processes")
    parser.add_argument("--rate", type=float, default=50.0, help="creates/s in the latency run")
    parser.add_argument("--rate-seconds", type=float, default=10.0)
    parser.add_argument("--no-latency-run", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="throughput runs per setup")
    parser.add_argument("--concurrency", type=int, help="DELIVERY_CONCURRENCY")
    parser.add_argument("--batch-size", type=int, help="DELIVERY_BATCH_SIZE")
    args = parser.parse_args()

    env: dict[str, str] = {"DELIVERY_POLL_INTERVAL_S": "1", "LOG_LEVEL": "WARNING"}
    if args.concurrency:
        env["DELIVERY_CONCURRENCY"] = str(args.concurrency)
    if args.batch_size:
        env["DELIVERY_BATCH_SIZE"] = str(args.batch_size)
    runs: list[Run] = []
    succeeded = False
    # Two runs at once would drop each other's database: a session-level advisory lock
    # on the server (released when this connection closes) lets only one run.
    lock = psycopg2.connect(f"{PG}/postgres")
    lock.autocommit = True
    with lock.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (DB_NAME,))
        if not cursor.fetchone()[0]:
            print("another delivery_bench.py is running; try again later", file=sys.stderr)
            return 1
    if load_average() > 0.5:
        print(f"warning: load average {load_average():.2f}; figures will be noisy", file=sys.stderr)
    try:
        create_database()
        connection = connect()
        users = reset(connection)
        connection.close()
        for latency in [int(x) for x in args.latencies.split(",")]:
            with delivery_service(latency) as service:
                for procs in [int(x) for x in args.procs.split(",")]:
                    load = load_average()
                    repeats = []
                    for i in range(args.repeat):
                        print(
                            f"latency {latency} ms, {procs} dispatcher(s), run {i + 1}...",
                            file=sys.stderr,
                        )
                        repeats.append(throughput(service, latency, procs, args.count, users, env))
                    run = sorted(repeats, key=lambda r: r.per_s)[len(repeats) // 2]
                    run.repeats = [r.per_s for r in repeats]
                    run.exactly_once = all(r.exactly_once for r in repeats)
                    run.rss_mb = max(r.rss_mb for r in repeats)
                    run.load = load
                    if not args.no_latency_run:
                        create_to_sent(service, run, users, env, args.rate, args.rate_seconds)
                    runs.append(run)
        succeeded = True
    finally:
        for process in list(_processes):
            stop(process)
        drop_database()
        lock.close()
        if succeeded:
            shutil.rmtree(LOG_DIR, ignore_errors=True)
        else:
            print(f"failed; process logs are in {LOG_DIR}", file=sys.stderr)
    report = table(runs, env)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
