"""prometheus_client's multiprocess directory, for the gunicorn configuration files.

gunicorn's workers are separate processes, each with its own counters; in the
library's multiprocess mode each writes its values to files in
`PROMETHEUS_MULTIPROC_DIR` and `/metrics` sums them. The directory must be set
before any worker imports prometheus_client, must start empty (files of an
earlier run would be summed too), and a dead worker must be marked so that its
live gauges are dropped. gunicorn's master runs this module: it imports only the
standard library, and prometheus_client only inside `mark_worker_dead` (after
the first workers are forked, never before a gevent worker's patching).

Nothing is set up without `METRICS_TOKEN`: no metrics, no files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"
CREATED_ENV = "NOTIFIER_MULTIPROC_DIR_CREATED"


def prepare_multiproc_dir() -> str | None:
    """At configuration load, in the master: pick the directory and export it to the
    workers. `PROMETHEUS_MULTIPROC_DIR` when set, else a new private temporary one
    (removed at exit). None when metrics are off."""
    if not os.environ.get("METRICS_TOKEN"):
        return None
    directory = os.environ.get(ENV)
    if not directory:
        base = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 (memory-backed)
        directory = tempfile.mkdtemp(prefix="notifier-metrics-", dir=base)
        os.environ[ENV] = directory
        os.environ[CREATED_ENV] = directory
    Path(directory).mkdir(parents=True, exist_ok=True)
    return directory


def clear_multiproc_dir() -> None:
    """At start (`on_starting`): forget the values of an earlier run."""
    directory = os.environ.get(ENV)
    if not directory or not os.environ.get("METRICS_TOKEN"):
        return
    for path in Path(directory).glob("*.db"):
        path.unlink(missing_ok=True)


def mark_worker_dead(pid: int) -> None:
    """`child_exit`: drop a dead worker's live gauges; its counters stay in the sums."""
    if not os.environ.get(ENV) or not os.environ.get("METRICS_TOKEN"):
        return
    from prometheus_client import multiprocess  # see the module docstring

    multiprocess.mark_process_dead(pid)


def remove_multiproc_dir() -> None:
    """`on_exit`: remove the directory if we created it."""
    directory = os.environ.get(CREATED_ENV)
    if directory and directory == os.environ.get(ENV):
        shutil.rmtree(directory, ignore_errors=True)
