"""When each job in line will start and end: the line played forward with its fair turns.

A pure function of a snapshot of the line, so that every wait the pages show comes from one place and
tests can check it on scripted jobs. The rules it plays are the scheduler's own:

- ``slots`` jobs run at once; the others wait in arrival order;
- while anyone waits, a running job's turn ends after ``share`` seconds: a picture then ends with its best
  picture so far (``yields=False``), a clip goes to the back of the line with the work it has left and carries
  on at its next turn (``yields=True``), a comparison ends the run under way with its best picture so far and
  goes to the back of the line with its later runs (``runs``), unless that run was its last;
- a comparison's turn begins the runs planned to fit it when it starts (:func:`turn_runs`: the first whatever its
  length, then each later one that fits the rest); while anyone waits it goes to the back of the line once those
  are done, so its next run is painted whole at its next turn, and its turn may run ``overrun`` s past its end to
  finish them where they were planned to fit;
- ending a turn takes the job's ``finish`` seconds (the step or frame under way, the result written);
- nobody waiting: every job runs to its end.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
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
    turn_left: float | None = None  # s left of the turn it runs in, its overrun included; None while it waits
    finish: float = 0.0  # s it takes to end a turn once the turn is over
    # s of each of its runs, the one under way (running) or next (waiting) first, where a turn's end ends the run
    # under way (a comparison's); empty: one piece of work
    runs: tuple[float, ...] = ()
    # running: the runs its turn began or will begin, not yet ended (the one under way included); waiting: the runs
    # its next turn was planned to begin when it joined the line (0: none planned)
    turn_runs: int = 0


def turn_runs(runs: Sequence[float], turn: float, start: bool = True) -> tuple[int, bool]:
    """The runs of ``runs`` that ``turn`` s of a turn begin: at its ``start`` the first whatever its length, then each
    that fits what is left; and whether they fit the turn (only a turn's first can be longer)."""
    count, at = 0, 0.0
    for run in runs:
        if (count or not start) and at + run > turn + EPSILON:
            break
        count, at = count + 1, at + run
    return count, at <= turn + EPSILON


def planned_turn(runs: Sequence[float], share: float, overrun: float, told: int = 0) -> tuple[int, bool]:
    """The runs of ``runs`` a new turn begins, and whether it may overrun to end them: the ``told`` ones (a count
    planned when it joined the line, 0 for none) while they still fit the turn and its overrun (one run whatever its
    length), else :func:`turn_runs`. A count decided anew at every plan moved a whole run in or out of a turn whose
    runs came within a second of its length, and the waits behind it by as much (``python -m bench.load``)."""
    if 0 < told <= len(runs):
        at = sum(runs[:told])
        if told == 1 or at <= share + overrun + EPSILON:
            return told, at <= share + overrun + EPSILON
    return turn_runs(runs, share)


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
    turn_runs: int = 0  # the runs of this turn not yet ended (``Planned.turn_runs``)

    def spend(self, seconds: float) -> None:
        self.left -= seconds
        while seconds > EPSILON and self.runs:
            spent = min(seconds, self.runs[0])
            self.runs[0] -= spent
            seconds -= spent
            self.begun = True
            if self.runs[0] <= EPSILON:
                self.runs.pop(0)
                self.begun = False
                self.turn_runs -= 1

    def after_turn(self) -> float:
        """s left once its turn has ended: the run under way ends with the turn; the later runs are left."""
        if not self.job.runs:
            return self.left
        if self.begun:
            self.runs.pop(0)
            self.begun = False
        self.left = sum(self.runs)
        return self.left

    def pause_in(self, turn: float) -> float | None:
        """s until it ends its turn between two runs, its turn's runs done with others waiting (``turn`` s of the turn
        left); None where it has no later run, or the turn ends within a run first."""
        count = max(self.turn_runs, 1 if self.begun else 0)  # a run under way beyond its turn's runs ends first
        at = sum(self.runs[:count])
        if count >= len(self.runs) or at > turn + EPSILON:
            return None
        return at


@dataclass
class _Slot:
    work: _Work
    turn: float


def forecast(
    running: list[Planned], waiting: list[Planned], slots: int, share: float, overrun: float = 0.0
) -> dict[str, Timing]:
    """The start and end of every job of a line: ``running`` hold slots now, ``waiting`` in arrival order; a
    comparison's turn may last ``overrun`` s past ``share`` to end the runs planned to fit it."""
    now = 0.0
    starts = {job.key: 0.0 for job in running}
    ends: dict[str, float] = {}
    active = [_Slot(_Work(job, job.left, list(job.runs), bool(job.runs), job.turn_runs),
                    share if job.turn_left is None else job.turn_left) for job in running]  # fmt: skip
    line = deque(_Work(job, job.left, list(job.runs), False, job.turn_runs) for job in waiting)
    while active or line:
        while len(active) < slots and line:
            work = line.popleft()
            starts.setdefault(work.job.key, now)
            count, fits = planned_turn(work.runs, share, overrun, work.turn_runs)
            work.turn_runs = count
            active.append(_Slot(work, share + (overrun if work.runs and fits else 0.0)))
        others_wait = bool(line)
        events: list[tuple[float, int, Event]] = []
        for index, slot in enumerate(active):
            pause = slot.work.pause_in(slot.turn) if others_wait else None
            if pause is not None:
                events.append((pause, index, "pause"))
            elif others_wait and slot.turn < slot.work.left:
                events.append((max(slot.turn, 0.0) + slot.work.job.finish, index, "cut"))
            else:
                events.append((slot.work.left, index, "end"))
        step, index, event = min(events, key=lambda event: event[0])
        now += step
        for number, slot in enumerate(active):
            # A comparison cut at its turn's end works no further on its runs: the step under way and the judging
            # of the run it ends (``finish``) are not its next run begun.
            cut_runs = number == index and event == "cut" and slot.work.job.runs
            slot.work.spend(min(step, max(slot.turn, 0.0)) if cut_runs else step)
            slot.turn -= step
        ended = active.pop(index).work
        if event != "end" and ended.job.yields and ended.after_turn() > 0:
            ended.turn_runs = turn_runs(ended.runs, share)[0]  # its next turn's, planned as it joins the line again
            line.append(ended)
        else:
            ends[ended.job.key] = now
    return {key: Timing(starts[key], ends.get(key, starts[key])) for key in starts}
