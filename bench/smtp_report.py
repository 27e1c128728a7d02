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
    service_cpu_ms: list[float] = field(default_factory=list)  # per delivery
    machine_cpu_ms: list[float] = field(default_factory=list)  # per delivery, every process


def table(results: list[Result], args) -> str:
    base = statistics.median(results[0].rates)
    cores = os.cpu_count() or 1
    lines = [
        f"SMTP delivery bench: wrk -t2 -c{args.connections} -d{args.duration}s, "
        f"{args.repeat} run(s) per setup, median shown; {platform.node()}, "
        f"{cores} CPUs, load average {os.getloadavg()[0]:.1f} at the end.",
        "",
        "| setup | deliveries/s | vs 1 worker | service CPU ms / delivery | "
        "machine CPU ms / delivery | p50 ms | p99 ms | non-2xx | emails received / requests |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        rate = statistics.median(result.rates)
        lines.append(
            f"| {result.setup} | {rate:.0f} | {rate / base:.2f}x | "
            f"{statistics.median(result.service_cpu_ms):.2f} | "
            f"{statistics.median(result.machine_cpu_ms):.2f} | {result.p50_ms:.1f} | "
            f"{result.p99_ms:.1f} | {result.non_2xx} | {result.smtp_messages} / "
            f"{result.requests} |"
        )
    one, three = results[0], results[-1]
    ceiling = (
        cores * statistics.median(one.service_cpu_ms) / statistics.median(three.machine_cpu_ms)
    )
    measured = statistics.median(three.rates) / base
    lines += [
        "",
        f"{three.setup} / {one.setup}: {measured:.2f}x; the most this machine allows: "
        f"{ceiling:.2f}x ({cores} cores x {one.setup}'s service CPU per delivery / "
        f"the machine's CPU per delivery with {three.setup}), so {measured / ceiling:.0%} "
        "of the ceiling.",
    ]
    return "\n".join(lines)
