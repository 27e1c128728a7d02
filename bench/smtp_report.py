"""The SMTP bench's results and its Markdown table (see bench/smtp_bench.py)."""

from __future__ import annotations

import os
import platform
import statistics
from dataclasses import dataclass, field


@dataclass
class Result:
    setup: str
    rates: list[float]
    p50_ms: float
    p99_ms: float
    non_2xx: int
    requests: int
    smtp_messages: int
    workers: int = 1
    service_cpu_ms: list[float] = field(default_factory=list)  # per delivery
    machine_cpu_ms: list[float] = field(default_factory=list)  # per delivery, every process
    keys_sent_twice: int = 0  # recipients (one per idempotency key) that got two emails


def table(results: list[Result], args) -> str:
    base = statistics.median(results[0].rates)
    cores = os.cpu_count() or 1
    lines = [
        f"SMTP delivery bench: wrk -t2 -c{args.connections} -d{args.duration}s, "
        f"{args.repeat} run(s) per setup, median shown; {platform.node()}, "
        f"{cores} CPUs, load average {os.getloadavg()[0]:.1f} at the end"
        + (f"; each worker capped at {args.worker_cpu:g} core(s)." if args.worker_cpu else "."),
        "",
        "| setup | deliveries/s | vs 1 worker | service CPU ms / delivery | "
        "machine CPU ms / delivery | p50 ms | p99 ms | non-2xx | emails received / requests | "
        "keys emailed twice |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        rate = statistics.median(result.rates)
        lines.append(
            f"| {result.setup} | {rate:.0f} | {rate / base:.2f}x | "
            f"{statistics.median(result.service_cpu_ms):.2f} | "
            f"{statistics.median(result.machine_cpu_ms):.2f} | {result.p50_ms:.1f} | "
            f"{result.p99_ms:.1f} | {result.non_2xx} | {result.smtp_messages} / "
            f"{result.requests} | {result.keys_sent_twice} |"
        )
    lines += ["", scale_out(results[0], results[-1], cores, args.worker_cpu)]
    return "\n".join(lines)


def scale_out(one: Result, many: Result, cores: int, worker_cpu: float | None) -> str:
    """The measured ratio of ``many`` over ``one``, and the most this machine allows.

    A worker may use ``worker_cpu`` cores (one when uncapped). ``many`` is bounded
    by its workers' cap, ``workers x worker_cpu / (its service CPU per delivery)``,
    and by the machine, ``cores / (its machine CPU per delivery)``; ``one`` runs
    at ``worker_cpu / (its service CPU per delivery)``.
    """
    share = worker_cpu or 1.0
    one_cpu = statistics.median(one.service_cpu_ms)
    by_workers = many.workers * one_cpu / statistics.median(many.service_cpu_ms)
    by_machine = cores * one_cpu / (share * statistics.median(many.machine_cpu_ms))
    ceiling = min(by_workers, by_machine)
    measured = statistics.median(many.rates) / statistics.median(one.rates)
    bound = "its workers' CPU" if by_workers <= by_machine else f"the machine's {cores} cores"
    return (
        f"{many.setup} / {one.setup}: **{measured:.2f}x**; the most that CPU allows: "
        f"{ceiling:.2f}x (bound by {bound}: {by_workers:.2f}x by the workers, "
        f"{by_machine:.2f}x by the machine), so {measured / ceiling:.0%} of the ceiling."
    )
