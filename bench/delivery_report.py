"""The delivery benchmark's Markdown table and its targets."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime

from bench.delivery_runs import Run

TARGETS = {
    "throughput_200ms_1_proc": 500.0,  # deliveries/s, at the default settings
    "scaling_200ms_2_procs": 1.8,  # x one process
    "p50_slack_ms": 50.0,  # create->sent p50 <= latency + this
    "rss_mb": 120.0,
}


def _cap(run: Run) -> str:
    return f"{run.cpu_cap:g} core" if run.cpu_cap else "-"


def table(runs: list[Run], env: dict[str, str]) -> str:
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
        "| provider latency | dispatchers | CPU cap each | notifications | deliveries/s "
        "| first claim to last sent | exactly once | create->sent p50 | p99 | max "
        "| dispatcher RSS (peak) | load |",
        "|---:|---:|---:|---:|---:|---:|:---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        lat = (
            f"{run.p50_ms:.0f} ms | {run.p99_ms:.0f} ms | {run.max_ms:.0f} ms"
            if run.p50_ms is not None
            else "- | - | -"
        )
        lines.append(
            f"| {run.latency_ms} ms | {run.procs} | {_cap(run)} | {run.count} | {run.per_s:.0f} "
            f"({', '.join(f'{x:.0f}' for x in run.repeats)}) | "
            f"{run.seconds:.2f} s | {'yes' if run.exactly_once else 'NO ' + str(run.stats)} | "
            f"{lat} | {run.rss_mb:.0f} MB | {run.load:.2f} |"
        )
    lines += ["", "Targets:", ""]
    by = {(r.latency_ms, r.procs, r.cpu_cap): r for r in runs}
    one = by.get((200, 1, None))
    if one:
        floor = TARGETS["throughput_200ms_1_proc"]
        ok = one.per_s >= floor
        lines.append(
            f"- 200 ms, one process >= {floor:g}/s: {one.per_s:.0f}/s {'met' if ok else 'MISSED'}"
        )
    for cap in sorted({r.cpu_cap for r in runs}, key=lambda c: c or 0):
        one, two = by.get((200, 1, cap)), by.get((200, 2, cap))
        if one and two:
            ratio = two.per_s / one.per_s
            ok = ratio >= TARGETS["scaling_200ms_2_procs"]
            each = f"each capped at {cap:g} core" if cap else "uncapped, sharing the machine"
            lines.append(
                f"- two processes >= 1.8x one ({each}): {ratio:.2f}x {'met' if ok else 'MISSED'}"
            )
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
