"""A page server's side of the cluster: the same calls as the embedded scheduler, answered by the cluster's line.

:class:`ClusterService` connects to a running Ray cluster where ``deploy/serve.yaml`` is deployed and hands
each call to its :class:`~job_service.cluster.Line`, so the pages show the cluster's places, plans, previews
and Stop exactly as they show the embedded scheduler's. A cluster that cannot be reached, at the start or
later, is said in a sentence (:class:`ClusterError`); the page stays up.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from nst_core.errors import NSTError

from .jobs import JobStatus, Lane, Work
from .pace import Pace

CONNECT_SECONDS = 5.0  # to reach the cluster's head at the start
CALL_SECONDS = 30.0  # for one call to the line (a status, a submit)


class ClusterError(NSTError, ConnectionError):
    """The painting cluster cannot be reached, or its application is not deployed."""


def _reachable(address: str) -> None:
    """Fail fast, with a sentence, when nothing listens at ``host:port`` (Ray itself would retry for a minute)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"The cluster address {address!r} is not host:port (for example 10.0.0.5:6379).")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as error:
        reason = error.strerror or error
        raise ClusterError(f"The painting cluster at {address} cannot be reached ({reason}).") from None


class ClusterService:
    """The job service of a Ray cluster, called like :class:`~job_service.scheduler.Scheduler`."""

    def __init__(self, address: str, app_name: str = "nst") -> None:
        """Connect to the cluster at ``address`` (its head's ``host:port``) and find its line.

        Raises:
            ClusterError: nothing answers there, or the application is not deployed.
        """
        import ray
        from ray import serve

        self.address = address
        _reachable(address)
        try:
            if not ray.is_initialized():
                ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
            self._line = serve.get_deployment_handle("Line", app_name=app_name)
            self.settings: dict[str, Any] = self._call("settings")
        except ClusterError:
            raise
        except Exception as error:  # noqa: BLE001 (Ray's many ways of saying so)
            raise ClusterError(f"The painting cluster at {address} has no demo deployed ({type(error).__name__}); "
                               "deploy deploy/serve.yaml there.") from None  # fmt: skip

    def _call(self, method: str, *args: Any, timeout: float = CALL_SECONDS) -> Any:
        import ray

        try:
            return getattr(self._line, method).remote(*args).result(timeout_s=timeout)
        except ray.exceptions.RayTaskError as error:  # the line's own answer: KeyError for a job it does not know
            raise error.cause from None
        except (ray.exceptions.RayError, TimeoutError) as error:
            raise ClusterError(f"The painting cluster at {self.address} does not answer ({type(error).__name__}); "
                               "please try again in a minute.") from None  # fmt: skip

    def submit(self, owner: str, work: Work) -> str:
        job: str = self._call("submit", owner, work)
        return job

    def status(self, job_id: str, seen_preview: int = -1) -> JobStatus:
        status: JobStatus = self._call("status", job_id, seen_preview)
        return status

    def cancel(self, job_id: str) -> None:
        self._call("cancel", job_id)

    def wait(self, job_id: str, timeout: float) -> JobStatus:
        status: JobStatus = self._call("wait", job_id, timeout, timeout=timeout + CALL_SECONDS)
        return status

    def active(self, owner: str, kind: str | None = None) -> str | None:
        job: str | None = self._call("active", owner, kind)
        return job

    def collect(self, owner: str, kinds: tuple[str, ...] | None = None) -> list[JobStatus]:
        done: list[JobStatus] = self._call("collect", owner, kinds)
        return done

    def wait_if_submitted(self, seconds: float, lane: Lane = "device") -> float:
        wait: float = self._call("wait_if_submitted", seconds, lane)
        return wait

    def work(self, job_id: str) -> Work:
        work: Work = self._call("work", job_id)
        return work

    @property
    def pace(self) -> Pace:
        pace: Pace = self._call("pace")
        return pace

    @property
    def running(self) -> int:
        return int(self._call("counts")[0])

    @property
    def waiting(self) -> int:
        return int(self._call("counts")[1])
