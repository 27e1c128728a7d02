"""Benchmark the delivery service sending real email over SMTP, with one and three workers.

    .venv/bin/python bench/smtp_bench.py                 # 3 x 15 s per setup
    .venv/bin/python bench/smtp_bench.py --duration 5 --repeat 1   # a short run

A local SMTP server (aiosmtpd, plain SMTP, in this process's thread) takes every
message and counts it. For each setup the delivery service runs under gunicorn
(gevent) on a free 127.0.0.1 port with ``EMAIL_PROVIDER=smtp`` pointed at it:

- ``1 worker, memory``: one worker, the in-process idempotency store (the default);
- ``1 worker, redis`` and ``3 workers, redis``: ``DELIVERY_IDEMPOTENCY_URL`` on the
  local Redis (a key prefix of this run, deleted afterwards).

``wrk`` then POSTs /deliver with a distinct idempotency key and recipient per
request (a Lua script) at ``--connections`` for ``--duration`` seconds, after a
2 s warm-up. The table shows deliveries per second (median of ``--repeat`` runs),
latency percentiles, non-2xx answers, the emails received against wrk's requests
(requests still in flight when wrk stops send emails it does not count), and how many
idempotency keys were emailed twice (each request's recipient is its key: must be 0).
Needs ``wrk`` and Redis on 127.0.0.1:6379. Every process started here is stopped by its PID.

It also reads the CPU time (from /proc) of the delivery service's processes and of the
whole machine during each timed run, per delivery. One gevent worker can use one core
at most; everything else on the machine (the SMTP server, wrk, Redis, the kernel) shares
the rest. So on ``C`` cores three workers can reach at most ``C x`` (one worker's
service CPU per delivery) / (the machine's CPU per delivery with three) times one
worker's rate: the table's last line gives that ceiling next to the measured ratio.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import redis
from aiosmtpd.controller import Controller

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# These need REPO_ROOT on sys.path (bench/smtp_bench.py is run as a script).
from bench import cpu_quota  # noqa: E402
from bench.accounting import child_pids, cpu_seconds, machine_busy_ticks  # noqa: E402
from bench.processes import free_port, start  # noqa: E402
from bench.smtp_report import Result, table  # noqa: E402

RESULTS = REPO_ROOT / "bench" / "results" / "smtp.md"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
LOG_DIR = Path(tempfile.gettempdir()) / f"smtp-bench-{os.getpid()}"
# The delivery service answers only callers with its token; wrk sends it (see WRK_SCRIPT).
DELIVERY_TOKEN = secrets.token_urlsafe(32)

WRK_SCRIPT = """
local thread_id = 0
local counter = 0
setup = function(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end
request = function()
  counter = counter + 1
  local id = RUN .. "-" .. tid .. "-" .. counter
  local body = '{"channel":"email","target":"' .. id .. '@example.com",' ..
    '"title":"Bench","content":"Hello from the SMTP bench.","idempotency_key":"' .. id .. '"}'
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = AUTH}
  return wrk.format("POST", "/deliver", headers, body)
end
"""


class Counter:
    """aiosmtpd handler that counts accepted messages, and how often each recipient got one.

    Each request's recipient is its idempotency key at example.com, so a recipient that
    got two messages is a key sent twice.
    """

    def __init__(self) -> None:
        self.messages = 0
        self.recipients: collections.Counter[str] = collections.Counter()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it by this name
        self.messages += 1
        self.recipients.update(envelope.rcpt_tos)
        return "250 2.0.0 Ok: queued"

    def sent_twice(self) -> int:
        """How many recipients (keys) got more than one message so far."""
        return sum(1 for count in self.recipients.values() if count > 1)


class CpuMeter:
    """CPU seconds of the delivery service (master and workers) and of the machine."""

    def __init__(self, master_pid: int) -> None:
        self.master_pid = master_pid
        self.pids = [master_pid, *child_pids(master_pid)]

    def read(self) -> tuple[float, float]:
        busy_ticks, _ = machine_busy_ticks()
        service = cpu_seconds(self.pids, reaped_children_of=self.master_pid)
        return service, busy_ticks / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def delivery_service(
    smtp_port: int, workers: int, redis_prefix: str | None, worker_cpu: float | None = None
) -> Iterator[tuple[str, CpuMeter]]:
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DELIVERY_", "SMTP_", "EMAIL_", "SMS_", "PUSH_"))
    }
    env |= {
        "DELIVERY_BIND": f"127.0.0.1:{port}",
        "DELIVERY_WORKERS": str(workers),
        "DELIVERY_LOG_LEVEL": "warning",
        "DELIVERY_API_TOKEN": DELIVERY_TOKEN,
        "EMAIL_PROVIDER": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_SECURITY": "none",
        "EMAIL_FROM": "Bench <bench@notifier.test>",
    }
    if redis_prefix:
        env |= {"DELIVERY_IDEMPOTENCY_URL": REDIS_URL, "DELIVERY_IDEMPOTENCY_PREFIX": redis_prefix}
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    process = start(
        [sys.executable, "-m", "gunicorn", "-c", "delivery/gunicorn.conf.py"],
        env,
        name=f"delivery service ({workers} workers)",
        log_path=LOG_DIR / f"gunicorn-{workers}-{port}.log",
    )
    url = f"http://127.0.0.1:{port}"
    quotas = cpu_quota.CpuQuotas(worker_cpu, f"smtp-bench-{os.getpid()}") if worker_cpu else None
    try:
        process.wait_until_answers(f"{url}/health", timeout_s=60)
        deadline = time.monotonic() + 30
        while len(child_pids(process.pid)) < workers and time.monotonic() < deadline:
            time.sleep(0.2)  # every worker booted, so that the CPU meter sees them all
        for worker in child_pids(process.pid) if quotas else []:
            quotas.cap(worker)
        yield url, CpuMeter(process.pid)
    finally:
        process.stop()
        if quotas:
            quotas.remove()


def wrk_script() -> Path:
    """A Lua script whose keys no other run uses (a repeated key would be a cheap replay)."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    script = LOG_DIR / f"wrk-{uuid.uuid4().hex}.lua"
    script.write_text(
        f'RUN = "{uuid.uuid4().hex}"\nAUTH = "Bearer {DELIVERY_TOKEN}"\n' + WRK_SCRIPT
    )
    return script


def run_wrk(url: str, script: Path, connections: int, duration: int) -> dict[str, float]:
    """One wrk run; requests/s, latency percentiles, non-2xx count, requests."""
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "--timeout",
            "30s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    ).stdout

    def latency(pct: str) -> float:
        match = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50": latency("50"),
        "p99": latency("99"),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
    }


def measure(setup: str, workers: int, use_redis: bool, args, smtp: Counter, port: int) -> Result:
    prefix = f"smtp-bench-{uuid.uuid4().hex}:" if use_redis else None
    rates, p50s, p99s, non_2xx, total, messages = [], [], [], 0, 0, 0
    service_ms, machine_ms = [], []
    twice_before = smtp.sent_twice()
    try:
        with delivery_service(port, workers, prefix, args.worker_cpu) as (url, meter):
            for repeat in range(args.repeat):
                run_wrk(url, wrk_script(), args.connections, 2)  # warm-up: connections, pools
                before = smtp.messages
                service_before, machine_before = meter.read()
                result = run_wrk(url, wrk_script(), args.connections, args.duration)
                service_after, machine_after = meter.read()
                time.sleep(0.5)  # the last replies' messages
                done = max(int(result["requests"]), 1)
                service_ms.append((service_after - service_before) * 1000 / done)
                machine_ms.append((machine_after - machine_before) * 1000 / done)
                rates.append(result["rate"])
                p50s.append(result["p50"])
                p99s.append(result["p99"])
                non_2xx += int(result["non_2xx"])
                total += int(result["requests"])
                messages += smtp.messages - before
                print(f"  {setup} run {repeat + 1}: {result['rate']:.0f} deliveries/s", flush=True)
    finally:
        if prefix:
            client = redis.Redis.from_url(REDIS_URL)
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            for start in range(0, len(keys), 1000):
                client.delete(*keys[start : start + 1000])
            client.close()
    return Result(
        setup,
        rates,
        statistics.median(p50s),
        statistics.median(p99s),
        non_2xx,
        total,
        messages,
        workers,
        service_ms,
        machine_ms,
        smtp.sent_twice() - twice_before,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--worker-cpu",
        type=float,
        help="cap each delivery-service worker at this many cores (a cgroup each; needs root)",
    )
    args = parser.parse_args()
    if args.worker_cpu and not cpu_quota.available():
        parser.error("--worker-cpu needs root and the cgroup CPU controller")

    redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    smtp = Counter()
    port = free_port()
    controller = Controller(smtp, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        results = [
            measure("1 worker, memory", 1, False, args, smtp, port),
            measure("1 worker, redis", 1, True, args, smtp, port),
            measure("3 workers, redis", 3, True, args, smtp, port),
        ]
    finally:
        controller.stop()
    report = table(results, args)
    print("\n" + report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    (RESULTS.with_name("smtp-worker-cpu.md") if args.worker_cpu else RESULTS).write_text(
        report + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
