"""Start, wait for and stop the processes a benchmark or a test needs: one helper for both.

The bench (gunicorn servers, dispatchers, py-spy) and the tests (a live API, the delivery
service under gunicorn, dispatcher processes) all need the same four things: a free port on
127.0.0.1, a command started with its own environment and log file, a wait until a URL
answers (with the log's tail when it does not), and a clean stop by PID.

Stopping only ever signals what `start` created, and only while its PID is still ours:
a child is signalled by PID until it has been reaped, and never after (a reaped PID may
belong to someone else by then). A process started with `own_group=True` (the default)
leads its own process group; after the grace period, or once the leader has exited but
before it is reaped, the group is killed whole, so that workers it forked (gunicorn's)
cannot outlive it. While the unreaped leader holds the group's id, no other process can
own that group.

Only the standard library: tests import this module, and it must not pull Flask or a
database driver into processes that do not need them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
STOP_GRACE_S = 10.0


class ProcessError(RuntimeError):
    """A started process died or did not answer in time; the message holds its log tail."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tail(path: Path | None, lines: int = 40) -> str:
    """The last lines of a log file, or a short note when there is none."""
    if path is None:
        return "(no log)"
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Process:
    """A process `start` created: its Popen, the log it writes, whether it leads a group."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path | None = None
    own_group: bool = True

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    def running(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.log_path, lines)

    def wait_until_answers(
        self, url: str, timeout_s: float = 60.0, status: int = 200, interval_s: float = 0.2
    ) -> None:
        """Poll GET url until it answers `status`; ProcessError (with the log tail) if the
        process exits first or nothing answers within timeout_s."""
        deadline = time.monotonic() + timeout_s
        while True:
            if not self.running():
                raise ProcessError(
                    f"{self.name} (pid {self.pid}) exited with {self.returncode} before "
                    f"{url} answered; log tail:\n{self.log_tail()}"
                )
            if _answers(url, status):
                return
            if time.monotonic() >= deadline:
                raise ProcessError(
                    f"{self.name} (pid {self.pid}): no {status} from {url} within "
                    f"{timeout_s:g} s; log tail:\n{self.log_tail()}"
                )
            time.sleep(interval_s)

    def stop(self, grace_s: float = STOP_GRACE_S) -> int | None:
        """SIGTERM, then SIGKILL (to the whole group when it leads one) after grace_s.

        Returns the exit status (negative: the signal that ended it). A process that was
        already reaped is left alone: its PID is no longer ours to signal.
        """
        if self.popen.returncode is not None:
            return self.popen.returncode
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        exited = _wait_exit_unreaped(self.pid, grace_s)
        if not exited:
            print(f"  {self.name} (pid {self.pid}) ignored SIGTERM; SIGKILL", file=sys.stderr)
        # Still unreaped here, so the PID (and the group it leads) is still this child's.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if self.own_group:
                os.killpg(self.pid, signal.SIGKILL)
            elif not exited:
                os.kill(self.pid, signal.SIGKILL)
        return self.popen.wait()


def _answers(url: str, status: int) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own URL
            return bool(response.status == status)
    except urllib.error.HTTPError as error:
        return error.code == status
    except (OSError, ValueError):
        return False


def _wait_exit_unreaped(pid: int, timeout_s: float) -> bool:
    """Wait until the child pid has exited, without reaping it; False on timeout."""
    deadline = time.monotonic() + timeout_s
    flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
    while True:
        try:
            if os.waitid(os.P_PID, pid, flags) is not None:
                return True
        except ChildProcessError:
            return True  # reaped elsewhere: nothing left to wait for
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def start(
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    *,
    name: str = "",
    log_path: Path | None = None,
    cwd: Path = REPO_ROOT,
    own_group: bool = True,
) -> Process:
    """Start argv with exactly `env` (the current environment when None), output to log_path.

    With own_group the process leads a new session: a Ctrl-C in the terminal reaches only
    the caller, which then stops everything in order, and the group can be killed whole.
    """
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "wb")  # noqa: SIM115 - closed below; the child has its own copy
    else:
        log = subprocess.DEVNULL
    try:
        popen = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(os.environ if env is None else env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=own_group,
        )
    finally:
        if log_path is not None:
            log.close()  # type: ignore[union-attr]
    return Process(name or Path(argv[0]).name, popen, log_path, own_group)


class Processes:
    """The processes one run (or one fixture) started; `stop_all` stops them, newest first.

    Usable as a context manager, so that an error or a Ctrl-C still stops everything.
    """

    def __init__(self) -> None:
        self._started: list[Process] = []

    def start(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None, **kw: Any
    ) -> Process:
        process = start(argv, env, **kw)
        self._started.append(process)
        return process

    def stop(self, process: Process, grace_s: float = STOP_GRACE_S) -> int | None:
        code = process.stop(grace_s)
        if process in self._started:
            self._started.remove(process)
        return code

    def stop_all(self, grace_s: float = STOP_GRACE_S) -> None:
        for process in reversed(list(self._started)):
            self.stop(process, grace_s)

    def __iter__(self) -> Iterator[Process]:
        return iter(list(self._started))

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()
