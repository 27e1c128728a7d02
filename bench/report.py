"""The Markdown report: the scenario table with verdicts, worker memory, notes.

Verdicts judge each target on the measured figures, add "(noisy)" when other processes
used more than NOISY_CORES during the runs, and judge the req/s targets once more on CPU
per request, which a busy neighbour hardly moves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.context import Context
from bench.scenario import Scenario, ScenarioResult
from bench.scenarios import SCENARIOS
from bench.servers import LOGIN_RATE_LIMIT
from bench.wrk import Measurement

RSS_LIMIT_MIB = 80.0  # the former line on a worker's whole RSS, shown for reference
# The line: a worker's RSS minus the same third-party libraries alone (bench/memory_share.py).
OUR_PART_LIMIT_MIB = 20.0
NOISY_CORES = 0.3  # other processes using more than this during a run: say so


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _cells(m: Measurement | None) -> list[str]:
    if m is None:
        return ["—", "—", "—"]
    digits = 1 if m.rps < 100 else 0
    return [_fmt(m.rps, digits), _fmt(m.p50_ms, 2), _fmt(m.p99_ms, 2)]


def _cpu(m: Measurement | None) -> str:
    """CPU ms per request as app + database."""
    if m is None or m.app_cpu_ms is None:
        return "—"
    return f"{m.app_cpu_ms:.2f} + {m.db_cpu_ms or 0:.2f}"


def _non_2xx(m: Measurement | None) -> str:
    if m is None:
        return "—"
    text = str(m.non_2xx)
    bad = {k: v for k, v in m.statuses.items() if not k.startswith("2")}
    if bad:
        text += " (" + ", ".join(f"{k}x{v}" for k, v in sorted(bad.items())) + ")"
    if m.socket_errors:
        text += f" +{m.socket_errors} socket"
    return text


def verdicts(
    scenario: Scenario, result: ScenarioResult, results: Mapping[str, ScenarioResult]
) -> tuple[str, str]:
    """(targets, PASS/FAIL/n/a) for one row; errors under load fail the row."""
    if result.error:
        return "; ".join(t.label for t in scenario.targets) or "—", "ERROR"
    if not scenario.targets:
        return "— (reference)", "—"
    outcomes = [t.check(result, results) for t in scenario.targets]
    if result.ours is not None and not result.ours.clean:
        outcomes.append(False)
    if any(o is False for o in outcomes):
        verdict = "FAIL"
    elif all(o is True for o in outcomes):
        verdict = "PASS"
    else:
        verdict = "n/a"
    background = [
        m.background_cores
        for m in (result.ours, result.floor)
        if m is not None and m.background_cores is not None
    ]
    if verdict != "n/a" and background and max(background) > NOISY_CORES:
        verdict += " (noisy)"
    cpu = [t.cpu_check(result) for t in scenario.targets if t.cpu_check is not None]
    if cpu and None not in cpu:
        verdict += "; by CPU/req: " + ("PASS" if all(cpu) else "FAIL")
    return "; ".join(t.label for t in scenario.targets), verdict


def render_report(
    ctx: Context,
    results: Mapping[str, ScenarioResult],
    rss: Mapping[str, list[tuple[int, float, float]]],
    meta: Mapping[str, Any],
) -> str:
    lines = [
        "# notifier benchmark: our API vs the floor",
        "",
        f"- when: {meta['when']}",
        f"- machine: {meta['machine']}",
        f"- load: `{ctx.wrk.describe()}`, client and servers on the same machine",
        f"- gunicorn (both apps): {meta['gunicorn']}",
        f"- our API ran with its three login limits (`RATELIMIT_LOGIN`, `_PER_EMAIL`, "
        f'`_PER_ADDRESS`) at "{LOGIN_RATE_LIMIT}" (the defaults, 10/min per address and '
        "email, 50/h per email, 100/h per address, would turn the login scenario into 429s; "
        "the three are still counted on every login)",
        f"- each side measured {ctx.args.repeat}x per scenario, alternating which goes "
        "first; the table shows medians (every run in latest.json and wrk-*.txt)",
        "- latency in ms; ratio = ours / floor; non-2xx counted by wrk under load, summed "
        "over runs",
        "- CPU ms/req = CPU time per request of the server's gunicorn processes + of its "
        "PostgreSQL sessions (hardly moved by neighbours, unlike req/s)",
        "- bg CPU = cores used by other processes on this shared machine during the runs "
        "(worst run, ours / floor); req/s and latency suffer when it is high",
        '- result: the targets on req/s and p99 as measured, "(noisy)" when bg CPU went '
        f'over {NOISY_CORES} cores; "by CPU/req": the req/s target judged on CPU per '
        "request instead (req/s ≥ k x floor ⇔ CPU/req ratio ≤ 1/k)",
        "",
        "| scenario | ours req/s | ours p50 | ours p99 | floor req/s | floor p50 | floor p99 "
        "| req/s ratio | p99 ratio | CPU ms/req ours | CPU ms/req floor | CPU/req ratio "
        "| non-2xx ours | non-2xx floor | bg CPU | target | result |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|---|",
    ]
    for name, result in results.items():
        scenario = SCENARIOS[name]
        target, verdict = verdicts(scenario, result, results)
        row = [
            name,
            *_cells(result.ours),
            *_cells(result.floor),
            _fmt(result.ratio("rps"), 2),
            _fmt(result.ratio("p99_ms"), 2),
            _cpu(result.ours),
            _cpu(result.floor),
            _fmt(result.cpu_ratio(), 2),
            _non_2xx(result.ours),
            _non_2xx(result.floor),
            " / ".join(
                _fmt(m.background_cores, 2) if m else "—" for m in (result.ours, result.floor)
            ),
            target,
            verdict,
        ]
        lines.append("| " + " | ".join(row) + " |")

    small, large = results.get("list_100"), results.get("list_100k")
    if small and large and small.ours and large.ours and small.ours.p99_ms:
        ratio = large.ours.p99_ms / small.ours.p99_ms
        lines += [
            "",
            f"list_100k / list_100 p99 (ours): {large.ours.p99_ms:.2f} / "
            f"{small.ours.p99_ms:.2f} ms = **{ratio:.2f}** (target ≤ 1.5: "
            f"{'PASS' if ratio <= 1.5 else 'FAIL'})",
        ]
        if large.floor and small.floor and small.floor.p99_ms:
            lines.append(
                f"(floor: {large.floor.p99_ms / small.floor.p99_ms:.2f}, same table and index)"
            )

    for side, workers in rss.items():
        if not workers:
            continue
        seen = [(r, pid, f"after {sc}") for sc, name, pid, r, _ in ctx.rss if name == side]
        seen += [(r, pid, "at the end") for pid, r, _ in workers]
        worst, worst_pid, when = max(seen)
        target = ""
        libraries = meta.get("libraries_alone_mib")
        if side == "ours" and libraries:
            ours = worst - libraries
            verdict = "PASS" if ours <= OUR_PART_LIMIT_MIB else "FAIL"
            target = (
                f"; the same libraries alone {libraries:.1f} MiB, so our part is "
                f"{ours:.1f} MiB; target ≤ {OUR_PART_LIMIT_MIB:.0f} MiB: **{verdict}** "
                f"(the former line, ≤ {RSS_LIMIT_MIB:.0f} MiB of RSS in all: "
                f"{'met' if worst <= RSS_LIMIT_MIB else 'missed'})"
            )
        lines += [
            "",
            f"Worker memory, {side}: largest RSS seen {worst:.1f} MiB (pid {worst_pid}, "
            f"{when}){target}. At the end of the run:",
            "",
            "| worker pid | RSS MiB | peak RSS (VmHWM) MiB |",
            "|---:|---:|---:|",
        ]
        lines += [f"| {pid} | {r:.1f} | {h:.1f} |" for pid, r, h in workers]

    if ctx.rss:
        sides = list(dict.fromkeys(name for _, name, *_ in ctx.rss))
        lines += [
            "",
            "Largest worker RSS / VmHWM (MiB) after each scenario:",
            "",
            "| scenario | " + " | ".join(sides) + " |",
            "|---|" + "---:|" * len(sides),
        ]
        for sc in dict.fromkeys(sc for sc, *_ in ctx.rss):
            cells = []
            for side in sides:
                rows = [(r, h) for s, n, _, r, h in ctx.rss if s == sc and n == side]
                cells.append(
                    f"{max(r for r, _ in rows):.1f} / {max(h for _, h in rows):.1f}"
                    if rows
                    else "—"
                )
            lines.append(f"| {sc} | " + " | ".join(cells) + " |")

    lines += ["", "Scenarios:", ""]
    lines += [f"- **{name}**: {SCENARIOS[name].measures}" for name in results]
    errors = [f"- {name}: {r.error}" for name, r in results.items() if r.error]
    if errors:
        lines += ["", "Errors:", "", *errors]
    if ctx.notes:
        lines += ["", "Notes:", ""]
        for note in ctx.notes:
            lines += [note, ""] if note.startswith("###") else [f"- {note}"]
    return "\n".join(lines).rstrip() + "\n"
