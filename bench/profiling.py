"""py-spy on our workers during a measured run, and where the request time went.

A flame graph, on-CPU and wall-clock collapsed stacks, summarised by category of the
innermost frame, by innermost frame, and by our own functions. The figures belong in the
report and docs/operations/performance.md, never in code comments.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from bench.paths import RESULTS_DIR, VENV_BIN
from bench.processes import Process

if TYPE_CHECKING:
    from bench.context import Context


class Profiler:
    """py-spy on three of our workers during a run.

    An SVG flame graph of on-CPU time (worker 1), collapsed stacks of on-CPU time (worker
    2) and of wall-clock time including waits on the database (`--idle`, worker 3).
    """

    def __init__(self, ctx: Context, scenario: str, duration_s: int) -> None:
        self.ctx = ctx
        self.scenario = scenario
        self.duration_s = max(duration_s - 2, 1)
        self.procs: list[Process] = []
        self.outputs = [
            ("flamegraph", RESULTS_DIR / f"{scenario}.svg", []),
            ("raw", RESULTS_DIR / f"{scenario}.cpu.collapsed", []),
            ("raw", RESULTS_DIR / f"{scenario}.wall.collapsed", ["--idle"]),
        ]

    def start(self) -> None:
        py_spy = shutil.which("py-spy", path=str(VENV_BIN)) or shutil.which("py-spy")
        if py_spy is None or self.ctx.ours is None:
            self.ctx.notes.append("profile: py-spy not found (pip install py-spy into .venv)")
            return
        workers = self.ctx.ours.workers()
        time.sleep(1)  # past connection set-up
        for (fmt, path, extra), pid in zip(self.outputs, workers, strict=False):
            argv = [py_spy, "record", "-d", str(self.duration_s), "-r", "200", "-f", fmt]
            argv += [*extra, "-o", str(path), "--pid", str(pid)]
            log = RESULTS_DIR / f"py-spy-{path.stem}.log"
            proc = self.ctx.procs.start(argv, os.environ, name=f"py-spy {path.name}", log_path=log)
            self.procs.append(proc)

    def finish(self) -> str | None:
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=self.duration_s + 30)
            self.ctx.procs.stop(proc)
        parts = []
        for _, path, extra in self.outputs[1:]:
            if path.exists():
                kind = "wall-clock, waits included" if extra else "on-CPU"
                parts.append(summarise_collapsed(f"{self.scenario}, {kind}", path))
        if not parts:
            tails = " | ".join(p.log_tail(3) for p in self.procs)
            self.ctx.notes.append(f"profile {self.scenario}: no py-spy output ({tails})")
            return None
        text = "\n".join(parts)
        (RESULTS_DIR / f"{self.scenario}-profile.md").write_text(text + "\n")
        return text


# Where a sample's innermost frame lives -> what the time is spent on (first match wins).
PROFILE_CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "database round trips (execute, commit, rollback, pre-ping)",
        ("do_execute", "do_ping", "do_commit", "do_rollback", "psycopg2"),
    ),
    ("SQLAlchemy in Python (ORM, SQL compile, pool)", ("sqlalchemy/",)),
    ("marshmallow / flask-smorest / webargs", ("marshmallow/", "flask_smorest/", "webargs/")),
    ("validators (email-validator, phonenumbers)", ("email_validator/", "phonenumbers/")),
    ("JWT (flask-jwt-extended, PyJWT, hmac)", ("flask_jwt_extended/", "jwt/", "hmac.py")),
    ("rate limiter", ("flask_limiter/", "limits/")),
    ("argon2", ("argon2/",)),
    ("our code (notifier/)", ("notifier/",)),
    ("Flask / Werkzeug / json", ("flask/", "werkzeug/", "json/")),
    ("gunicorn (HTTP parsing, sockets)", ("gunicorn/",)),
)


def _category(frame: str) -> str:
    for name, needles in PROFILE_CATEGORIES:
        if any(n in frame for n in needles):
            return name
    return "other (stdlib, logging, ...)"


def summarise_collapsed(title: str, path: Path, top: int = 12) -> str:
    """Where request time goes, from py-spy's collapsed stacks.

    Only samples inside Flask.__call__ count (a sync worker waiting for its next
    connection is not request time). Three views: by category of the innermost frame, the
    innermost frames themselves, and our own functions (notifier/) inclusive.
    """
    own: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = stack.split(";")
        if not any(f.startswith("Flask.__call__") for f in frames):
            continue
        count = int(count_text)
        total += count
        own[frames[-1]] += count
        categories[_category(frames[-1])] += count
        for frame in {f for f in frames if "(notifier/" in f}:
            ours[frame] += count
    if not total:
        return f"### py-spy: {title}: no samples inside Flask.__call__\n"
    lines = [f"### py-spy: {title} (one worker, {total} samples inside requests)", ""]
    sections = (
        ("By category of the innermost frame", categories, len(categories)),
        ("Innermost frames", own, top),
        ("Our functions (inclusive)", ours, top),
    )
    for heading, counter, limit in sections:
        lines += [f"{heading}:", "", "| % of request time | where |", "|---:|---|"]
        for frame, n in counter.most_common(limit):
            lines.append(f"| {100 * n / total:.1f} | `{frame}` |")
        lines.append("")
    return "\n".join(lines)
