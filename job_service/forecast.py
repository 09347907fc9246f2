"""When each job in line will start and end: the line played forward with its fair turns.

A pure function of a snapshot of the line, so that every wait the pages show comes from one place and
tests can check it on scripted jobs. The rules it plays are the scheduler's own:

- ``slots`` jobs run at once; the others wait in arrival order;
- while anyone waits, a running job's turn ends after ``share`` seconds: a picture then ends with its best
  picture so far (``yields=False``), a clip goes to the back of the line with the work it has left and carries
  on at its next turn (``yields=True``), a comparison ends the run under way with its best picture so far and
  goes to the back of the line with its later runs (``runs``), unless that run was its last;
- while anyone waits, a comparison between two runs whose next run does not fit what is left of its turn goes to
  the back of the line there, so that run is painted whole at its next turn (a run that does not fit a whole turn
  is begun only at a turn's start, and cut at its end);
- ending a turn takes the job's ``finish`` seconds (the step or frame under way, the result written);
- nobody waiting: every job runs to its end.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

EPSILON = 1e-9  # s: a run with this little left is over (sums of floats)
Event = Literal["end", "cut", "pause"]  # done; its turn ended; it waits between two runs


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
            if self.runs[0] <= EPSILON:
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

    def pause_in(self, turn: float, opened: bool) -> float | None:
        """s until it ends a turn between two runs because the next one does not fit the rest of the turn (``turn``
        s left), or None where the turn ends within a run first (or nothing is left). ``opened``: it has worked in
        this turn, so a run not under way now is not the turn's first (which is begun whatever its length)."""
        at = 0.0
        for number, run in enumerate(self.runs):
            between = number > 0 or (not self.begun and opened)
            if between and turn - at < run - EPSILON:
                return at
            at += run
            if at >= turn:
                return None
        return None


@dataclass
class _Slot:
    work: _Work
    turn: float
    opened: bool  # it has worked in this turn


def forecast(running: list[Planned], waiting: list[Planned], slots: int, share: float) -> dict[str, Timing]:
    """The start and end of every job of a line: ``running`` hold slots now, ``waiting`` in arrival order."""
    now = 0.0
    starts = {job.key: 0.0 for job in running}
    ends: dict[str, float] = {}
    active = [_Slot(_Work(job, job.left, list(job.runs), bool(job.runs)),
                    share if job.turn_left is None else job.turn_left, True) for job in running]  # fmt: skip
    line = deque(_Work(job, job.left, list(job.runs), False) for job in waiting)
    while active or line:
        while len(active) < slots and line:
            work = line.popleft()
            starts.setdefault(work.job.key, now)
            active.append(_Slot(work, share, False))
        others_wait = bool(line)
        events: list[tuple[float, int, Event]] = []
        for index, slot in enumerate(active):
            pause = slot.work.pause_in(slot.turn, slot.opened) if others_wait else None
            if pause is not None:
                events.append((pause, index, "pause"))
            elif others_wait and slot.turn < slot.work.left:
                events.append((max(slot.turn, 0.0) + slot.work.job.finish, index, "cut"))
            else:
                events.append((slot.work.left, index, "end"))
        step, index, event = min(events, key=lambda event: event[0])
        now += step
        for slot in active:
            slot.work.spend(step)
            slot.turn -= step
            slot.opened = slot.opened or step > 0
        ended = active.pop(index).work
        if event != "end" and ended.job.yields and ended.after_turn() > 0:
            line.append(ended)
        else:
            ends[ended.job.key] = now
    return {key: Timing(starts[key], ends.get(key, starts[key])) for key in starts}
