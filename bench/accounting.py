"""CPU and memory accounting from /proc: per process, per PostgreSQL session, per machine.

The machine is shared, so req/s alone can lie: these readings give CPU time per request
(the server's processes and its PostgreSQL sessions) and the CPU that other processes used
during a run, both of which the report shows next to the throughput.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.database import Database
    from bench.servers import Server


def child_pids(pid: int) -> list[int]:
    """PIDs whose parent is pid (gunicorn's workers), from /proc/*/stat."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # Field 4 is the parent PID; the command (field 2) may hold spaces and parentheses.
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def memory_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of pid in MiB."""
    values = {"VmRSS": 0.0, "VmHWM": 0.0}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in values:
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def cpu_seconds(pids: list[int], reaped_children_of: int | None = None) -> float:
    """User + system CPU time consumed so far by pids (vanished pids count 0).

    For reaped_children_of (a gunicorn master), also the CPU of its children that have
    exited (workers recycled by max_requests), so that a worker dying mid-run is no loss.
    """
    ticks = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
        if pid == reaped_children_of:
            ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def wait_for_quiet(max_wait_s: float, threshold_cores: float = 0.25) -> float:
    """Wait (up to max_wait_s) until the machine is idle while our servers are; busy cores."""
    deadline = time.monotonic() + max_wait_s
    while True:
        busy0, total0 = machine_busy_ticks()
        time.sleep(1)
        busy1, total1 = machine_busy_ticks()
        cores = (os.cpu_count() or 1) * (busy1 - busy0) / max(total1 - total0, 1)
        if cores < threshold_cores or time.monotonic() >= deadline:
            return cores


def parent_pid(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(text[text.rindex(")") + 2 :].split()[1])


def housekeeping_pids(postmaster: int) -> list[int]:
    """PostgreSQL's own processes: children of the postmaster that serve no client
    (a client backend's title holds its address, `host(port)` or `[local]`)."""
    pids = []
    for pid in child_pids(postmaster):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "(" not in title and "[local]" not in title:
            pids.append(pid)
    return pids


def pid_cpu_seconds(pid: int) -> float | None:
    """CPU seconds used so far by pid, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class DbCpuTracker:
    """CPU used by each server's PostgreSQL sessions during a run.

    Sessions are found by application_name (PGAPPNAME) and sampled twice a second, so a
    session that ends mid-run (a recycled worker's pool) still counts up to its last
    sample, and one that starts mid-run counts from zero. PostgreSQL's own processes
    (WAL writer, checkpointer, autovacuum: work our writes cause) count under HOUSEKEEPING.
    """

    HOUSEKEEPING = "postgres housekeeping"

    def __init__(self, servers: Iterable[Server], db: Database) -> None:
        self._names = {s.pg_application_name: s.name for s in servers}
        self._database = db.name
        self._conn = db.connect()
        self._conn.autocommit = True
        # The postmaster is the parent of our own session's backend.
        with self._conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            (backend,) = cur.fetchone() or (0,)
        self._postmaster = parent_pid(backend)
        self._first: dict[int, float] = {}
        self._last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.seen: set[str] = set()

    def _sample(self, baseline: bool) -> None:
        with self._conn.cursor() as cur:
            cur.execute(
                "SELECT application_name, pid FROM pg_stat_activity WHERE datname = %s",
                (self._database,),
            )
            rows = cur.fetchall()
        tracked = [(self._names.get(app_name), pid) for app_name, pid in rows]
        if self._postmaster:
            tracked += [(self.HOUSEKEEPING, pid) for pid in housekeeping_pids(self._postmaster)]
        for server, pid in tracked:
            cpu = pid_cpu_seconds(pid) if server else None
            if server is None or cpu is None:
                continue
            self.seen.add(server)
            self._first.setdefault(pid, cpu if baseline else 0.0)
            self._last[pid] = (server, cpu)

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            self._sample(baseline=False)

    def __enter__(self) -> DbCpuTracker:
        self._sample(baseline=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample(baseline=False)
        self._conn.close()

    def used(self) -> dict[str, float]:
        """CPU seconds per server name over the run."""
        totals = dict.fromkeys([*self._names.values(), self.HOUSEKEEPING], 0.0)
        for pid, (server, cpu) in self._last.items():
            totals[server] += max(cpu - self._first[pid], 0.0)
        return totals
