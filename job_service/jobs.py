"""What a job is to the scheduler: a piece of work that plans its seconds, runs, reports and learns.

The concrete works (a picture, an instant picture, a clip, a comparison) are in :mod:`job_service.work`;
tests give the scheduler scripted ones. Plain typing only: importing this module imports no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

from PIL import Image

if TYPE_CHECKING:
    from .pace import Pace
    from .scheduler import Context

Lane = Literal["device", "instant"]  # the optimisation's device, or the instant network's short jobs
StopWhy = Literal["cancelled", "replaced", "turn", "time budget", "left the line", "converged"]
State = Literal["waiting", "running", "done"]

LOOK_RUNNING = 0.1  # s between a watcher's looks at a running job: its previews and time left as they come
# s between looks at a waiting job, whose place and wait are said in whole seconds. On a cluster every look is a
# call to the line: eight watchers looking ten times a second took a third of a painter's core beside them, and
# the waits told came out 20-47% short (bench/results/replicas.md).
LOOK_WAITING = 0.5
NEAR_START = 1.0  # s: a waiting job planned to start within this is looked at as a running one (it is next)


def look_after(state: str, wait: float = float("inf")) -> float:
    """s until a watcher (a page, a bench) looks again at a job in ``state``, planned to start in ``wait`` s: the
    job next in line is looked at as often as a running one, so its visitor sees the start as it comes."""
    return LOOK_WAITING if state == "waiting" and wait > NEAR_START else LOOK_RUNNING


@dataclass(frozen=True)
class Progress:
    """Where a job's work is, for its owner's page.

    ``fraction`` of the planned work done, ``step``/``steps`` the unit the work counts in (steps of a
    picture, frames of a clip, runs and steps of a comparison), and the latest ``preview`` when there is a
    new one. ``detail`` is the work's own record (:class:`nst_core.reports.Progress` of the run under way, a
    clip's frame report), for the page to word.
    """

    fraction: float
    step: int
    steps: int
    elapsed: float  # s of work since it was admitted (turns of others not counted)
    preview: Image.Image | None = None
    detail: Any = None

    def without_pictures(self) -> Progress:
        """This report without its pictures (its preview, and its detail's): what a page is sent on every look,
        the picture being sent once, as the job's latest preview."""
        return replace(self, preview=None, detail=_without_picture(self.detail))


@dataclass(frozen=True)
class JobStatus:
    """A job as its owner's page sees it."""

    id: str
    kind: str  # "picture", "instant", "clip" or "comparison"
    state: State
    position: int  # while waiting, k for the k-th in its line; 0 otherwise
    wait: float  # s until it is admitted (0 once running); planned from the jobs ahead
    left: float  # s until it is done, its wait included
    cut_in: float | None  # s until its turn ends because others wait (None: nobody waits, or it ends first)
    paused: bool  # waiting again after a turn, with its work so far kept (a clip or a comparison)
    used: float  # s it has held a slot so far
    progress: Progress | None  # the latest report of the work, without its pictures
    preview: Progress | None  # the latest report with a preview (reports can come faster than a page looks)
    preview_number: int  # counts previews, so a page redraws only a new one
    result: Any  # the work's result once done (None if it failed or left the line before starting)
    error: str | None  # one sentence, when it failed
    stopped: StopWhy | None  # why it ended before its planned work


def _without_picture(detail: Any) -> Any:
    """``detail`` with its ``preview`` field emptied (also inside a tuple, a comparison's ``(run, report)``)."""
    if isinstance(detail, tuple):
        return tuple(_without_picture(part) for part in detail)
    if is_dataclass(detail) and not isinstance(detail, type) and "preview" in {f.name for f in fields(detail)}:
        return replace(detail, preview=None)
    return detail


class Work(Protocol):
    """A job's work, as the scheduler drives it: one job's, since it keeps what its run has done (its latest
    step, its frames) to plan the time it has left; a work given to a second job plans that job as done."""

    @property
    def kind(self) -> str:
        """ "picture", "instant", "clip" or "comparison"."""
        ...

    @property
    def lane(self) -> Lane: ...

    @property
    def yields(self) -> bool:
        """True: at the end of a turn it pauses and carries on later; False: it ends with what it has."""
        ...

    def planned(self, pace: Pace) -> float:
        """s the whole work is planned to take on a slot."""
        ...

    def left(self, pace: Pace, progress: Progress | None, used: float) -> float:
        """s of work left after ``progress`` (None: not begun), having held a slot for ``used`` s; within the
        work's time limit."""
        ...

    def finish(self, pace: Pace) -> float:
        """s the work takes to end once it is told to (the step or frame under way, the result made)."""
        ...

    def runs(self, pace: Pace) -> tuple[float, ...]:
        """s of each of its runs still to paint, the one under way or next first, for a work whose turn's end ends
        the run under way and carries on with the next (a comparison's); () for one whose turn's end ends it (a
        picture) or pauses it with all it has left (a clip)."""
        ...

    def run(self, context: Context) -> Any:
        """Do the work, reporting through ``context``; return the result. Raises NSTError with a sentence."""
        ...

    def learn(self, pace: Pace, result: Any, used: float) -> None:
        """Teach ``pace`` what this work measured (called once it is done, with the slot time it used)."""
        ...


class Service(Protocol):
    """The job service as pages call it: the embedded :class:`~job_service.scheduler.Scheduler`, or a cluster's
    line through :class:`~job_service.client.ClusterService`."""

    def submit(self, owner: str, work: Work) -> str: ...

    def status(self, job_id: str, seen_preview: int = -1) -> JobStatus: ...

    def cancel(self, job_id: str) -> None: ...

    def wait(self, job_id: str, timeout: float) -> JobStatus: ...

    def active(self, owner: str, kind: str | None = None) -> str | None: ...

    def collect(self, owner: str, kinds: tuple[str, ...] | None = None) -> list[JobStatus]: ...

    def wait_if_submitted(self, seconds: float, lane: Lane = "device") -> float: ...

    def work(self, job_id: str) -> Work: ...

    @property
    def pace(self) -> Pace: ...

    @property
    def running(self) -> int: ...

    @property
    def waiting(self) -> int: ...
