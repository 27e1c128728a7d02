"""wrk: its options, what it sends (a Lua script, a path, an environment), one run, parsed.

Each script in bench/scripts loads common.lua, whose done() prints one line
`BENCH_JSON {...}`: requests/s, latency percentiles, wrk's error counters and a count per
HTTP status. run_wrk runs wrk once, keeps its raw output in bench/results/wrk-<label>.txt,
and adds CPU per request and the background CPU of the machine during the run.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.accounting import DbCpuTracker, machine_busy_ticks
from bench.paths import RESULTS_DIR, SCRIPTS_DIR

if TYPE_CHECKING:
    from bench.context import Context
    from bench.servers import Server


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


def _no_env(ctx: Context) -> dict[str, str]:
    return {}


@dataclass(frozen=True)
class WrkSpec:
    """What wrk sends: a script in bench/scripts, the URL path, and the script's env."""

    script: str
    path: str
    env: Callable[[Context], dict[str, str]] = _no_env


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
    with DbCpuTracker(ctx.servers(), ctx.db) as db_cpu:
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
