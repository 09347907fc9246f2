"""The CPU cores this process may keep busy (no torch here: the instant network counts them too)."""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")


def usable_cores(cgroup: Path | None = None) -> int:
    """The cores this process may run on, at most its container's CPU quota.

    A container sees the whole host: on a 2-core Hugging Face Space ``os.cpu_count()`` counts the node's cores,
    and so can the affinity mask, while the cgroup's quota (``cpu.max``, or ``cpu.cfs_quota_us`` over
    ``cpu.cfs_period_us`` in cgroup v1) allows two. Threads in lockstep beyond the quota are throttled together,
    so the quota is rounded down (1.5 cores: 1 thread), never below one.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    quota = cgroup_quota(CGROUP if cgroup is None else cgroup)
    return max(1, min(cores, math.floor(quota)) if quota is not None else cores)


def cgroup_quota(cgroup: Path) -> float | None:
    """Cores of CPU time this container may use (cgroup v2, then v1); None where nothing limits it or says."""
    try:
        quota, period = (cgroup / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    for folder in (cgroup / "cpu", cgroup / "cpu,cpuacct"):
        try:
            quota_us = int((folder / "cpu.cfs_quota_us").read_text())
            period_us = int((folder / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            continue
        return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us
    return None
