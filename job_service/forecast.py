"""When each job in line will start and end: the line played forward with its fair turns.

A pure function of a snapshot of the line, so that every wait the pages show comes from one place and
tests can check it on scripted jobs. The rules it plays are the scheduler's own:

- ``slots`` jobs run at once; the others wait in arrival order;
- while anyone waits, a running job's turn ends after ``share`` seconds: a picture then ends with its best
  picture so far (``yields=False``), a clip goes to the back of the line with the work it has left and carries
  on at its next turn (``yields=True``), a comparison ends the run under way with its best picture so far and
  goes to the back of the line with its later runs (``runs``), unless that run was its last;
- ending a turn takes the job's ``finish`` seconds (the step or frame under way, the result written);
- nobody waiting: every job runs to its end.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Planned:
    """One job as the forecast sees it."""

    key: str
    left: float  # s of work it still needs (its time limit applied)
    yields: bool  # True: at the end of a turn it waits again (clip, comparison); False: it ends (picture)
    turn_left: float | None = None  # s left of the turn it runs in; None while it waits
    finish: float = 0.0  # s it takes to end a turn once the turn is over
    # s of each of its runs, the one under way (running) or next (waiting) first, where a turn's end ends the run
    # under way (a comparison's); empty: one piece of work
    runs: tuple[float, ...] = ()


@dataclass(frozen=True)
class Timing:
    """Seconds from now until a job is (first) admitted, and until it is done."""

    start: float
    end: float


@dataclass
class _Work:
    """What a job has left as the forecast plays the line: its seconds, and its runs (``Planned.runs``)."""

    job: Planned
    left: float
    runs: list[float]
    begun: bool  # the first of ``runs`` is under way

    def spend(self, seconds: float) -> None:
        self.left -= seconds
        while seconds > 0 and self.runs:
            spent = min(seconds, self.runs[0])
            self.runs[0] -= spent
            seconds -= spent
            self.begun = True
            if self.runs[0] <= 0:
                self.runs.pop(0)
                self.begun = False

    def after_turn(self) -> float:
        """s left once its turn has ended: the run under way ends with the turn; the later runs are left."""
        if not self.job.runs:
            return self.left
        if self.begun:
            self.runs.pop(0)
            self.begun = False
        self.left = sum(self.runs)
        return self.left


@dataclass
class _Slot:
    work: _Work
    turn: float


def forecast(running: list[Planned], waiting: list[Planned], slots: int, share: float) -> dict[str, Timing]:
    """The start and end of every job of a line: ``running`` hold slots now, ``waiting`` in arrival order."""
    now = 0.0
    starts = {job.key: 0.0 for job in running}
    ends: dict[str, float] = {}
    active = [_Slot(_Work(job, job.left, list(job.runs), bool(job.runs)),
                    share if job.turn_left is None else job.turn_left) for job in running]  # fmt: skip
    line = deque(_Work(job, job.left, list(job.runs), False) for job in waiting)
    while active or line:
        while len(active) < slots and line:
            work = line.popleft()
            starts.setdefault(work.job.key, now)
            active.append(_Slot(work, share))
        others_wait = bool(line)
        events = []
        for index, slot in enumerate(active):
            cut = others_wait and slot.turn < slot.work.left
            events.append((max(slot.turn, 0.0) + slot.work.job.finish if cut else slot.work.left, index, cut))
        step, index, cut = min(events, key=lambda event: event[0])
        now += step
        for slot in active:
            slot.work.spend(step)
            slot.turn -= step
        ended = active.pop(index).work
        if cut and ended.job.yields and ended.after_turn() > 0:
            line.append(ended)
        else:
            ends[ended.job.key] = now
    return {key: Timing(starts[key], ends.get(key, starts[key])) for key in starts}
