"""The CPU cores this process may keep busy (no torch here: the instant network counts them too)."""

from __future__ import annotations

import math
import os
from pathlib import Path, PurePosixPath

CGROUP = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def usable_cores(cgroup: Path | None = None, proc_cgroup: Path | None = None) -> int:
    """The cores this process may run on, at most its cgroup's CPU quota.

    A container sees the whole host: on a 2-core Hugging Face Space ``os.cpu_count()`` counts the node's cores,
    and so can the affinity mask, while the cgroup's quota (``cpu.max``, or ``cpu.cfs_quota_us`` over
    ``cpu.cfs_period_us`` in cgroup v1) allows two. The quota is rounded down (1.5 cores: 1 thread), never below
    one: threads past it are throttled together (measured: docs/design.md, "Deploying").
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    quota = cgroup_quota(CGROUP if cgroup is None else cgroup, PROC_CGROUP if proc_cgroup is None else proc_cgroup)
    return max(1, min(cores, math.floor(quota)) if quota is not None else cores)


def cgroup_quota(cgroup: Path, proc_cgroup: Path) -> float | None:
    """Cores of CPU time this process's cgroup allows, the tightest of its own and its parents' (cgroup v2 or
    v1, as ``proc_cgroup`` names them under ``cgroup``); None where nothing limits it or nothing says."""
    quotas = [quota for folder in _folders(cgroup, proc_cgroup) if (quota := _quota_in(folder)) is not None]
    return min(quotas) if quotas else None


def _folders(cgroup: Path, proc_cgroup: Path) -> list[Path]:
    """The cgroup folders that may limit this process: its own and each parent's, then the mounts' roots (in a
    container the namespace's root is the container's own group)."""
    found: list[Path] = []
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            mounts = [cgroup, cgroup / "unified"]  # cgroup v2, alone or beside v1
        elif "cpu" in controllers.split(","):
            mounts = [cgroup / controllers, cgroup / "cpu", cgroup / "cpu,cpuacct"]
        else:
            continue
        own = PurePosixPath(path)
        found += [mount / str(folder).lstrip("/") for mount in mounts for folder in (own, *own.parents)]
    return [*found, cgroup, cgroup / "cpu", cgroup / "cpu,cpuacct"]


def _quota_in(folder: Path) -> float | None:
    try:
        quota, period = (folder / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((folder / "cpu.cfs_quota_us").read_text())
        period_us = int((folder / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us
