"""A Ray cluster of one machine, for the tests and the benchmarks: started in a session of its own, and ended
exactly (every process of that session, and nothing else). Its workers import this checkout."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout, which the workers import


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def session_processes(session: int) -> list[int]:
    """The live processes of a session (the head and everything it started: raylet, workers, replicas); a
    zombie waiting for its parent to reap it is ended already."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == session and fields[0] != "Z":  # after the name: state, ppid, pgrp, session
                pids.append(int(entry.name))
    return pids


@dataclass(frozen=True)
class Head:
    address: str  # host:port
    session: int  # the session of its processes (the head's pid)


@contextmanager
def ray_head(num_cpus: int = 2, log: Path | None = None) -> Iterator[Head]:
    """A Ray head on this machine, whose workers import this checkout."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0", "NST_DEVICE": "cpu"}
    command = [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block", "--port", str(port),
               "--num-cpus", str(num_cpus), "--include-dashboard=false", "--object-store-memory", str(300 * 2**20),
               "--disable-usage-stats"]  # fmt: skip
    output = open(log or os.devnull, "w")  # noqa: SIM115 (closed below)
    head = subprocess.Popen(command, env=env, start_new_session=True, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if head.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"ray start --head exited or hung (status {head.poll()})") from None
                time.sleep(0.3)
        yield Head(f"127.0.0.1:{port}", head.pid)
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            head.wait(3)  # then whatever is left of the session is killed
        deadline = time.monotonic() + 10
        while (left := session_processes(head.pid)) and time.monotonic() < deadline:
            for pid in left:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        head.wait(10)
        output.close()
        _forget(port)


def _forget(port: int) -> None:
    """Remove Ray's note of the newest cluster if it is this one (``ray stop`` does the same), so that a later
    ``ray.init()`` on this machine starts a cluster of its own instead of looking for this ended one."""
    note = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
    with suppress(OSError):
        if note.read_text().strip().endswith(f":{port}"):
            note.unlink()
