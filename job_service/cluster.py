"""The job service on a Ray cluster: one line for every page server, a painter on every device.

The Ray Serve application (``deploy/serve.yaml`` configures it for ``serve deploy``) has two deployments:

- :class:`Line`, one replica that needs no device: the :class:`~job_service.scheduler.Scheduler` of the
  embedded service, holding every page's jobs with their places, plans, fair turns and Stop. It has a slot
  per painter replica (the painters' largest number). Page servers reach it through
  :class:`job_service.client.ClusterService`.
- :class:`Painter`, one replica per device, autoscaled on ongoing requests: runs a job's work there. The
  work reports each step or frame to the line (which answers whether it was stopped) and takes its turns
  through it, as it does in one process.

A painter that dies mid-job (killed, out of memory, its node lost) fails the line's call: the line paints the
job again from the start on another replica, once, and ends it with a sentence if that fails too. Either way
the job gives one result, which its owner collects once.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ray
from ray import serve
from ray.serve.exceptions import ReplicaUnavailableError
from ray.serve.handle import DeploymentHandle

from nst_core.cpu import usable_cores
from nst_core.errors import NSTError

from .jobs import JobStatus, Lane, Progress, StopWhy, Work
from .pace import LEARNING_RATE, Pace
from .scheduler import Context, Scheduler

APP_NAME = "nst"  # the Serve application's name in deploy/serve.yaml, which page servers look for
KEEP_PAINTED_BY = 1000  # jobs whose replica the line remembers
ATTEMPTS = 2  # a job whose painter died is painted again once
POLL = 0.5  # s between a painter's looks at whether its job was stopped (between its reports)
LOST = "The machine painting this job stopped twice; please try again."
DIED = (
    ray.exceptions.RayActorError,
    ray.exceptions.ActorUnavailableError,
    ray.exceptions.OutOfMemoryError,
    ReplicaUnavailableError,
)

log = logging.getLogger("nst_demo")


def live_state(work: Work) -> dict[str, Any]:
    """What a work learns about itself as it runs (its fields that are not given: a run's step clock, a clip's
    frames done), which the line needs to plan its time left."""
    if not dataclasses.is_dataclass(work):
        return {}
    return {field.name: getattr(work, field.name) for field in dataclasses.fields(work) if not field.init}


def on_device(work: Work, device: str) -> Work:
    """The work with every config it holds set to run on ``device`` (a replica's own), and no model of the
    line's process (the replica loads its own, once)."""
    changes: dict[str, Any] = {}
    fields: set[str] = {field.name for field in dataclasses.fields(work)} if dataclasses.is_dataclass(work) else set()
    if "config" in fields:
        changes["config"] = work.config.replace(device=device)  # type: ignore[attr-defined]
    if "variants" in fields:
        changes["variants"] = [
            dataclasses.replace(variant, config=variant.config.replace(device=device))
            for variant in work.variants  # type: ignore[attr-defined]
        ]
    if "extractor" in fields:
        changes["extractor"] = None
    return dataclasses.replace(work, **changes) if changes else work  # type: ignore[type-var]


@dataclasses.dataclass(eq=False)
class OnPainter:
    """A job's work as the line holds it: painted by a :class:`Painter` replica, planned from what the
    replica reports (``live``, the work as it stands there)."""

    work: Work  # as submitted: what a replica paints, again from the start if the first one died
    line: Line
    live: Work = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.live = copy.copy(self.work)

    @property
    def kind(self) -> str:
        return self.work.kind

    @property
    def lane(self) -> Lane:
        return self.work.lane

    @property
    def yields(self) -> bool:
        return self.work.yields

    def planned(self, pace: Pace) -> float:
        return self.live.planned(pace)

    def left(self, pace: Pace, progress: Progress | None, used: float) -> float:
        return self.live.left(pace, progress, used)

    def finish(self, pace: Pace) -> float:
        return self.live.finish(pace)

    def runs(self, pace: Pace) -> tuple[float, ...]:
        return self.live.runs(pace)

    def run(self, context: Context) -> Any:
        job = context.job_id
        self.line.contexts[job] = (context, self)
        try:
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    return self.line.painter.paint.remote(job, self.work).result()
                except DIED as error:
                    log.warning("job %s: its painter stopped (%s), attempt %d", job, type(error).__name__, attempt)
                    if context.cancel.is_set():
                        break
                    self.live = copy.copy(self.work)
                except ray.exceptions.RayTaskError as error:  # the work's own error, raised on the replica
                    cause = error.cause
                    if isinstance(cause, NSTError):
                        raise NSTError(str(cause)) from None
                    raise RuntimeError(f"job {job} failed on its painter: {cause!r}") from None
            raise NSTError(LOST)
        finally:
            self.line.contexts.pop(job, None)

    def learn(self, pace: Pace, result: Any, used: float) -> None:
        self.live.learn(pace, result, used)


class Line:
    """The one line of the cluster: a scheduler whose jobs run on :class:`Painter` replicas."""

    def __init__(
        self,
        painter: DeploymentHandle[Any],
        slots: int = 1,
        max_waiting: int = 8,
        share_seconds: float = 30.0,
        device: str = "cpu",
    ) -> None:
        self.painter = painter
        self.device = device
        self.scheduler = Scheduler(Pace.for_device(device), slots, max_waiting, share_seconds)
        self.contexts: dict[str, tuple[Context, OnPainter]] = {}
        self.painters = 0  # painters started so far
        self.painted_by: dict[str, str] = {}  # job -> the replica that reported it last (the operators' log)

    # --- what page servers call (through job_service.client.ClusterService) ---------------------------------

    def settings(self) -> dict[str, Any]:
        """The line's device kind, slots, largest line and turn, for the page's limits and rules."""
        scheduler = self.scheduler
        return {"device": self.device, "slots": scheduler.slots["device"], "max_waiting": scheduler.max_waiting,
                "share_seconds": scheduler.share_seconds}  # fmt: skip

    def submit(self, owner: str, work: Work) -> str:
        return self.scheduler.submit(owner, OnPainter(work, self))

    def status(self, job_id: str, seen_preview: int = -1) -> JobStatus:
        return self.scheduler.status(job_id, seen_preview)

    def cancel(self, job_id: str) -> None:
        self.scheduler.cancel(job_id)

    async def wait(self, job_id: str, timeout: float) -> JobStatus:
        return await asyncio.to_thread(self.scheduler.wait, job_id, timeout)

    def active(self, owner: str, kind: str | None = None) -> str | None:
        return self.scheduler.active(owner, kind)

    def collect(self, owner: str, kinds: tuple[str, ...] | None = None) -> list[JobStatus]:
        return self.scheduler.collect(owner, kinds)

    def wait_if_submitted(self, seconds: float, lane: Lane = "device") -> float:
        return self.scheduler.wait_if_submitted(seconds, lane)

    def work(self, job_id: str) -> Work:
        work = self.scheduler.work(job_id)
        return work.live if isinstance(work, OnPainter) else work

    def counts(self) -> tuple[int, int]:
        """(running, waiting) in the device lane."""
        return self.scheduler.running, self.scheduler.waiting

    def pace(self) -> Pace:
        return self.scheduler.pace

    def replica_of(self, job_id: str) -> str | None:
        """The replica that painted (or paints) a job, as far as its reports say."""
        return self.painted_by.get(job_id)

    def learn(self, name: str, measured: float, rate: float) -> None:
        """A painter's measurement (a step's time, say), as a work in this process would teach it."""
        self.scheduler.pace.learn(name, measured, rate)

    def learn_converge(self, share: float) -> None:
        self.scheduler.pace.learn_converge(share)

    def painter_ready(self, step: float, instant: float, frame: float, overhead: float | None = None) -> None:
        """A painter started and probed its device and instant network (s per megapixel-step, per megapixel of
        the instant picture and of a clip's frame, and a step's seconds besides its pixels): the first one's paces
        replace the line's guesses, later ones are averaged in. Plain numbers: the line's process does not import
        torch."""
        self.painters += 1
        pace, rate = self.scheduler.pace, 1 / self.painters
        pace.learn("step", step, rate)
        pace.learn("instant", instant, rate)
        pace.learn("frame", frame, rate)
        if overhead is not None:
            pace.learn("overhead", overhead, rate)

    # --- what painters call, for the job they paint ------------------------------------------------------------

    def report(self, job_id: str, progress: Progress, state: dict[str, Any], replica: str = "") -> bool:
        """A step or frame done by ``replica``: the line's plans follow it. True if the job was stopped (or is
        unknown)."""
        held = self.contexts.get(job_id)
        if held is None:
            return True
        if self.painted_by.get(job_id) != replica:
            log.info("job %s is painted by replica %s", job_id, replica)
            self.painted_by[job_id] = replica
            while len(self.painted_by) > KEEP_PAINTED_BY:
                del self.painted_by[next(iter(self.painted_by))]
        context, work = held
        for name, value in state.items():
            setattr(work.live, name, value)
        context.report(progress)
        return context.cancel.is_set()

    async def take_break(self, job_id: str) -> bool:
        held = self.contexts.get(job_id)
        return False if held is None else await asyncio.to_thread(held[0].take_break)

    def turn_over(self, job_id: str) -> bool:
        held = self.contexts.get(job_id)
        return held is not None and held[0].turn_over()

    def used(self, job_id: str) -> float:
        held = self.contexts.get(job_id)
        return 0.0 if held is None else held[0].used()

    def stop(self, job_id: str, why: StopWhy) -> None:
        held = self.contexts.get(job_id)
        if held is not None:
            held[0].stop(why)

    def stopped(self, job_id: str) -> tuple[bool, StopWhy | None]:
        """Whether the job was told to stop, and why."""
        held = self.contexts.get(job_id)
        return (True, "cancelled") if held is None else (held[0].cancel.is_set(), held[0].stopped)


class LinePace(Pace):
    """The line's pace as a painter sees it: what a work's steps teach it goes to the line at once, so the waits
    of the others follow the painters' real speed as in one process."""

    line: DeploymentHandle[Any] | None = None

    def learn(self, name: str, measured: float, rate: float = LEARNING_RATE) -> None:
        super().learn(name, measured, rate)
        if self.line is not None:
            self.line.learn.remote(name, measured, rate)

    def learn_converge(self, share: float) -> None:
        super().learn_converge(share)
        if self.line is not None:
            self.line.learn_converge.remote(share)


class PainterContext:
    """What a work sees of the line from a painter replica: the same calls as :class:`Context`, over Ray."""

    def __init__(self, line: DeploymentHandle[Any], job_id: str, work: Work, pace: Pace, replica: str) -> None:
        self._line, self.job_id, self._work, self._pace, self.replica = line, job_id, work, pace, replica
        self.cancel = threading.Event()

    def report(self, progress: Progress) -> None:
        if self._line.report.remote(self.job_id, progress, live_state(self._work), self.replica).result():
            self.cancel.set()

    def take_break(self) -> bool:
        going_on: bool = self._line.take_break.remote(self.job_id).result()
        return going_on

    @property
    def pace(self) -> Pace:
        return self._pace

    def turn_over(self) -> bool:
        over: bool = self._line.turn_over.remote(self.job_id).result()
        return over

    def used(self) -> float:
        seconds: float = self._line.used.remote(self.job_id).result()
        return seconds

    def stop(self, why: StopWhy) -> None:
        self._line.stop.remote(self.job_id, why).result()
        self.cancel.set()

    @property
    def stopped(self) -> StopWhy | None:
        why: StopWhy | None = self._line.stopped.remote(self.job_id).result()[1]
        return why

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Look at the line every :data:`POLL` s while the work runs, so a Stop between reports is seen."""
        done = threading.Event()

        def look() -> None:
            while not done.wait(POLL) and not self.cancel.is_set():
                try:
                    if self._line.stopped.remote(self.job_id).result()[0]:
                        self.cancel.set()
                except ray.exceptions.RayError:
                    return

        watcher = threading.Thread(target=look, name=f"nst-watch-{self.job_id}", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join()


class Painter:
    """One replica on one device: loads the default model at start, then paints the jobs the line sends."""

    def __init__(self, app_name: str = APP_NAME) -> None:
        import torch

        from nst_core.backbone import get_extractor
        from nst_core.config import TransferConfig
        from nst_core.device import resolve_device, resolve_precision

        self.device = resolve_device(os.environ.get("NST_DEVICE", "auto"))
        if self.device.type == "cpu":
            assigned = ray.get_runtime_context().get_assigned_resources()  # type: ignore[no-untyped-call]
            threads = int(assigned.get("CPU", 0)) or usable_cores()
            torch.set_num_threads(max(1, threads))
        from .capacity import measure, measure_instant

        defaults = TransferConfig()
        precision = os.environ.get("NST_PRECISION", "auto")
        model = get_extractor(defaults.weights, defaults.backbone, str(self.device),
                              resolve_precision(precision, self.device))  # fmt: skip
        self.app_name = app_name
        self._line: DeploymentHandle[Any] | None = None
        # This device's pace, probed as a server probes its own, plans the line's first waits.
        step, instant = measure(model, self.device), measure_instant()
        self.line().painter_ready.remote(step.seconds_per_megapixel_step, instant.seconds_per_megapixel,
                                         instant.frame_seconds_per_megapixel, step.overhead_seconds)  # fmt: skip

    def line(self) -> DeploymentHandle[Any]:
        if self._line is None:
            self._line = serve.get_deployment_handle("Line", app_name=self.app_name)
        return self._line

    async def paint(self, job_id: str, work: Work) -> Any:
        return await asyncio.to_thread(self._paint, job_id, work)

    def _paint(self, job_id: str, work: Work) -> Any:
        work = on_device(work, str(self.device))
        figures: Pace = self.line().pace.remote().result()
        pace = LinePace(
            step=figures.step,
            instant=figures.instant,
            setup_steps=figures.setup_steps,
            frame=figures.frame,
            converge=figures.converge,
            overhead=figures.overhead,
        )
        pace.line = self.line()
        replica = serve.get_replica_context().replica_id.unique_id
        context = PainterContext(self.line(), job_id, work, pace, replica)
        with context.watching():
            return work.run(context)  # type: ignore[arg-type]

    def device_type(self) -> str:
        return self.device.type


LineDeployment = serve.deployment(name="Line", num_replicas=1, ray_actor_options={"num_cpus": 0},
                                  max_ongoing_requests=1000)(Line)  # fmt: skip
PainterDeployment = serve.deployment(
    name="Painter", max_ongoing_requests=2, ray_actor_options={"num_cpus": 1},
    autoscaling_config={"min_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 1},
)(Painter)  # fmt: skip


def app(args: dict[str, Any]) -> serve.Application:
    """The application ``serve deploy`` builds from ``deploy/serve.yaml`` (``import_path: job_service.cluster:app``).

    ``args``: ``replicas`` (the painters' largest number: the line's slots), ``min_replicas`` (kept up while
    idle), ``max_waiting``, ``share_seconds``
    (a turn while others wait), ``device`` ("cpu" or "cuda": the line's first guess of the painters' pace).
    The deployments' own options (replicas, autoscaling, a GPU each) are the config file's.
    """
    replicas = int(args.get("replicas", 1))
    scaling = {"min_replicas": int(args.get("min_replicas", 1)), "max_replicas": replicas, "target_ongoing_requests": 1}
    painter = PainterDeployment.options(autoscaling_config=scaling).bind(str(args.get("app_name", APP_NAME)))
    return LineDeployment.bind(
        painter,
        slots=replicas,
        max_waiting=int(args.get("max_waiting", 8)),
        share_seconds=float(args.get("share_seconds", 30.0)),
        device=str(args.get("device", "cpu")),
    )
