"""The batch benchmark's Markdown table, ratios and targets."""

from __future__ import annotations

import argparse
import os
import platform
from datetime import UTC, datetime

from bench.batch_runs import Side

ONE_DISPATCHER_PER_S = 500.0
TWO_OVER_ONE = 1.8
OURS_OVER_PEER = 1.5


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def table(sides: list[Side], args: argparse.Namespace) -> str:
    lines = [
        "# One batch: our dispatcher against the Celery peer",
        "",
        f"{datetime.now(UTC).isoformat(timespec='seconds')} on {platform.node()}: "
        f"{os.cpu_count()} CPUs, {args.count} notifications, provider latency "
        f"{args.latency} ms, {args.repeat} repeat(s); our dispatchers at their default "
        f"settings; Celery workers `-P gevent -c {args.peer_concurrency}`.",
        "",
        "deliveries/s: (count - 1) / (last `sent_at` - first `sent_at`), the median run "
        "(of an even number, the lower middle one) "
        "(every run in brackets). CPU per delivery from /proc between the first and the "
        "last completion: the worker processes, the delivery service, and the workers' "
        "PostgreSQL sessions. Load: the 1-minute load average before each run (mean).",
        "",
        "| side | processes | deliveries/s | CPU ms/delivery: workers | delivery service "
        "| PostgreSQL | total | worker RSS peak | exactly once | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|:---:|---:|",
    ]
    for s in sides:
        runs = ", ".join(f"{x:.0f}" for x in s.repeats)
        once = "yes" if s.exactly_once else f"NO ({s.detail})"
        lines.append(
            f"| {s.name} | {s.procs} | {s.per_s:.0f} ({runs}) | {s.worker_cpu_ms:.2f} | "
            f"{s.service_cpu_ms:.2f} | {s.db_cpu_ms:.2f} | {s.total_cpu_ms:.2f} | "
            f"{s.rss_mb:.0f} MB | {once} | {s.load:.2f} |"
        )
    by = {(s.name, s.procs): s for s in sides}
    lines += ["", "Targets:", ""]
    one, two = by.get(("ours", 1)), by.get(("ours", 2))
    if one:
        lines.append(
            f"- one dispatcher >= {ONE_DISPATCHER_PER_S:.0f}/s: {one.per_s:.0f}/s "
            + _verdict(one.per_s >= ONE_DISPATCHER_PER_S)
        )
    if one and two:
        ratio = two.per_s / one.per_s
        lines.append(
            f"- two dispatchers >= {TWO_OVER_ONE}x one (uncapped, sharing the machine; "
            f"the capped check is delivery_bench.py --dispatcher-cpu): {ratio:.2f}x "
            + _verdict(ratio >= TWO_OVER_ONE)
        )
    for procs in (1, 2):
        ours, peer = by.get(("ours", procs)), by.get(("celery", procs))
        if ours and peer and peer.per_s:
            ratio = ours.per_s / peer.per_s
            lines.append(
                f"- {procs} process(es): ours >= {OURS_OVER_PEER}x Celery: {ratio:.2f}x "
                + _verdict(ratio >= OURS_OVER_PEER)
                + f"; CPU per delivery ours {ours.total_cpu_ms:.2f} ms vs Celery "
                f"{peer.total_cpu_ms:.2f} ms (workers {ours.worker_cpu_ms:.2f} vs "
                f"{peer.worker_cpu_ms:.2f}) " + _verdict(ours.total_cpu_ms < peer.total_cpu_ms)
            )
    lines.append(
        "- exactly once (every row sent with one attempt, /stats sent = requests = count, "
        "no replays; ours: one `sent` attempt per notification): "
        + _verdict(all(s.exactly_once for s in sides))
    )
    return "\n".join(lines) + "\n"
