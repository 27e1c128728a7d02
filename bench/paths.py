"""Where the benchmark finds its tools and scripts, and where it writes its results."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO_ROOT / "bench"
SCRIPTS_DIR = BENCH_DIR / "scripts"
RESULTS_DIR = BENCH_DIR / "results"
VENV_BIN = REPO_ROOT / ".venv" / "bin"
GUNICORN_CONF = REPO_ROOT / "gunicorn.conf.py"
