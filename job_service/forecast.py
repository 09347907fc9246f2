"""When each job in line will start and end: the line played forward with its fair turns.

A pure function of a snapshot of the line, so that every wait the pages show comes from one place and
tests can check it on scripted jobs. The rules it plays are the scheduler's own:

- ``slots`` jobs run at once; the others wait in arrival order;
- while anyone waits, a running job's turn ends after ``share`` seconds: a picture then ends with its best
  picture so far (``yields=False``), a clip or a comparison goes to the back of the line with the work it has
  left and carries on at its next turn (``yields=True``);
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


@dataclass(frozen=True)
class Timing:
    """Seconds from now until a job is (first) admitted, and until it is done."""

    start: float
    end: float


@dataclass
class _Slot:
    job: Planned
    left: float
    turn: float


def forecast(running: list[Planned], waiting: list[Planned], slots: int, share: float) -> dict[str, Timing]:
    """The start and end of every job of a line: ``running`` hold slots now, ``waiting`` in arrival order."""
    now = 0.0
    starts = {job.key: 0.0 for job in running}
    ends: dict[str, float] = {}
    active = [_Slot(job, job.left, share if job.turn_left is None else job.turn_left) for job in running]
    line = deque((job, job.left) for job in waiting)
    while active or line:
        while len(active) < slots and line:
            job, left = line.popleft()
            starts.setdefault(job.key, now)
            active.append(_Slot(job, left, share))
        others_wait = bool(line)
        events = []
        for index, slot in enumerate(active):
            cut = others_wait and slot.turn < slot.left
            events.append((max(slot.turn, 0.0) + slot.job.finish if cut else slot.left, index, cut))
        step, index, cut = min(events, key=lambda event: event[0])
        now += step
        for slot in active:
            slot.left -= step
            slot.turn -= step
        ended = active.pop(index)
        if cut and ended.job.yields and ended.left > 0:
            line.append((ended.job, ended.left))
        else:
            ends[ended.job.key] = now
    return {key: Timing(starts[key], ends.get(key, starts[key])) for key in starts}
