"""Cap a process's CPU with its own cgroup: a stand-in for "one core each" on a small machine.

On two cores, three delivery-service workers share the cores with the SMTP server, wrk and
Redis, so a scale-out test measures the machine, not the service. Giving every worker
the same quota (say half a core) makes each worker a slower "core" of its own: one
worker can use 0.5 of a core, three 1.5, and the rest of the machine stays free for the
others. If three workers then deliver three times what one does, nothing inside the
service (the Redis claim, a lock, the SMTP pool) serialises them.

Needs root and the cgroup CPU controller (v1 ``/sys/fs/cgroup/cpu`` or v2 with ``cpu``
enabled at the root); :func:`available` says whether it can work here.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PERIOD_US = 100_000
V1_ROOT = Path("/sys/fs/cgroup/cpu")
V2_ROOT = Path("/sys/fs/cgroup")


def _root() -> tuple[Path, bool] | None:
    """(where new groups go, is cgroup v2), or None when there is no CPU controller."""
    if (V1_ROOT / "cpu.cfs_quota_us").exists():
        return V1_ROOT, False
    controllers = V2_ROOT / "cgroup.subtree_control"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        return V2_ROOT, True
    return None


def available() -> bool:
    """Whether this process may create CPU-capped cgroups."""
    found = _root()
    return found is not None and os.access(found[0], os.W_OK)


class CpuQuotas:
    """One cgroup per capped PID; `remove` deletes them once their processes are gone."""

    def __init__(self, cores: float, tag: str) -> None:
        found = _root()
        if found is None:
            raise RuntimeError("no cgroup CPU controller on this machine")
        self.root, self.v2 = found
        self.cores = cores
        self.tag = tag
        self.groups: list[Path] = []

    def cap(self, pid: int) -> None:
        """Move pid into a new group that may use `cores` of a CPU at most."""
        group = self.root / f"{self.tag}-{pid}"
        group.mkdir()
        self.groups.append(group)
        quota = int(self.cores * PERIOD_US)
        if self.v2:
            (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        else:
            (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(str(quota))
        (group / "cgroup.procs").write_text(str(pid))

    def remove(self) -> None:
        """Delete the groups (each must be empty: call after its process exited)."""
        for group in self.groups:
            with contextlib.suppress(OSError):
                group.rmdir()
        self.groups.clear()
