"""Benchmark the dispatcher against the real delivery service, on PostgreSQL.

    .venv/bin/python bench/delivery_bench.py
    .venv/bin/python bench/delivery_bench.py --count 1000 --latencies 200 --procs 1
    .venv/bin/python bench/delivery_bench.py --suppressions 10000  # the claim's check
    .venv/bin/python bench/delivery_bench.py --latencies 200 --no-latency-run \
        --dispatcher-cpu 0.3  # scale-out: also each dispatcher capped at 0.3 core

Steps: (re)create the database `notifier_delivery_bench` (or `--database`) and migrate
it with `flask --app wsgi db upgrade`. For each simulated provider latency
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

With `--dispatcher-cpu C` (root and the cgroup CPU controller, bench/cpu_quota.py),
every setup runs again with each dispatcher capped at C cores: a stand-in for "one
machine each" on a small host, where two uncapped dispatchers share the cores with
the delivery service and PostgreSQL and measure the machine, not the dispatcher.
Capped, two dispatchers should deliver 1.8x what one does; less means something
they share (the claim, a lock, the database) serialises them.

The dispatchers' resident memory (VmRSS, sampled every 0.2 s) is reported as the
highest seen. The Markdown table goes to stdout and bench/results/delivery.md.
Whatever happens, every process started here is stopped by its PID and the
database is dropped. The pieces live beside this command line: delivery_runs.py (the
measurements), delivery_data.py (rows), delivery_report.py (the table and targets).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# These need REPO_ROOT on sys.path (bench/delivery_bench.py is run as a script).
from bench import cpu_quota  # noqa: E402
from bench.database import Database  # noqa: E402
from bench.delivery_data import add_suppressions, reset  # noqa: E402
from bench.delivery_report import table  # noqa: E402
from bench.delivery_runs import DeliveryBench, Run, load_average  # noqa: E402
from bench.paths import RESULTS_DIR  # noqa: E402

RESULTS = RESULTS_DIR / "delivery.md"
# Process logs go to a temporary directory, deleted after a successful run.
LOG_DIR = Path(tempfile.gettempdir()) / f"delivery-bench-{os.getpid()}"
DEFAULT_DATABASE = "notifier_delivery_bench"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
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
    parser.add_argument(
        "--dispatcher-cpu",
        type=float,
        help="also run every setup with each dispatcher capped at this many cores "
        "(a cgroup each; needs root)",
    )
    parser.add_argument(
        "--suppressions",
        type=int,
        default=0,
        help="suppressed addresses per bench user (none a bench target): the claim's check",
    )
    parser.add_argument(
        "--database",
        default=DEFAULT_DATABASE,
        help=f"created and DROPPED by the run; must contain 'bench' ({DEFAULT_DATABASE})",
    )
    args = parser.parse_args(argv)
    if args.dispatcher_cpu and not cpu_quota.available():
        parser.error("--dispatcher-cpu needs root and the cgroup CPU controller")
    try:
        args.db = Database(args.database)
    except ValueError as exc:
        parser.error(str(exc))
    return args


def measure(bench: DeliveryBench, args: argparse.Namespace) -> list[Run]:
    """Every latency x CPU cap x dispatcher count: the median of the throughput repeats,
    then the create->sent trickle on the same setup."""
    runs: list[Run] = []
    caps = [None, args.dispatcher_cpu] if args.dispatcher_cpu else [None]
    for latency in [int(x) for x in args.latencies.split(",")]:
        with bench.delivery_service(latency) as service:
            for cap, procs in [(c, int(p)) for c in caps for p in args.procs.split(",")]:
                bench.cpu_cap = cap
                load = load_average()
                repeats = []
                for i in range(args.repeat):
                    print(
                        f"latency {latency} ms, {procs} dispatcher(s)"
                        f"{f' capped at {cap:g} core' if cap else ''}, run {i + 1}...",
                        file=sys.stderr,
                    )
                    repeats.append(bench.throughput(service, latency, procs, args.count))
                run = sorted(repeats, key=lambda r: r.per_s)[len(repeats) // 2]
                run.repeats = [r.per_s for r in repeats]
                run.exactly_once = all(r.exactly_once for r in repeats)
                run.rss_mb = max(r.rss_mb for r in repeats)
                run.load = load
                if not args.no_latency_run:
                    bench.create_to_sent(service, run, args.rate, args.rate_seconds)
                runs.append(run)
    return runs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env: dict[str, str] = {"DELIVERY_POLL_INTERVAL_S": "1", "LOG_LEVEL": "WARNING"}
    if args.concurrency:
        env["DELIVERY_CONCURRENCY"] = str(args.concurrency)
    if args.batch_size:
        env["DELIVERY_BATCH_SIZE"] = str(args.batch_size)
    bench = DeliveryBench(args.db, LOG_DIR, env)
    succeeded = False
    # Two runs at once would drop each other's database: only one holds its lock.
    with args.db.exclusive() as alone:
        if not alone:
            print("another delivery_bench.py is running; try again later", file=sys.stderr)
            return 1
        if load_average() > 0.5:
            print(
                f"warning: load average {load_average():.2f}; figures will be noisy",
                file=sys.stderr,
            )
        try:
            args.db.recreate()
            args.db.migrate(bench.base_env())
            connection = args.db.connect()
            bench.users = reset(connection)
            add_suppressions(connection, bench.users, args.suppressions)
            connection.close()
            runs = measure(bench, args)
            succeeded = True
        finally:
            bench.procs.stop_all()
            bench.release_caps()
            args.db.drop()
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
