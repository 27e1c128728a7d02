"""Deliver one 10 000-row batch: our dispatchers against a Celery peer, in one run.

    .venv/bin/python bench/batch_bench.py                    # 10 000 rows, 200 ms, 2 repeats
    .venv/bin/python bench/batch_bench.py --count 1000 --repeat 1 --sides ours

Steps: (re)create the database `bench_throughput_batch` (or `--database`), migrate it,
start the real delivery service (gunicorn, one gevent worker) at `--latency` ms, then
for each repeat deliver the same batch with: our dispatcher (`flask --app wsgi worker`,
default settings) as 1 and 2 processes, and the Celery peer
(`bench/peers/celery_notify`, its own virtualenv, Redis database 11, purged before each
run) as 1 and 2 worker processes. The order of the sides alternates between repeats.
Prints deliveries/s (medians and every repeat), the ratios, CPU per delivery (workers,
delivery service, the workers' PostgreSQL sessions, from /proc), the workers' peak RSS,
the exactly-once check and the load average; the table also goes to
bench/results/batch.md. Every process started here is stopped by PID; the database is
dropped.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.batch_report import table  # noqa: E402
from bench.batch_runs import BatchBench, Side, ensure_peer_venv, service_pid_of  # noqa: E402
from bench.database import Database  # noqa: E402
from bench.delivery_data import reset  # noqa: E402
from bench.delivery_runs import DeliveryBench, load_average  # noqa: E402
from bench.paths import RESULTS_DIR  # noqa: E402

RESULTS = RESULTS_DIR / "batch.md"
LOG_DIR = Path(tempfile.gettempdir()) / f"batch-bench-{os.getpid()}"
DEFAULT_DATABASE = "bench_throughput_batch"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--latency", type=int, default=200, help="DELIVERY_LATENCY_MS")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--procs", default="1,2", help="worker processes per side")
    parser.add_argument("--sides", default="ours,celery")
    parser.add_argument(
        "--peer-concurrency",
        type=int,
        default=None,
        help="gevent pool size per Celery worker (default: our DELIVERY_CONCURRENCY default)",
    )
    parser.add_argument(
        "--database",
        default=DEFAULT_DATABASE,
        help=f"created and DROPPED by the run; must contain 'bench' ({DEFAULT_DATABASE})",
    )
    args = parser.parse_args(argv)
    try:
        args.db = Database(args.database)
    except ValueError as exc:
        parser.error(str(exc))
    if args.peer_concurrency is None:
        from config import BaseConfig

        args.peer_concurrency = BaseConfig.DELIVERY_CONCURRENCY
    return args


def measure(batch: BatchBench, args: argparse.Namespace) -> list[Side]:
    """Every side x process count, `repeat` times; the median run of each, with repeats."""
    setups = [(side, int(p)) for side in args.sides.split(",") for p in args.procs.split(",")]
    runs: dict[tuple[str, int], list[Side]] = {setup: [] for setup in setups}
    for i in range(args.repeat):
        order = setups if i % 2 == 0 else list(reversed(setups))
        for side, procs in order:
            print(f"run {i + 1}: {side}, {procs} process(es)...", file=sys.stderr)
            if side == "ours":
                result = batch.ours(procs, args.count)
            else:
                result = batch.peer(procs, args.count, args.peer_concurrency)
            print(
                f"  {result.per_s:.0f}/s, {result.total_cpu_ms:.2f} ms CPU/delivery, "
                f"exactly once: {result.exactly_once}, load {result.load:.2f}",
                file=sys.stderr,
            )
            runs[(side, procs)].append(result)
    medians = []
    for setup in setups:
        repeats = runs[setup]
        median = sorted(repeats, key=lambda r: r.per_s)[(len(repeats) - 1) // 2]
        median.repeats = [r.per_s for r in repeats]
        median.exactly_once = all(r.exactly_once for r in repeats)
        median.rss_mb = max(r.rss_mb for r in repeats)
        median.load = statistics.mean(r.load for r in repeats)
        medians.append(median)
    return medians


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so that the `finally` below stops every process.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    if "celery" in args.sides:
        ensure_peer_venv()
    bench = DeliveryBench(args.db, LOG_DIR, {"LOG_LEVEL": "WARNING"})
    succeeded = False
    with args.db.exclusive() as alone:
        if not alone:
            print("another run holds this database; try again later", file=sys.stderr)
            return 1
        print(f"load average before the run: {load_average():.2f}", file=sys.stderr)
        try:
            args.db.recreate()
            args.db.migrate(bench.base_env())
            connection = args.db.connect()
            bench.users = reset(connection)
            connection.close()
            with bench.delivery_service(args.latency) as url:
                batch = BatchBench(bench, url, service_pid_of(bench))
                sides = measure(batch, args)
            succeeded = True
        finally:
            bench.procs.stop_all()
            args.db.drop()
            if succeeded:
                shutil.rmtree(LOG_DIR, ignore_errors=True)
            else:
                print(f"failed; process logs are in {LOG_DIR}", file=sys.stderr)
    report = table(sides, args)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
