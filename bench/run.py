"""Benchmark our API against the floor app, scenario by scenario, on this machine.

    .venv/bin/python bench/run.py                 # every scenario, wrk -t2 -c32 -d10s
    .venv/bin/python bench/run.py --quick         # a short smoke run
    .venv/bin/python bench/run.py --scenarios get,list_100,list_100k
    .venv/bin/python bench/run.py --floor-only    # harness check: floor app, provisional schema

Steps: (re)create the database (`notifier_bench`, or `--database`), migrate it with
`flask db upgrade`, start our API (`gunicorn wsgi:app`) and the floor app
(`bench.floor_app:create_app()`) with the same gunicorn config, create users and rows, run
wrk per scenario against both, and write a Markdown table to bench/results/latest.md (and
stdout). Whatever happens, both gunicorns are stopped by PID and the database is dropped.

A scenario is one entry of bench/scenarios.py: a pair of wrk runs (ours, floor) by
default, or any callable `run(ctx, scenario) -> ScenarioResult` for measurements that are
not a request loop (the dispatcher's delivery throughput, for instance). This module is
the command line; the pieces live beside it (servers, wrk, accounting, report...).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import signal
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg2

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# These need REPO_ROOT on sys.path (bench/run.py is run as a script).
from bench.accounting import memory_mib  # noqa: E402
from bench.context import Context  # noqa: E402
from bench.database import PROVISIONAL_SCHEMA, Database  # noqa: E402
from bench.floor_app import HASH_PASSWORD, argon2_hasher  # noqa: E402
from bench.floor_schema import FloorSchema, inspect_schema  # noqa: E402
from bench.memory_share import libraries_alone_mib  # noqa: E402
from bench.paths import RESULTS_DIR  # noqa: E402
from bench.processes import Processes  # noqa: E402
from bench.report import render_report  # noqa: E402
from bench.runner import run_scenario  # noqa: E402
from bench.scenario import ScenarioResult  # noqa: E402
from bench.scenarios import SCENARIOS  # noqa: E402
from bench.servers import (  # noqa: E402
    FLOOR_APP,
    OURS_APP,
    gunicorn_config_summary,
    gunicorn_settings_args,
    server_env,
    start_server,
)
from bench.wrk import WrkOptions  # noqa: E402

DEFAULT_DATABASE = "notifier_bench"


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
    parser.add_argument(
        "--database",
        default=DEFAULT_DATABASE,
        help=f"bench database, created and DROPPED by the run; must contain 'bench' "
        f"({DEFAULT_DATABASE})",
    )
    args = parser.parse_args(argv)
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = [s for s in args.scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios {unknown}; known: {', '.join(SCENARIOS)}")
    args.profile = {s for s in args.profile.split(",") if s}
    try:
        args.db = Database(args.database)
    except ValueError as exc:
        parser.error(str(exc))
    if args.quick:
        args.duration, args.warmup, args.repeat, args.quiet_wait = 3, 1, 1, 0
    return args


def check_schema(db: Database) -> FloorSchema:
    conn = db.connect()
    try:
        return inspect_schema(conn)
    finally:
        conn.close()


def hash_cost_ms(rounds: int = 5) -> float:
    """Median time of one argon2 verify in this process, production parameters."""
    hasher = argon2_hasher()
    known = hasher.hash(HASH_PASSWORD)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        hasher.verify(known, HASH_PASSWORD)
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
    os.environ["DATABASE_URL"] = args.db.dsn
    ctx = Context(
        args=args,
        wrk=WrkOptions(args.threads, args.connections, args.duration, args.timeout, args.warmup),
        db=args.db,
        procs=Processes(),
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
        print(f"database {ctx.db.name}: recreate", flush=True)
        ctx.db.recreate()
        env = server_env(secret, 0, ctx.db.dsn)
        if args.floor_only:
            ctx.db.execute(PROVISIONAL_SCHEMA)
            ctx.notes.append("--floor-only: provisional schema, our API not started")
        else:
            print("flask db upgrade", flush=True)
            ctx.db.migrate(env)
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
            ctx.ours = start_server(ctx.procs, "ours", OURS_APP, secret, ctx.db.dsn)
        print("start the floor app", flush=True)
        ctx.floor = start_server(ctx.procs, "floor", FLOOR_APP, secret, ctx.db.dsn)

        if "login" in args.scenarios:
            cost = hash_cost_ms()
            hasher = argon2_hasher()
            ctx.notes.append(
                f"login: one argon2id verify (config.py: time_cost={hasher.time_cost}, "
                f"memory_cost={hasher.memory_cost} KiB, parallelism={hasher.parallelism}) "
                f"takes {cost:.0f} ms in-process on one core: at most "
                f"{1000 * (os.cpu_count() or 1) / cost:.0f} logins/s on this machine, "
                "before wrk takes its share of the CPUs."
            )
        for name in args.scenarios:
            results[name] = run_scenario(ctx, SCENARIOS[name])

        if ctx.ours:
            meta["libraries_alone_mib"] = libraries_alone_mib(env)
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
            print(f"could not drop {ctx.db.name}: {exc}", file=sys.stderr)

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
