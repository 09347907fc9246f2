"""The embedded job service: every painting of a server is a job in one scheduler.

A page (or the CLI, or a test) submits a :class:`~job_service.jobs.Work` for an owner and gets a job id back;
it then watches the job's :class:`~job_service.jobs.JobStatus` (place in line, the waits and time left planned
from the jobs really ahead, progress and the latest preview) and may cancel it. Each job runs on a thread of its
own, so a visitor's page can stop watching (a rerun, another page) without stopping the work; what ends it is
the visitor's Stop, a newer job of the same owner, its time limit, or the end of its turn:

- ``slots`` jobs of the device lane run at once (one per GPU, or a share of a CPU's cores); the rest wait in
  arrival order, at most ``max_waiting`` of them (a further one is refused with :class:`BusyError`);
- while others wait, a job's turn ends after ``share_seconds``: a picture then ends with its best picture so far,
  a clip or a comparison waits at the back of the line with what it has painted and carries on at its next turn;
- instant pictures (one pass of the feed-forward network, about a second) have a lane of their own.

Finished jobs keep their result until their owner collects it.
"""

from __future__ import annotations

import itertools
import logging
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nst_core.errors import BusyError, NSTError

from .forecast import Planned, Timing, forecast, planned_turn, turn_runs
from .jobs import JobStatus, Lane, Progress, State, StopWhy, Work
from .pace import Pace

KEEP_FINISHED_SECONDS = 30 * 60  # an uncollected result is dropped after this long
FAILED = "Something went wrong while painting; please try again, perhaps smaller."
# From a job's admission to its owner's first look at it running (later on a server busy with other pages' reruns),
# the median of the latest SEEN_LAGS: a wait told is until the visitor sees the start; none until one is measured.
SEEN_LAGS = 9
FIRST_SEEN_LAG = 0.0
MAX_SEEN_LAG = 5.0  # s; a longer one is a page that was not watching (a rerun, a closed tab), not a lag
# The share of a turn a clip told it ends within its turn, or a comparison's turn ending the runs it began with, may
# run past it (decided anew at every look, a clip's page said "8 s left" and "59 s left" by turns: docs/design.md).
OVERRUN = 0.2

log = logging.getLogger("nst_demo")


@dataclass(eq=False)
class Job:
    """One job and its state (the scheduler's own; pages see :class:`JobStatus`)."""

    id: str
    owner: str
    work: Work
    state: State = "waiting"
    cancel: threading.Event = field(default_factory=threading.Event)
    stopped: StopWhy | None = None
    turn_started: float | None = None  # monotonic time this turn began
    used: float = 0.0  # s of finished turns
    paused: bool = False
    progress: Progress | None = None
    preview: Progress | None = None
    preview_number: int = 0
    result: Any = None
    error: str | None = None
    finished_at: float | None = None
    collected: bool = False
    looked_waiting: bool = False  # its owner looked at it in line, and has not yet seen it admitted
    overrun: float = 0.0  # s past its turn it may run: to its end (a clip), or to its turn's runs' (a comparison)
    turn_runs: int = 0  # a comparison's runs of this turn not yet ended, or of its next as planned (Planned.turn_runs)

    def stop(self, why: StopWhy) -> None:
        if self.stopped is None:
            self.stopped = why
        self.cancel.set()


class Scheduler:
    """One line per lane, fair turns, plans of every wait; thread-safe."""

    def __init__(
        self,
        pace: Pace,
        slots: int = 1,
        max_waiting: int = 8,
        share_seconds: float = 30.0,
        instant_slots: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if slots < 1 or instant_slots < 1 or max_waiting < 0 or share_seconds <= 0:
            raise ValueError("slots must be at least 1, max_waiting at least 0 and share_seconds above 0.")
        self.pace = pace
        self.slots: dict[Lane, int] = {"device": slots, "instant": instant_slots}
        self.max_waiting = max_waiting
        self.share_seconds = share_seconds
        self._overrun = OVERRUN * share_seconds  # s
        self.clock = clock
        self._running: dict[Lane, list[Job]] = {"device": [], "instant": []}
        self._waiting: dict[Lane, list[Job]] = {"device": [], "instant": []}
        self._jobs: dict[str, Job] = {}
        self._numbers = itertools.count(1)
        self._condition = threading.Condition()
        self._seen_lags: deque[float] = deque(maxlen=SEEN_LAGS)

    # --- what pages call -------------------------------------------------------------------------------------

    def submit(self, owner: str, work: Work) -> str:
        """Put a job in line for ``owner`` and start its thread; the owner's earlier job still under way is
        stopped (it keeps what it painted). Returns the job's id.

        Raises:
            BusyError: the line is full.
        """
        with self._condition:
            self._prune()
            lane = work.lane
            if len(self._waiting[lane]) >= self.max_waiting and len(self._running[lane]) >= self.slots[lane]:
                ahead = len(self._waiting[lane]) + len(self._running[lane])
                raise BusyError(f"The demo is busy ({ahead} jobs ahead); please try again in a minute.")
            for older in self._jobs.values():
                if older.owner == owner and older.state != "done":
                    older.stop("replaced")
            job = Job(f"job-{next(self._numbers)}", owner, work)
            self._plan_next_turn(job)
            self._jobs[job.id] = job
            self._waiting[lane].append(job)
            self._admit(lane)
            timing = self._timings(lane).get(job.id, Timing(0.0, 0.0))
            log.info("%s (%s) submitted: planned to start in %.1f s and end in %.1f s (pages see a start %.1f s "
                     "after it)", job.id, work.kind, timing.start, timing.end, self.seen_lag)  # fmt: skip
            self._condition.notify_all()
        threading.Thread(target=self._main, args=(job,), name=f"nst-{job.id}", daemon=True).start()
        return job.id

    def status(self, job_id: str, seen_preview: int = -1) -> JobStatus:
        """Where a job is, with its planned wait and time left; its latest preview unless the caller has seen it
        (``seen_preview`` is that preview's number: a page on a cluster then does not fetch it ten times a second).

        Raises:
            KeyError: no such job (never submitted, or collected).
        """
        with self._condition:
            job = self._jobs[job_id]
            self._note_seen(job)
            timing = self._timings(job.work.lane).get(job.id, Timing(0.0, 0.0))
            waiting = self._waiting[job.work.lane]
            position = waiting.index(job) + 1 if job in waiting else 0
            lag = self.seen_lag if job.state == "waiting" else 0.0
            return JobStatus(
                id=job.id, kind=job.work.kind, state=job.state, position=position,
                wait=timing.start + lag if job.state == "waiting" else 0.0,
                left=timing.end + lag if job.state != "done" else 0.0,
                cut_in=self._cut_in(job), paused=job.paused, used=self._used(job), progress=job.progress,
                preview=job.preview if job.preview_number != seen_preview else None,
                preview_number=job.preview_number, result=job.result, error=job.error, stopped=job.stopped,
            )  # fmt: skip

    def cancel(self, job_id: str) -> None:
        """Stop a job: a waiting one leaves the line, a running one ends after its step or frame with what it
        has painted. Safe to call for a job that is done or unknown."""
        with self._condition:
            job = self._jobs.get(job_id)
            if job is not None and job.state != "done":
                job.stop("cancelled")
                self._condition.notify_all()

    def wait(self, job_id: str, timeout: float) -> JobStatus:
        """The job's status once it is done, or after ``timeout`` s, whichever is first."""
        with self._condition:
            self._condition.wait_for(lambda: self._jobs[job_id].state == "done", timeout)
        return self.status(job_id)

    def active(self, owner: str, kind: str | None = None) -> str | None:
        """The id of the owner's job that is waiting or running (of ``kind``, if given), or None."""
        with self._condition:
            for job in self._jobs.values():
                if job.owner == owner and job.state != "done" and kind in (None, job.work.kind):
                    return job.id
            return None

    def collect(self, owner: str, kinds: tuple[str, ...] | None = None) -> list[JobStatus]:
        """The owner's finished jobs (of ``kinds``, if given) not collected before, oldest first; each is
        handed out once."""
        with self._condition:  # one block (the condition's lock is re-entrant): two runs of a page may collect at once
            done = [job for job in self._jobs.values() if job.owner == owner and job.state == "done"
                    and not job.collected and (kinds is None or job.work.kind in kinds)]  # fmt: skip
            statuses = [self.status(job.id) for job in done]
            for job in done:
                job.collected = True
                self._jobs.pop(job.id, None)
                if job.finished_at is not None:
                    log.info("%s (%s) collected %.1f s after it was done", job.id, job.work.kind,
                             self.clock() - job.finished_at)  # fmt: skip
        return statuses

    def wait_if_submitted(self, seconds: float, lane: Lane = "device") -> float:
        """The wait a job of ``seconds`` would have if it were submitted now (the promise before the button)."""
        with self._condition:
            start = self._timings(lane, extra=Planned("probe", seconds, yields=False))["probe"].start
            return start + self.seen_lag if start > 0 else 0.0

    @property
    def seen_lag(self) -> float:
        """s from a job's admission to its owner's first look at it running, as lately measured."""
        with self._condition:
            return statistics.median(self._seen_lags) if self._seen_lags else FIRST_SEEN_LAG

    def work(self, job_id: str) -> Work:
        """The work a job holds.

        Raises:
            KeyError: no such job.
        """
        with self._condition:
            return self._jobs[job_id].work

    @property
    def waiting(self) -> int:
        """Jobs waiting in the device lane."""
        with self._condition:
            return len(self._waiting["device"])

    @property
    def running(self) -> int:
        """Jobs holding a device slot."""
        with self._condition:
            return len(self._running["device"])

    # --- what a job's work calls, through its Context ----------------------------------------------------------

    def _report(self, job: Job, progress: Progress) -> None:
        with self._condition:
            job.progress = progress.without_pictures()  # a page is sent the picture once, as the preview below
            if progress.preview is not None:
                job.preview, job.preview_number = progress, job.preview_number + 1
            if not job.work.yields and self._turn_over(job):
                job.stop("turn")  # a picture's turn ends with its best picture so far

    def _take_break(self, job: Job) -> bool:
        """At a point where the work can pause (between frames or runs): if its turn is over, go to the back of
        the line and wait for the next turn. False if the job was stopped meanwhile."""
        with self._condition:
            if job.cancel.is_set():
                return False
            self._keep_told(job)
            if not self._turn_over(job) and not self._turn_runs_done(job):
                return True
            self._release(job)
            job.paused = True
            self._plan_next_turn(job)
            log.info("%s (%s) waits again after %.1f s held", job.id, job.work.kind, job.used)
            self._waiting[job.work.lane].append(job)
            self._admit(job.work.lane)
            self._condition.notify_all()
            admitted = self._wait_for_slot(job)
            job.paused = False
            return admitted

    # --- inside --------------------------------------------------------------------------------------------------

    def _main(self, job: Job) -> None:
        with self._condition:
            admitted = self._wait_for_slot(job)
        try:
            if admitted:
                job.result = job.work.run(Context(self, job))
            elif job.stopped == "cancelled":
                job.stopped = "left the line"
        except NSTError as error:
            job.error = str(error)
        except Exception:
            log.exception("job %s (%s) failed", job.id, job.work.kind)
            job.error = FAILED
        finally:
            with self._condition:
                used = self._used(job)
                self._release(job)
                job.state, job.finished_at = "done", self.clock()
                log.info("%s (%s) done after %.1f s held%s", job.id, job.work.kind, used,
                         f", stopped: {job.stopped}" if job.stopped else "")  # fmt: skip
                self._condition.notify_all()
        if admitted and job.error is None:
            job.work.learn(self.pace, job.result, used)

    def _wait_for_slot(self, job: Job) -> bool:
        """Block (the condition held) until the job holds a slot; False if it was stopped first."""
        lane = job.work.lane
        while job not in self._running[lane]:
            if job.cancel.is_set():
                if job in self._waiting[lane]:
                    self._waiting[lane].remove(job)
                return False
            self._condition.wait(0.5)
        return True

    def _admit(self, lane: Lane) -> None:
        """Fill the free slots of a lane from its line (the condition held)."""
        while len(self._running[lane]) < self.slots[lane]:
            line = [job for job in self._waiting[lane] if not job.cancel.is_set()]
            if not line:
                return
            job = line[0]
            self._waiting[lane].remove(job)
            self._running[lane].append(job)
            job.state, job.turn_started, job.overrun = "running", self.clock(), 0.0  # a new turn, nothing told
            if runs := job.work.runs(self.pace):  # a comparison: the runs its turn begins, as last told
                job.turn_runs, fits = planned_turn(runs, self.share_seconds, self._overrun, job.turn_runs)
                job.overrun = self._overrun if fits else 0.0
            self._keep_told(job)  # a clip: whether it ends within this turn, before its first frame
            left = job.work.left(self.pace, job.progress, job.used)
            told = ", ".join(f"{run:.1f}" for run in runs)
            log.info("%s (%s) admitted after %.1f s held: planned %.1f s of work left%s", job.id, job.work.kind,
                     job.used, left, f" (runs of {told} s, {job.turn_runs} this turn)" if runs else "")  # fmt: skip
            self._condition.notify_all()

    def _release(self, job: Job) -> None:
        lane = job.work.lane
        if job in self._running[lane]:
            self._running[lane].remove(job)
            if job.turn_started is not None:
                job.used += self.clock() - job.turn_started
            job.turn_started = None
            job.state = "waiting"
        if job in self._waiting[lane]:
            self._waiting[lane].remove(job)
        self._admit(lane)
        self._condition.notify_all()

    def _note_seen(self, job: Job) -> None:
        """A look at a job (the condition held): the first one after it waited, looked at, and was admitted
        tells how long its owner took to see the start."""
        if job.state == "waiting":
            job.looked_waiting = True
        elif job.state == "running" and job.looked_waiting and job.turn_started is not None:
            job.looked_waiting = False
            lag = self.clock() - job.turn_started
            if lag <= MAX_SEEN_LAG:
                self._seen_lags.append(lag)

    def _used(self, job: Job) -> float:
        return job.used + (self.clock() - job.turn_started if job.turn_started is not None else 0.0)

    def _turn_over(self, job: Job) -> bool:
        turn = job.turn_started
        return (turn is not None and bool(self._waiting[job.work.lane])
                and self.clock() - turn >= self.share_seconds + job.overrun)  # fmt: skip

    def _cut_in(self, job: Job) -> float | None:
        """s until a running job's turn ends because others wait; None when nobody waits."""
        if job.state != "running" or job.turn_started is None or not self._waiting[job.work.lane]:
            return None
        return max(0.0, self.share_seconds + job.overrun - (self.clock() - job.turn_started))

    def _timings(self, lane: Lane, extra: Planned | None = None) -> dict[str, Timing]:
        now = self.clock()
        running = []
        for job in self._running[lane]:
            turn_left = self.share_seconds + job.overrun - (now - (job.turn_started or now))
            running.append(Planned(job.id, job.work.left(self.pace, job.progress, self._used(job)), job.work.yields,
                                   turn_left, job.work.finish(self.pace), job.work.runs(self.pace),
                                   job.turn_runs))  # fmt: skip
        waiting = [
            Planned(job.id, job.work.left(self.pace, job.progress, self._used(job)), job.work.yields,
                    finish=job.work.finish(self.pace), runs=job.work.runs(self.pace), turn_runs=job.turn_runs)
            for job in self._waiting[lane] if not job.cancel.is_set()
        ]  # fmt: skip
        if extra is not None:
            waiting.append(extra)
        return forecast(running, waiting, self.slots[lane], self.share_seconds, self._overrun)

    def _plan_next_turn(self, job: Job) -> None:
        """As a comparison joins the line: its next turn's runs, kept while they fit (forecast.planned_turn)."""
        job.turn_runs = turn_runs(job.work.runs(self.pace), self.share_seconds)[0]

    def _keep_told(self, job: Job) -> None:
        """At a clip's turn's start and between its frames (the condition held): one that ends within its turn may
        overrun it by :data:`OVERRUN` of a turn to do so; one that would not ends within a turn only once its work
        fits the turn itself (its last frame and the writing, ``finish``, are never cut). docs/design.md."""
        if not job.work.yields or job.work.runs(self.pace) or job.turn_started is None:
            return
        planned = job.work.left(self.pace, job.progress, self._used(job)) - job.work.finish(self.pace)
        turn = self.share_seconds - (self.clock() - job.turn_started) + job.overrun
        job.overrun = self._overrun if planned <= turn else 0.0

    def _turn_runs_done(self, job: Job) -> bool:
        """Between two runs of a comparison (the condition held): whether it waits now for its next turn, the runs
        its turn began with (:func:`~job_service.forecast.planned_turn`) done and others waiting; while nobody
        waits, the runs that fit the rest of its turn are its turn's from here. docs/design.md."""
        runs = job.work.runs(self.pace)
        if not runs or job.turn_started is None:
            return False
        job.turn_runs -= 1
        if self._waiting[job.work.lane]:
            return job.turn_runs <= 0
        turn = self.share_seconds - (self.clock() - job.turn_started)
        job.turn_runs, fits = turn_runs(runs, turn, start=False)
        job.overrun = self._overrun if job.turn_runs and fits else 0.0
        return False

    def _prune(self) -> None:
        """Drop results nobody collected within :data:`KEEP_FINISHED_SECONDS` (the condition held)."""
        now = self.clock()
        for job in list(self._jobs.values()):
            if job.finished_at is not None and now - job.finished_at > KEEP_FINISHED_SECONDS:
                del self._jobs[job.id]


class Context:
    """What a job's work sees of the scheduler: its cancel event, its progress reports, its turns."""

    def __init__(self, scheduler: Scheduler, job: Job) -> None:
        self._scheduler, self._job = scheduler, job
        self.cancel = job.cancel

    @property
    def job_id(self) -> str:
        return self._job.id

    def report(self, progress: Progress) -> None:
        """Tell the owner's page where the work is (a picture's turn may end here: ``cancel`` is then set)."""
        self._scheduler._report(self._job, progress)

    def take_break(self) -> bool:
        """Between frames or runs: wait for the next turn if this one is over; False if stopped meanwhile."""
        return self._scheduler._take_break(self._job)

    @property
    def pace(self) -> Pace:
        """The device's pace, which the work's steps teach as they go."""
        return self._scheduler.pace

    def turn_over(self) -> bool:
        """Whether this turn is over: others wait and it has lasted its share."""
        with self._scheduler._condition:
            return self._scheduler._turn_over(self._job)

    def used(self) -> float:
        """s this job has held a slot, over all its turns."""
        with self._scheduler._condition:
            return self._scheduler._used(self._job)

    def stop(self, why: StopWhy) -> None:
        """End the work with what it has, for ``why`` (its time limit, say)."""
        self._job.stop(why)

    @property
    def stopped(self) -> StopWhy | None:
        return self._job.stopped
