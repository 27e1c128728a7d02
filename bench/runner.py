"""Running one scenario: prepare, measure (a wrk pair by default), record worker memory.

A failed scenario becomes a row with its error, and the run goes on to the next one.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping

import psycopg2
import requests

from bench.accounting import memory_mib, wait_for_quiet
from bench.context import Context
from bench.profiling import Profiler
from bench.scenario import Scenario, ScenarioResult
from bench.servers import OURS_APP, Server, start_server
from bench.wrk import Measurement, WrkSpec, run_wrk


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


def use_ours_env(ctx: Context, extra_env: Mapping[str, str]) -> None:
    """Restart our API when a scenario needs another extra environment than it runs with."""
    if ctx.ours is None or dict(extra_env) == dict(ctx.ours_env):
        return
    print(f"  restart our API with {dict(extra_env) or 'no extra environment'}", flush=True)
    ctx.procs.stop(ctx.ours.proc)
    ctx.ours = None
    ctx.ours = start_server(ctx.procs, "ours", OURS_APP, ctx.secret, ctx.db.dsn, extra_env)
    ctx.ours_env = dict(extra_env)


def run_scenario(ctx: Context, scenario: Scenario) -> ScenarioResult:
    """Prepare and measure one scenario, then note every worker's memory."""
    print(f"scenario {scenario.name}", flush=True)
    try:
        use_ours_env(ctx, scenario.ours_env)
        if scenario.prepare:
            scenario.prepare(ctx)
        result = (scenario.run or run_wrk_pair)(ctx, scenario)
        for server in ctx.servers():
            for pid in server.workers():
                ctx.rss.append((scenario.name, server.name, pid, *memory_mib(pid)))
    except (RuntimeError, requests.RequestException, psycopg2.Error) as exc:
        result = ScenarioResult(error=str(exc).strip().splitlines()[0][:300])
        ctx.notes.append(f"{scenario.name} failed: {exc}")
        print(f"  failed: {exc}", file=sys.stderr, flush=True)
    return result
