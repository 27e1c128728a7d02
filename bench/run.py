"""Benchmark our API against the floor app, scenario by scenario, on this machine.

    .venv/bin/python bench/run.py                 # every scenario, wrk -t2 -c32 -d10s
    .venv/bin/python bench/run.py --quick         # a short smoke run
    .venv/bin/python bench/run.py --scenarios get,list_100,list_100k
    .venv/bin/python bench/run.py --floor-only    # harness check: floor app, provisional schema

Steps: (re)create the database `notifier_bench`, migrate it with `flask db upgrade`, start
our API (`gunicorn wsgi:app`) and the floor app (`bench.floor_app:create_app()`) with the
same gunicorn config, create users and rows, run wrk per scenario against both, and write a
Markdown table to bench/results/latest.md (and stdout). Whatever happens, both gunicorns
are stopped by PID and the database is dropped.

A scenario is one entry of SCENARIOS: a pair of wrk runs (ours, floor) by default, or any
callable `run(ctx, scenario) -> ScenarioResult` for measurements that are not a request
loop (the dispatcher's delivery throughput, for instance).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import psycopg2
import psycopg2.extensions
import requests
from argon2 import PasswordHasher

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench import floor_app  # noqa: E402 - needs REPO_ROOT on sys.path

BENCH_DIR = REPO_ROOT / "bench"
SCRIPTS_DIR = BENCH_DIR / "scripts"
RESULTS_DIR = BENCH_DIR / "results"
VENV_BIN = REPO_ROOT / ".venv" / "bin"
GUNICORN_CONF = REPO_ROOT / "gunicorn.conf.py"

DB_NAME = "notifier_bench"
PG = "postgresql://postgres@127.0.0.1:5432"
ADMIN_DSN = f"{PG}/postgres"  # only for CREATE/DROP DATABASE notifier_bench
BENCH_DSN = f"{PG}/{DB_NAME}"
LOGIN_RATE_LIMIT = "1000000 per minute"
FALLBACK_GUNICORN_ARGS = ["-w", "4", "-k", "sync"]

LIST_SMALL = 100
LIST_LARGE = 100_000
LOGIN_POOL = 4
RSS_LIMIT_MIB = 80.0
NOISY_CORES = 0.3  # other processes using more than this during a run: say so


# --------------------------------------------------------------------------- processes


@dataclass
class Proc:
    """A process this run started; stopped by PID (and its own process group) at the end."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class ProcessManager:
    """Starts processes in their own session and stops every one of them, newest first."""

    def __init__(self) -> None:
        self._procs: list[Proc] = []

    def start(
        self, name: str, argv: list[str], env: Mapping[str, str], log_path: Path | None = None
    ) -> Proc:
        log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            popen = subprocess.Popen(
                argv,
                cwd=REPO_ROOT,
                env=dict(env),
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own session: a Ctrl-C in the terminal reaches only run.py, whose finally
                # block then stops everything in order; and the group can be killed whole.
                start_new_session=True,
            )
        finally:
            if log_path:
                log.close()  # type: ignore[union-attr]
        proc = Proc(name, popen, log_path)
        self._procs.append(proc)
        return proc

    def stop(self, proc: Proc, grace_s: float = 10.0) -> None:
        """SIGTERM the process, SIGKILL its process group if it is still there after grace_s."""
        if proc.popen.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGTERM)
                proc.popen.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                print(f"  {proc.name} (pid {proc.pid}) ignored SIGTERM; SIGKILL", file=sys.stderr)
            except ProcessLookupError:
                pass
        # The group is ours (start_new_session): it holds the master and its workers only.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.popen.wait(timeout=5)
        if proc in self._procs:
            self._procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self._procs)):
            self.stop(proc)


def child_pids(pid: int) -> list[int]:
    """PIDs whose parent is pid (gunicorn's workers), from /proc/*/stat."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # Field 4 is the parent PID; the command (field 2) may hold spaces and parentheses.
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def memory_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of pid in MiB."""
    values = {"VmRSS": 0.0, "VmHWM": 0.0}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in values:
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def cpu_seconds(pids: list[int], reaped_children_of: int | None = None) -> float:
    """User + system CPU time consumed so far by pids (vanished pids count 0).

    For reaped_children_of (a gunicorn master), also the CPU of its children that have
    exited (workers recycled by max_requests), so that a worker dying mid-run is no loss.
    """
    ticks = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
        if pid == reaped_children_of:
            ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    """One gunicorn master serving on 127.0.0.1."""

    name: str
    proc: Proc
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
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.popen.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.popen.returncode} before /health "
                    f"answered; log tail:\n{self.proc.log_tail()}"
                )
            try:
                if requests.get(f"{self.base_url}/health", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name}: no 200 from /health in {timeout_s:.0f}s")


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
    argv = [str(VENV_BIN / "gunicorn"), *settings, "--print-config", "bench.floor_app:create_app()"]
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


# --------------------------------------------------------------------------- database


class Database:
    """The bench database: created empty at the start, dropped at the end."""

    dsn = BENCH_DSN

    @staticmethod
    def _admin(sql: str) -> None:
        conn = psycopg2.connect(ADMIN_DSN)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    def recreate(self) -> None:
        self.drop()
        self._admin(f"CREATE DATABASE {DB_NAME}")

    def drop(self) -> None:
        # WITH (FORCE) ends sessions left by a crashed worker (PostgreSQL 13+).
        self._admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")

    def connect(self) -> psycopg2.extensions.connection:
        return psycopg2.connect(self.dsn, options="-c timezone=UTC")

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = self.connect()
        try:
            with conn, conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()


PROVISIONAL_SCHEMA = """
CREATE TABLE users (
    id serial PRIMARY KEY,
    name varchar(100) NOT NULL,
    email varchar(320) NOT NULL UNIQUE,
    password_hash varchar(255) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE notifications (
    id bigserial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title varchar(200) NOT NULL,
    content text NOT NULL,
    channel varchar(10) NOT NULL,
    target varchar(4096) NOT NULL,
    status varchar(10) NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    scheduled_at timestamptz,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    sent_at timestamptz,
    error_message text,
    provider_message_id varchar(255),
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_notifications_user_created ON notifications (user_id, created_at DESC, id DESC);
CREATE INDEX ix_notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
"""


# --------------------------------------------------------------------------- wrk


@dataclass(frozen=True)
class WrkOptions:
    threads: int
    connections: int
    duration_s: int
    timeout_s: int
    warmup_s: int

    def flags(self, duration_s: int) -> list[str]:
        return [
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{duration_s}s",
            f"--timeout={self.timeout_s}s",
        ]

    def describe(self) -> str:
        flags = " ".join(self.flags(self.duration_s))
        return f"wrk {flags} (after a {self.warmup_s}s warm-up)"


@dataclass
class Measurement:
    """One measured load: throughput, latency and what went wrong."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int = 0
    non_2xx: int = 0
    socket_errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    # CPU (in cores) used during the run by processes that are not part of the benchmark:
    # the machine is shared, and a busy neighbour shows up here rather than silently.
    background_cores: float | None = None
    # CPU per request: the server's gunicorn processes, and its PostgreSQL sessions.
    app_cpu_ms: float | None = None
    db_cpu_ms: float | None = None
    rps_runs: list[float] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.non_2xx == 0 and self.socket_errors == 0

    @classmethod
    def median_of(cls, runs: list[Measurement]) -> Measurement:
        """Medians of rps and latencies over repeated runs; counts summed."""

        def median(values: list[float]) -> float:
            ordered = sorted(values)
            mid = len(ordered) // 2
            return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2

        statuses: Counter[str] = Counter()
        for run in runs:
            statuses.update(run.statuses)
        background = [r.background_cores for r in runs if r.background_cores is not None]
        app_cpu = [r.app_cpu_ms for r in runs if r.app_cpu_ms is not None]
        db_cpu = [r.db_cpu_ms for r in runs if r.db_cpu_ms is not None]
        return cls(
            rps=median([r.rps for r in runs]),
            p50_ms=median([r.p50_ms for r in runs]),
            p99_ms=median([r.p99_ms for r in runs]),
            requests=sum(r.requests for r in runs),
            non_2xx=sum(r.non_2xx for r in runs),
            socket_errors=sum(r.socket_errors for r in runs),
            statuses=dict(statuses),
            background_cores=max(background) if background else None,
            app_cpu_ms=median(app_cpu) if app_cpu else None,
            db_cpu_ms=median(db_cpu) if db_cpu else None,
            rps_runs=[round(r.rps, 1) for r in runs],
        )

    @classmethod
    def from_wrk(cls, data: Mapping[str, Any]) -> Measurement:
        statuses = {str(k): int(v) for k, v in data.get("statuses", {}).items()}
        errors = data["errors"]
        # wrk's errors.status counts only >= 400; a 1xx or 3xx is just as wrong here.
        non_2xx = sum(n for code, n in statuses.items() if not code.startswith("2"))
        return cls(
            rps=float(data["rps"]),
            p50_ms=data["p50_us"] / 1000,
            p99_ms=data["p99_us"] / 1000,
            requests=int(data["requests"]),
            non_2xx=max(non_2xx, int(errors["status"])),
            socket_errors=sum(int(errors[k]) for k in ("connect", "read", "write", "timeout")),
            statuses=statuses,
        )


def machine_busy_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def wait_for_quiet(max_wait_s: float, threshold_cores: float = 0.25) -> float:
    """Wait (up to max_wait_s) until the machine is idle while our servers are; busy cores."""
    deadline = time.monotonic() + max_wait_s
    while True:
        busy0, total0 = machine_busy_ticks()
        time.sleep(1)
        busy1, total1 = machine_busy_ticks()
        cores = (os.cpu_count() or 1) * (busy1 - busy0) / max(total1 - total0, 1)
        if cores < threshold_cores or time.monotonic() >= deadline:
            return cores


def parent_pid(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(text[text.rindex(")") + 2 :].split()[1])


def housekeeping_pids(postmaster: int) -> list[int]:
    """PostgreSQL's own processes: children of the postmaster that serve no client
    (a client backend's title holds its address, `host(port)` or `[local]`)."""
    pids = []
    for pid in child_pids(postmaster):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "(" not in title and "[local]" not in title:
            pids.append(pid)
    return pids


def pid_cpu_seconds(pid: int) -> float | None:
    """CPU seconds used so far by pid, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class DbCpuTracker:
    """CPU used by each server's PostgreSQL sessions during a run.

    Sessions are found by application_name (PGAPPNAME) and sampled twice a second, so a
    session that ends mid-run (a recycled worker's pool) still counts up to its last
    sample, and one that starts mid-run counts from zero. PostgreSQL's own processes
    (WAL writer, checkpointer, autovacuum: work our writes cause) count under HOUSEKEEPING.
    """

    HOUSEKEEPING = "postgres housekeeping"

    def __init__(self, ctx: Context) -> None:
        self._names = {s.pg_application_name: s.name for s in ctx.servers()}
        self._conn = ctx.db.connect()
        self._conn.autocommit = True
        # The postmaster is the parent of our own session's backend.
        with self._conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            (backend,) = cur.fetchone() or (0,)
        self._postmaster = parent_pid(backend)
        self._first: dict[int, float] = {}
        self._last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.seen: set[str] = set()

    def _sample(self, baseline: bool) -> None:
        with self._conn.cursor() as cur:
            cur.execute(
                "SELECT application_name, pid FROM pg_stat_activity WHERE datname = %s",
                (DB_NAME,),
            )
            rows = cur.fetchall()
        tracked = [(self._names.get(app_name), pid) for app_name, pid in rows]
        if self._postmaster:
            tracked += [(self.HOUSEKEEPING, pid) for pid in housekeeping_pids(self._postmaster)]
        for server, pid in tracked:
            cpu = pid_cpu_seconds(pid) if server else None
            if server is None or cpu is None:
                continue
            self.seen.add(server)
            self._first.setdefault(pid, cpu if baseline else 0.0)
            self._last[pid] = (server, cpu)

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            self._sample(baseline=False)

    def __enter__(self) -> DbCpuTracker:
        self._sample(baseline=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample(baseline=False)
        self._conn.close()

    def used(self) -> dict[str, float]:
        """CPU seconds per server name over the run."""
        totals = dict.fromkeys([*self._names.values(), self.HOUSEKEEPING], 0.0)
        for pid, (server, cpu) in self._last.items():
            totals[server] += max(cpu - self._first[pid], 0.0)
        return totals


def run_wrk(
    ctx: Context, server: Server, spec: WrkSpec, duration_s: int, label: str
) -> Measurement:
    """One wrk run of spec against server; raw output kept in bench/results/wrk-<label>.txt."""
    env = {**os.environ, **spec.env(ctx)}
    argv = [
        "wrk",
        *ctx.wrk.flags(duration_s),
        "-s",
        str(SCRIPTS_DIR / spec.script),
        f"{server.base_url}{spec.path}",
    ]
    hz = os.sysconf("SC_CLK_TCK")
    app_before = {s.name: s.app_cpu_seconds() for s in ctx.servers()}
    children_before = sum(os.times()[2:4])
    busy_before, total_before = machine_busy_ticks()
    with DbCpuTracker(ctx) as db_cpu:
        out = subprocess.run(
            argv,
            env=env,
            capture_output=True,
            text=True,
            timeout=duration_s + ctx.wrk.timeout_s + 60,
        )
    busy_after, total_after = machine_busy_ticks()
    children = sum(os.times()[2:4]) - children_before
    app = {s.name: s.app_cpu_seconds() - app_before[s.name] for s in ctx.servers()}
    db = db_cpu.used()
    housekeeping = db.pop(DbCpuTracker.HOUSEKEEPING)
    ctx.pg_sessions_seen |= db_cpu.seen
    (RESULTS_DIR / f"wrk-{label}.txt").write_text(" ".join(argv) + "\n" + out.stdout + out.stderr)
    server.drain()
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            m = Measurement.from_wrk(json.loads(line.removeprefix("BENCH_JSON ")))
            break
    else:
        raise RuntimeError(f"wrk gave no BENCH_JSON line ({label}):\n{out.stdout}\n{out.stderr}")

    if m.requests:
        m.app_cpu_ms = 1000 * app[server.name] / m.requests
        m.db_cpu_ms = 1000 * db[server.name] / m.requests
    # Busy time of all CPUs during the run minus what the benchmark itself used, in cores.
    bench_cpu = sum(app.values()) + sum(db.values()) + housekeeping + children
    wall = (total_after - total_before) / hz / (os.cpu_count() or 1)
    busy = (busy_after - busy_before) / hz
    m.background_cores = max(busy - bench_cpu, 0.0) / wall if wall > 0 else None
    return m


# --------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class BenchUser:
    id: int
    email: str
    password: str
    token: str


def _no_env(ctx: Context) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class WrkSpec:
    """What wrk sends: a script in bench/scripts, the URL path, and the script's env."""

    script: str
    path: str
    env: Callable[[Context], dict[str, str]] = _no_env


@dataclass
class ScenarioResult:
    ours: Measurement | None = None
    floor: Measurement | None = None
    error: str | None = None

    def ratio(self, attr: str) -> float | None:
        if self.ours is None or self.floor is None:
            return None
        floor_value = getattr(self.floor, attr)
        return getattr(self.ours, attr) / floor_value if floor_value else None

    def cpu_ratio(self) -> float | None:
        """CPU per request (app + database), ours / floor."""
        if self.ours is None or self.floor is None or not self.floor.app_cpu_ms:
            return None
        if self.ours.app_cpu_ms is None:
            return None
        ours = self.ours.app_cpu_ms + (self.ours.db_cpu_ms or 0)
        return ours / (self.floor.app_cpu_ms + (self.floor.db_cpu_ms or 0))


Check = Callable[[ScenarioResult, Mapping[str, ScenarioResult]], bool | None]


@dataclass(frozen=True)
class Target:
    """A goal printed next to a scenario: label for the table, check -> PASS/FAIL/None."""

    label: str
    check: Check
    # The same goal judged on CPU per request, which a busy neighbour hardly moves.
    cpu_check: Callable[[ScenarioResult], bool | None] | None = None


@dataclass(frozen=True)
class Scenario:
    """One row of the table. Add a scenario by adding an entry to SCENARIOS.

    By default it is a pair of wrk runs (`ours`, `floor`) after `prepare`; give `run` for
    anything else, e.g. a delivery scenario that starts `flask --app wsgi worker` and the
    delivery service with `ctx.procs.start(...)`, fills the table with notifications and
    returns ScenarioResult(ours=Measurement(rps=delivered_per_s, p50_ms=..., p99_ms=...)).
    """

    name: str
    measures: str
    ours: WrkSpec | None = None
    floor: WrkSpec | None = None
    prepare: Callable[[Context], None] | None = None
    targets: tuple[Target, ...] = ()
    run: Callable[[Context, Scenario], ScenarioResult] | None = None


def rps_at_least(factor: float) -> Target:
    def check(r: ScenarioResult, _: Mapping[str, ScenarioResult]) -> bool | None:
        ratio = r.ratio("rps")
        return None if ratio is None else ratio >= factor

    def cpu_check(r: ScenarioResult) -> bool | None:
        ratio = r.cpu_ratio()
        return None if ratio is None else ratio <= 1 / factor

    return Target(f"rps ≥ {factor:g}x floor", check, cpu_check)


def p99_at_most(factor: float) -> Target:
    def check(r: ScenarioResult, _: Mapping[str, ScenarioResult]) -> bool | None:
        ratio = r.ratio("p99_ms")
        return None if ratio is None else ratio <= factor

    return Target(f"p99 ≤ {factor:g}x floor", check)


def p99_vs_scenario(other: str, factor: float) -> Target:
    def check(r: ScenarioResult, results: Mapping[str, ScenarioResult]) -> bool | None:
        base = results.get(other)
        if r.ours is None or base is None or base.ours is None or not base.ours.p99_ms:
            return None
        return r.ours.p99_ms / base.ours.p99_ms <= factor

    return Target(f"ours p99 ≤ {factor:g}x {other} p99", check)


@dataclass
class Context:
    """Everything a scenario needs: servers, users, ids, options, and the process manager."""

    args: argparse.Namespace
    wrk: WrkOptions
    db: Database
    procs: ProcessManager
    secret: str
    schema: floor_app.FloorSchema | None = None
    ours: Server | None = None
    floor: Server | None = None
    users: dict[str, BenchUser] = field(default_factory=dict)
    # (scenario, server name, pid, VmRSS MiB, VmHWM MiB), taken after each scenario
    rss: list[tuple[str, str, int, float, float]] = field(default_factory=list)
    # servers whose PostgreSQL sessions were found by application_name (PGAPPNAME)
    pg_sessions_seen: set[str] = field(default_factory=set)
    ids: dict[str, list[int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    http: requests.Session = field(default_factory=requests.Session)

    @property
    def primary(self) -> Server:
        """The server that creates data: ours, or the floor in --floor-only runs."""
        server = self.ours or self.floor
        assert server is not None
        return server

    def servers(self) -> list[Server]:
        return [s for s in (self.ours, self.floor) if s is not None]

    def user(self, role: str) -> BenchUser:
        """A user for one role, created on first use (through our API when it runs)."""
        if role not in self.users:
            email = f"bench-{role}-{secrets.token_hex(3)}@example.com"
            password = f"bench-pw-{secrets.token_hex(8)}"
            make = self._user_via_api if self.ours else self._user_via_sql
            self.users[role] = make(role, email, password)
        return self.users[role]

    def _user_via_api(self, role: str, email: str, password: str) -> BenchUser:
        base = self.primary.base_url
        r = self.http.post(
            f"{base}/users",
            json={"name": f"Bench {role}", "email": email, "password": password},
            timeout=30,
        )
        expect(r, 201, "POST /users")
        user_id = int(r.json()["id"])
        r = self.http.post(
            f"{base}/auth/login", json={"email": email, "password": password}, timeout=30
        )
        expect(r, 200, "POST /auth/login")
        return BenchUser(user_id, email, password, r.json()["access_token"])

    def _user_via_sql(self, role: str, email: str, password: str) -> BenchUser:
        # Nobody verifies these passwords (the floor's /hash uses its own), so hash cheaply.
        pw_hash = PasswordHasher(time_cost=1, memory_cost=64).hash(password)
        ((user_id,),) = self.db.execute(
            "INSERT INTO users (name, email, password_hash) VALUES (%s, %s, %s) RETURNING id",
            (f"Bench {role}", email, pw_hash),
        )
        now = datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "type": "access",
            "fresh": False,
            "jti": secrets.token_hex(16),
            "iat": now,
            "nbf": now,
            "exp": now + timedelta(hours=2),
        }
        return BenchUser(user_id, email, password, jwt.encode(claims, self.secret, "HS256"))

    def smoke(self, method: str, path: str, token: str, body: Any, want: int) -> None:
        """One request per server before the load; a wrong answer becomes a note."""
        for server in self.servers():
            r = self.http.request(
                method,
                f"{server.base_url}{path}",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            if r.status_code != want:
                self.notes.append(
                    f"{server.name}: {method} {path} answered {r.status_code} (expected "
                    f"{want}): {r.text[:300]}"
                )


def expect(r: requests.Response, status: int, what: str) -> None:
    if r.status_code != status:
        raise RuntimeError(f"{what} answered {r.status_code}, expected {status}: {r.text[:500]}")


CREATE_BODY = {
    "title": "Benchmark notification",
    "content": "Hello from the benchmark set-up.",
    "channel": "email",
    "target": "bench.recipient@example.com",
}


def prepare_small_list(ctx: Context) -> None:
    """User 'list100' with exactly LIST_SMALL notifications, made through the API."""
    if "list100" in ctx.ids:
        return
    user = ctx.user("list100")
    ids = []
    for i in range(LIST_SMALL):
        r = ctx.http.post(
            f"{ctx.primary.base_url}/notifications",
            json={**CREATE_BODY, "title": f"Benchmark notification {i}"},
            headers={"Authorization": f"Bearer {user.token}"},
            timeout=30,
        )
        expect(r, 201, "POST /notifications")
        ids.append(int(r.json()["id"]))
    ctx.ids["list100"] = ids


def prepare_get(ctx: Context) -> None:
    prepare_small_list(ctx)
    user, nid = ctx.user("list100"), ctx.ids["list100"][0]
    ctx.smoke("GET", f"/notifications/{nid}", user.token, None, 200)


def prepare_patch(ctx: Context) -> None:
    prepare_small_list(ctx)
    user, nid = ctx.user("list100"), ctx.ids["list100"][0]
    ctx.smoke("PATCH", f"/notifications/{nid}", user.token, {"title": "Smoke"}, 200)


def prepare_list_small(ctx: Context) -> None:
    prepare_small_list(ctx)
    ctx.smoke("GET", "/notifications", ctx.user("list100").token, None, 200)


def prepare_list_large(ctx: Context) -> None:
    """User 'list100k' with LIST_LARGE rows from one INSERT ... SELECT generate_series."""
    user = ctx.user("list100k")
    assert ctx.schema is not None
    # One row a second back in time: distinct created_at, newest first = lowest g.
    age = "now() - g * interval '1 second'"
    sql = ctx.schema.insert_sql(
        {
            "user_id": "%s",
            "title": "'Bulk notification ' || g",
            "content": "'Bulk content number ' || g",
            "channel": "'email'",
            "target": "'bulk' || g || '@example.com'",
            "status": "'pending'",
            "attempts": "0",
            "next_attempt_at": age,
            "created_at": age,
            "updated_at": age,
        },
        select_from="generate_series(1, %s) AS g",
    )
    started = time.monotonic()
    ctx.db.execute(sql, (user.id, LIST_LARGE))
    # Fresh statistics, as autovacuum would give a table that grew over time.
    conn = ctx.db.connect()
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("ANALYZE notifications")
    finally:
        conn.close()
    ctx.notes.append(
        f"list_100k: {LIST_LARGE} rows inserted with SQL in {time.monotonic() - started:.1f}s, "
        "then ANALYZE."
    )
    ctx.smoke("GET", "/notifications", user.token, None, 200)


def prepare_create(ctx: Context) -> None:
    ctx.smoke("POST", "/notifications", ctx.user("create").token, CREATE_BODY, 201)


def prepare_login(ctx: Context) -> None:
    for i in range(LOGIN_POOL):
        ctx.user(f"login{i}")


def token_env(role: str) -> Callable[[Context], dict[str, str]]:
    return lambda ctx: {"BENCH_TOKEN": ctx.user(role).token}


def ids_env(role: str) -> Callable[[Context], dict[str, str]]:
    return lambda ctx: {
        "BENCH_TOKEN": ctx.user(role).token,
        "BENCH_IDS": ",".join(map(str, ctx.ids[role])),
    }


def login_env(ctx: Context) -> dict[str, str]:
    pool = [ctx.user(f"login{i}") for i in range(LOGIN_POOL)]
    return {"BENCH_LOGIN_USERS": ",".join(f"{u.email}:{u.password}" for u in pool)}


# Order matters: login last (it is CPU-bound and leaves argon2's 64 MiB behind in the
# allocator, if anything does), create after the lists (separate users anyway).
SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            name="empty",
            measures="GET /health (ours) vs GET /empty (floor): Flask + gunicorn, no I/O",
            ours=WrkSpec("empty.lua", "/health"),
            floor=WrkSpec("empty.lua", "/empty"),
        ),
        Scenario(
            name="get",
            measures="GET /notifications/<id>, cycling over the 100 ids of one user",
            ours=WrkSpec("get.lua", "/notifications", ids_env("list100")),
            floor=WrkSpec("get.lua", "/notifications", ids_env("list100")),
            prepare=prepare_get,
            targets=(rps_at_least(0.6),),
        ),
        Scenario(
            name="list_100",
            measures="GET /notifications (page 1 of 20) for a user with 100 rows",
            ours=WrkSpec("list.lua", "/notifications", token_env("list100")),
            floor=WrkSpec("list.lua", "/notifications", token_env("list100")),
            prepare=prepare_list_small,
            targets=(rps_at_least(0.5),),
        ),
        Scenario(
            name="list_100k",
            measures="GET /notifications (page 1 of 20) for a user with 100 000 rows",
            ours=WrkSpec("list.lua", "/notifications", token_env("list100k")),
            floor=WrkSpec("list.lua", "/notifications", token_env("list100k")),
            prepare=prepare_list_large,
            targets=(rps_at_least(0.5), p99_vs_scenario("list_100", 1.5)),
        ),
        Scenario(
            name="patch",
            measures='PATCH /notifications/<id> {"title"}, cycling over 100 pending rows',
            ours=WrkSpec("patch.lua", "/notifications", ids_env("list100")),
            floor=WrkSpec("patch.lua", "/notifications", ids_env("list100")),
            prepare=prepare_patch,
        ),
        Scenario(
            name="create",
            measures="POST /notifications (email), no Idempotency-Key",
            ours=WrkSpec("create.lua", "/notifications", token_env("create")),
            floor=WrkSpec("create.lua", "/notifications", token_env("create")),
            prepare=prepare_create,
            targets=(rps_at_least(0.6), p99_at_most(2.0)),
        ),
        Scenario(
            name="login",
            measures="POST /auth/login (ours) vs POST /hash: one argon2 verify (floor)",
            ours=WrkSpec("login.lua", "/auth/login", login_env),
            floor=WrkSpec("login.lua", "/hash", login_env),
            prepare=prepare_login,
            targets=(rps_at_least(0.9),),
        ),
        # A "delivery" scenario (dispatcher throughput) goes here as one more entry with
        # run=..., see the Scenario docstring.
    )
}


class Profiler:
    """py-spy on three of our workers during a run.

    An SVG flame graph of on-CPU time (worker 1), collapsed stacks of on-CPU time (worker
    2) and of wall-clock time including waits on the database (`--idle`, worker 3).
    """

    def __init__(self, ctx: Context, scenario: str, duration_s: int) -> None:
        self.ctx = ctx
        self.scenario = scenario
        self.duration_s = max(duration_s - 2, 1)
        self.procs: list[Proc] = []
        self.outputs = [
            ("flamegraph", RESULTS_DIR / f"{scenario}.svg", []),
            ("raw", RESULTS_DIR / f"{scenario}.cpu.collapsed", []),
            ("raw", RESULTS_DIR / f"{scenario}.wall.collapsed", ["--idle"]),
        ]

    def start(self) -> None:
        py_spy = shutil.which("py-spy", path=str(VENV_BIN)) or shutil.which("py-spy")
        if py_spy is None or self.ctx.ours is None:
            self.ctx.notes.append("profile: py-spy not found (pip install py-spy into .venv)")
            return
        workers = self.ctx.ours.workers()
        time.sleep(1)  # past connection set-up
        for (fmt, path, extra), pid in zip(self.outputs, workers, strict=False):
            argv = [py_spy, "record", "-d", str(self.duration_s), "-r", "200", "-f", fmt]
            argv += [*extra, "-o", str(path), "--pid", str(pid)]
            log = RESULTS_DIR / f"py-spy-{path.stem}.log"
            self.procs.append(self.ctx.procs.start(f"py-spy {path.name}", argv, os.environ, log))

    def finish(self) -> str | None:
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=self.duration_s + 30)
            self.ctx.procs.stop(proc)
        parts = []
        for _, path, extra in self.outputs[1:]:
            if path.exists():
                kind = "wall-clock, waits included" if extra else "on-CPU"
                parts.append(summarise_collapsed(f"{self.scenario}, {kind}", path))
        if not parts:
            tails = " | ".join(p.log_tail(3) for p in self.procs)
            self.ctx.notes.append(f"profile {self.scenario}: no py-spy output ({tails})")
            return None
        text = "\n".join(parts)
        (RESULTS_DIR / f"{self.scenario}-profile.md").write_text(text + "\n")
        return text


# Where a sample's innermost frame lives -> what the time is spent on (first match wins).
PROFILE_CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "database round trips (execute, commit, rollback, pre-ping)",
        ("do_execute", "do_ping", "do_commit", "do_rollback", "psycopg2"),
    ),
    ("SQLAlchemy in Python (ORM, SQL compile, pool)", ("sqlalchemy/",)),
    ("marshmallow / flask-smorest / webargs", ("marshmallow/", "flask_smorest/", "webargs/")),
    ("validators (email-validator, phonenumbers)", ("email_validator/", "phonenumbers/")),
    ("JWT (flask-jwt-extended, PyJWT, hmac)", ("flask_jwt_extended/", "jwt/", "hmac.py")),
    ("rate limiter", ("flask_limiter/", "limits/")),
    ("argon2", ("argon2/",)),
    ("our code (notifier/)", ("notifier/",)),
    ("Flask / Werkzeug / json", ("flask/", "werkzeug/", "json/")),
    ("gunicorn (HTTP parsing, sockets)", ("gunicorn/",)),
)


def _category(frame: str) -> str:
    for name, needles in PROFILE_CATEGORIES:
        if any(n in frame for n in needles):
            return name
    return "other (stdlib, logging, ...)"


def summarise_collapsed(title: str, path: Path, top: int = 12) -> str:
    """Where request time goes, from py-spy's collapsed stacks.

    Only samples inside Flask.__call__ count (a sync worker waiting for its next
    connection is not request time). Three views: by category of the innermost frame, the
    innermost frames themselves, and our own functions (notifier/) inclusive.
    """
    own: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = stack.split(";")
        if not any(f.startswith("Flask.__call__") for f in frames):
            continue
        count = int(count_text)
        total += count
        own[frames[-1]] += count
        categories[_category(frames[-1])] += count
        for frame in {f for f in frames if "(notifier/" in f}:
            ours[frame] += count
    if not total:
        return f"### py-spy: {title}: no samples inside Flask.__call__\n"
    lines = [f"### py-spy: {title} (one worker, {total} samples inside requests)", ""]
    sections = (
        ("By category of the innermost frame", categories, len(categories)),
        ("Innermost frames", own, top),
        ("Our functions (inclusive)", ours, top),
    )
    for heading, counter, limit in sections:
        lines += [f"{heading}:", "", "| % of request time | where |", "|---:|---|"]
        for frame, n in counter.most_common(limit):
            lines.append(f"| {100 * n / total:.1f} | `{frame}` |")
        lines.append("")
    return "\n".join(lines)


def run_wrk_pair(ctx: Context, scenario: Scenario) -> ScenarioResult:
    """The default scenario: warm up and measure ours and the floor, `--repeat` times.

    Repeats alternate the order (ours first, then floor first, ...) so that a neighbour
    who starts or stops working mid-scenario weighs on both sides; medians are reported.
    """
    sides: list[tuple[str, Server, WrkSpec]] = [
        (side, server, spec)
        for side, server, spec in (
            ("ours", ctx.ours, scenario.ours),
            ("floor", ctx.floor, scenario.floor),
        )
        if server is not None and spec is not None
    ]
    runs: dict[str, list[Measurement]] = {side: [] for side, _, _ in sides}
    for rep in range(ctx.args.repeat):
        for side, server, spec in sides if rep % 2 == 0 else sides[::-1]:
            label = f"{scenario.name}-{side}-{rep + 1}"
            if ctx.wrk.warmup_s:
                run_wrk(ctx, server, spec, ctx.wrk.warmup_s, f"{label}-warmup")
            quiet = wait_for_quiet(ctx.args.quiet_wait)
            profiler = None
            if side == "ours" and rep == 0 and scenario.name in ctx.args.profile:
                profiler = Profiler(ctx, scenario.name, ctx.wrk.duration_s)
                threading.Thread(target=profiler.start, daemon=True).start()
            m = run_wrk(ctx, server, spec, ctx.wrk.duration_s, label)
            if profiler is not None:
                summary = profiler.finish()
                if summary:
                    ctx.notes.append(summary)
            runs[side].append(m)
            print(
                f"  {label:<22} {m.rps:8.1f} req/s  p50 {m.p50_ms:8.2f} ms  "
                f"p99 {m.p99_ms:8.2f} ms  statuses {m.statuses}  socket errors "
                f"{m.socket_errors}  background CPU {quiet:.2f} before, "
                f"{m.background_cores or 0:.2f} during (cores)",
                flush=True,
            )
    result = ScenarioResult()
    for side, measurements in runs.items():
        setattr(result, side, Measurement.median_of(measurements))
    return result


# --------------------------------------------------------------------------- report


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _cells(m: Measurement | None) -> list[str]:
    if m is None:
        return ["—", "—", "—"]
    digits = 1 if m.rps < 100 else 0
    return [_fmt(m.rps, digits), _fmt(m.p50_ms, 2), _fmt(m.p99_ms, 2)]


def _cpu(m: Measurement | None) -> str:
    """CPU ms per request as app + database."""
    if m is None or m.app_cpu_ms is None:
        return "—"
    return f"{m.app_cpu_ms:.2f} + {m.db_cpu_ms or 0:.2f}"


def _non_2xx(m: Measurement | None) -> str:
    if m is None:
        return "—"
    text = str(m.non_2xx)
    bad = {k: v for k, v in m.statuses.items() if not k.startswith("2")}
    if bad:
        text += " (" + ", ".join(f"{k}x{v}" for k, v in sorted(bad.items())) + ")"
    if m.socket_errors:
        text += f" +{m.socket_errors} socket"
    return text


def verdicts(
    scenario: Scenario, result: ScenarioResult, results: Mapping[str, ScenarioResult]
) -> tuple[str, str]:
    """(targets, PASS/FAIL/n/a) for one row; errors under load fail the row."""
    if result.error:
        return "; ".join(t.label for t in scenario.targets) or "—", "ERROR"
    if not scenario.targets:
        return "— (reference)", "—"
    outcomes = [t.check(result, results) for t in scenario.targets]
    if result.ours is not None and not result.ours.clean:
        outcomes.append(False)
    if any(o is False for o in outcomes):
        verdict = "FAIL"
    elif all(o is True for o in outcomes):
        verdict = "PASS"
    else:
        verdict = "n/a"
    background = [
        m.background_cores
        for m in (result.ours, result.floor)
        if m is not None and m.background_cores is not None
    ]
    if verdict != "n/a" and background and max(background) > NOISY_CORES:
        verdict += " (noisy)"
    cpu = [t.cpu_check(result) for t in scenario.targets if t.cpu_check is not None]
    if cpu and None not in cpu:
        verdict += "; by CPU/req: " + ("PASS" if all(cpu) else "FAIL")
    return "; ".join(t.label for t in scenario.targets), verdict


def render_report(
    ctx: Context,
    results: Mapping[str, ScenarioResult],
    rss: Mapping[str, list[tuple[int, float, float]]],
    meta: Mapping[str, Any],
) -> str:
    lines = [
        "# notifier benchmark: our API vs the floor",
        "",
        f"- when: {meta['when']}",
        f"- machine: {meta['machine']}",
        f"- load: `{ctx.wrk.describe()}`, client and servers on the same machine",
        f"- gunicorn (both apps): {meta['gunicorn']}",
        f'- our API ran with `RATELIMIT_LOGIN="{LOGIN_RATE_LIMIT}"` (the default 10/min '
        "per address and email would turn the login scenario into 429s)",
        f"- each side measured {ctx.args.repeat}x per scenario, alternating which goes "
        "first; the table shows medians (every run in latest.json and wrk-*.txt)",
        "- latency in ms; ratio = ours / floor; non-2xx counted by wrk under load, summed "
        "over runs",
        "- CPU ms/req = CPU time per request of the server's gunicorn processes + of its "
        "PostgreSQL sessions (hardly moved by neighbours, unlike req/s)",
        "- bg CPU = cores used by other processes on this shared machine during the runs "
        "(worst run, ours / floor); req/s and latency suffer when it is high",
        '- result: the targets on req/s and p99 as measured, "(noisy)" when bg CPU went '
        f'over {NOISY_CORES} cores; "by CPU/req": the req/s target judged on CPU per '
        "request instead (req/s ≥ k x floor ⇔ CPU/req ratio ≤ 1/k)",
        "",
        "| scenario | ours req/s | ours p50 | ours p99 | floor req/s | floor p50 | floor p99 "
        "| req/s ratio | p99 ratio | CPU ms/req ours | CPU ms/req floor | CPU/req ratio "
        "| non-2xx ours | non-2xx floor | bg CPU | target | result |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|---|",
    ]
    for name, result in results.items():
        scenario = SCENARIOS[name]
        target, verdict = verdicts(scenario, result, results)
        row = [
            name,
            *_cells(result.ours),
            *_cells(result.floor),
            _fmt(result.ratio("rps"), 2),
            _fmt(result.ratio("p99_ms"), 2),
            _cpu(result.ours),
            _cpu(result.floor),
            _fmt(result.cpu_ratio(), 2),
            _non_2xx(result.ours),
            _non_2xx(result.floor),
            " / ".join(
                _fmt(m.background_cores, 2) if m else "—" for m in (result.ours, result.floor)
            ),
            target,
            verdict,
        ]
        lines.append("| " + " | ".join(row) + " |")

    small, large = results.get("list_100"), results.get("list_100k")
    if small and large and small.ours and large.ours and small.ours.p99_ms:
        ratio = large.ours.p99_ms / small.ours.p99_ms
        lines += [
            "",
            f"list_100k / list_100 p99 (ours): {large.ours.p99_ms:.2f} / "
            f"{small.ours.p99_ms:.2f} ms = **{ratio:.2f}** (target ≤ 1.5: "
            f"{'PASS' if ratio <= 1.5 else 'FAIL'})",
        ]
        if large.floor and small.floor and small.floor.p99_ms:
            lines.append(
                f"(floor: {large.floor.p99_ms / small.floor.p99_ms:.2f}, same table and index)"
            )

    for side, workers in rss.items():
        if not workers:
            continue
        seen = [(r, pid, f"after {sc}") for sc, name, pid, r, _ in ctx.rss if name == side]
        seen += [(r, pid, "at the end") for pid, r, _ in workers]
        worst, worst_pid, when = max(seen)
        target = ""
        if side == "ours":
            verdict = "PASS" if worst <= RSS_LIMIT_MIB else "FAIL"
            target = f"; target ≤ {RSS_LIMIT_MIB:.0f} MiB per worker: **{verdict}**"
        lines += [
            "",
            f"Worker memory, {side}: largest RSS seen {worst:.1f} MiB (pid {worst_pid}, "
            f"{when}){target}. At the end of the run:",
            "",
            "| worker pid | RSS MiB | peak RSS (VmHWM) MiB |",
            "|---:|---:|---:|",
        ]
        lines += [f"| {pid} | {r:.1f} | {h:.1f} |" for pid, r, h in workers]

    if ctx.rss:
        sides = list(dict.fromkeys(name for _, name, *_ in ctx.rss))
        lines += [
            "",
            "Largest worker RSS / VmHWM (MiB) after each scenario:",
            "",
            "| scenario | " + " | ".join(sides) + " |",
            "|---|" + "---:|" * len(sides),
        ]
        for sc in dict.fromkeys(sc for sc, *_ in ctx.rss):
            cells = []
            for side in sides:
                rows = [(r, h) for s, n, _, r, h in ctx.rss if s == sc and n == side]
                cells.append(
                    f"{max(r for r, _ in rows):.1f} / {max(h for _, h in rows):.1f}"
                    if rows
                    else "—"
                )
            lines.append(f"| {sc} | " + " | ".join(cells) + " |")

    lines += ["", "Scenarios:", ""]
    lines += [f"- **{name}**: {SCENARIOS[name].measures}" for name in results]
    errors = [f"- {name}: {r.error}" for name, r in results.items() if r.error]
    if errors:
        lines += ["", "Errors:", "", *errors]
    if ctx.notes:
        lines += ["", "Notes:", ""]
        for note in ctx.notes:
            lines += [note, ""] if note.startswith("###") else [f"- {note}"]
    return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, from: {', '.join(SCENARIOS)} (default: all)",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c (32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t (2)")
    parser.add_argument("--timeout", type=int, default=30, help="wrk --timeout seconds (30)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per run (2)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="measured runs per side, order alternating; medians reported (3)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=20,
        help="seconds to wait for other load on the machine to stop before a run (20)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 3 s, 1 s warm-up, one repeat"
    )
    parser.add_argument(
        "--floor-only",
        action="store_true",
        help="no API: a provisional schema and the floor app only (harness check)",
    )
    parser.add_argument(
        "--profile",
        default="",
        help="comma-separated scenarios to py-spy on our workers (e.g. create,get)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "latest.md")
    args = parser.parse_args(argv)
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios {unknown}; known: {', '.join(SCENARIOS)}")
    args.profile = {s for s in args.profile.split(",") if s}
    if args.quick:
        args.duration, args.warmup, args.repeat, args.quiet_wait = 3, 1, 1, 0
    return args


def server_env(secret: str, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("FLASK_DEBUG", None)  # production config, as deployed
    env.update(
        DATABASE_URL=BENCH_DSN,
        JWT_SECRET_KEY=secret,
        RATELIMIT_LOGIN=LOGIN_RATE_LIMIT,
        PORT=str(port),
        PYTHONUNBUFFERED="1",
        PATH=f"{VENV_BIN}:{env.get('PATH', '')}",
    )
    return env


def start_server(ctx: Context, name: str, app: str) -> Server:
    port = free_port()
    settings, _ = gunicorn_settings_args()
    # No control socket: its default path is shared by every gunicorn on the machine.
    argv = [str(VENV_BIN / "gunicorn"), *settings, app, "-b", f"127.0.0.1:{port}"]
    argv.append("--no-control-socket")
    env = server_env(ctx.secret, port)
    env["PGAPPNAME"] = f"bench-{name}"  # libpq's default application_name
    proc = ctx.procs.start(name, argv, env, RESULTS_DIR / f"gunicorn-{name}.log")
    server = Server(name, proc, port)
    server.wait_healthy()
    return server


def migrate(env: Mapping[str, str]) -> None:
    out = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=REPO_ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if out.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed:\n{out.stdout}\n{out.stderr}")


def check_schema(db: Database) -> floor_app.FloorSchema:
    conn = db.connect()
    try:
        return floor_app.inspect_schema(conn)
    finally:
        conn.close()


def hash_cost_ms(rounds: int = 5) -> float:
    """Median time of one argon2 verify in this process, production parameters."""
    hasher = floor_app._argon2_hasher()
    known = hasher.hash(floor_app.HASH_PASSWORD)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        hasher.verify(known, floor_app.HASH_PASSWORD)
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)[rounds // 2]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2
    if not args.floor_only and not (
        (REPO_ROOT / "wsgi.py").exists() and (REPO_ROOT / "migrations" / "env.py").exists()
    ):
        print("wsgi.py or migrations/ missing: use --floor-only", file=sys.stderr)
        return 2
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    for pattern in ("wrk-*.txt", "py-spy-*.log", "*.collapsed", "*.svg", "*-profile.md"):
        for stale in RESULTS_DIR.glob(pattern):
            stale.unlink()

    # SIGTERM takes the same road as Ctrl-C: through the finally block below.
    def on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)

    secret = secrets.token_hex(24)  # 48 characters
    # config.py (imported by the floor's hasher) falls back to a SQLite file under
    # instance/ when DATABASE_URL is unset; point it at the bench database instead.
    os.environ["DATABASE_URL"] = BENCH_DSN
    ctx = Context(
        args=args,
        wrk=WrkOptions(args.threads, args.connections, args.duration, args.timeout, args.warmup),
        db=Database(),
        procs=ProcessManager(),
        secret=secret,
    )
    _, gunicorn_note = gunicorn_settings_args()
    results: dict[str, ScenarioResult] = {}
    rss: dict[str, list[tuple[int, float, float]]] = {}
    meta: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}",
    }
    try:
        print(f"database {DB_NAME}: recreate", flush=True)
        ctx.db.recreate()
        env = server_env(secret, 0)
        if args.floor_only:
            ctx.db.execute(PROVISIONAL_SCHEMA)
            ctx.notes.append("--floor-only: provisional schema, our API not started")
        else:
            print("flask db upgrade", flush=True)
            migrate(env)
        ctx.schema = check_schema(ctx.db)
        if ctx.schema.fillers:
            ctx.notes.append(
                "floor INSERT fills NOT NULL columns that have no server default: "
                + ", ".join(f"{k} = {v}" for k, v in ctx.schema.fillers.items())
            )
        config = gunicorn_config_summary(env)
        meta["gunicorn"] = gunicorn_note + (
            " — " + ", ".join(f"{k}={v}" for k, v in sorted(config.items())) if config else ""
        )
        if not args.floor_only:
            print("start our API", flush=True)
            ctx.ours = start_server(ctx, "ours", "wsgi:app")
        print("start the floor app", flush=True)
        ctx.floor = start_server(ctx, "floor", "bench.floor_app:create_app()")

        if "login" in args.scenarios:
            cost = hash_cost_ms()
            hasher = floor_app._argon2_hasher()
            ctx.notes.append(
                f"login: one argon2id verify (config.py: time_cost={hasher.time_cost}, "
                f"memory_cost={hasher.memory_cost} KiB, parallelism={hasher.parallelism}) "
                f"takes {cost:.0f} ms in-process on one core: at most "
                f"{1000 * (os.cpu_count() or 1) / cost:.0f} logins/s on this machine, "
                "before wrk takes its share of the CPUs."
            )
        for name in args.scenarios:
            scenario = SCENARIOS[name]
            print(f"scenario {name}", flush=True)
            try:
                if scenario.prepare:
                    scenario.prepare(ctx)
                results[name] = (scenario.run or run_wrk_pair)(ctx, scenario)
                for server in ctx.servers():
                    for pid in server.workers():
                        ctx.rss.append((name, server.name, pid, *memory_mib(pid)))
            except (RuntimeError, requests.RequestException, psycopg2.Error) as exc:
                results[name] = ScenarioResult(error=str(exc).strip().splitlines()[0][:300])
                ctx.notes.append(f"{name} failed: {exc}")
                print(f"  failed: {exc}", file=sys.stderr, flush=True)

        for server in ctx.servers():
            rss[server.name] = [(pid, *memory_mib(pid)) for pid in server.workers()]
            if server.name not in ctx.pg_sessions_seen and set(args.scenarios) - {"empty"}:
                ctx.notes.append(
                    f"{server.name}: no PostgreSQL session with application_name "
                    f"{server.pg_application_name}: its database CPU is not counted"
                )
        for server in ctx.servers():
            tracebacks = server.proc.log_tail(100000).count("Traceback")
            if tracebacks:
                ctx.notes.append(
                    f"{server.name}: {tracebacks} tracebacks in "
                    f"bench/results/gunicorn-{server.name}.log"
                )
    finally:
        print("stopping servers, dropping the database", flush=True)
        ctx.procs.stop_all()
        try:
            ctx.db.drop()
        except psycopg2.Error as exc:
            print(f"could not drop {DB_NAME}: {exc}", file=sys.stderr)

    meta.setdefault("gunicorn", gunicorn_note)
    report = render_report(ctx, results, rss, meta)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    raw = {
        "meta": meta,
        "wrk": asdict(ctx.wrk),
        "results": {k: asdict(v) for k, v in results.items()},
        "rss_mib": rss,
        "notes": ctx.notes,
    }
    args.output.with_suffix(".json").write_text(json.dumps(raw, indent=2) + "\n")
    print()
    print(report)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: servers stopped, database dropped", file=sys.stderr)
        sys.exit(130)
