"""A run's own clock: its pace from the steps it has run (:class:`StepClock`), the seconds it has left and one
step's (:func:`run_left`, :func:`one_step`), weighed against the device's :class:`~job_service.pace.Pace`, and what
a finished run teaches that pace (:func:`learn_run`)."""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field

from nst_core.config import TransferConfig
from nst_core.reports import Progress as StepReport
from nst_core.reports import TransferResult
from nst_core.schedule import megapixel_steps

from .pace import LIVE_RATE, Pace, instant_megapixels

RECENT_FRAMES = 8  # a clip's latest frames (a run's latest steps) its time left is planned from
MEDIAN_OF = 4  # a run's steps measured before their median stands for its pace (the mean since its first before)
# Steps (or a clip's frames) of the device's pace a job's own pace is weighed against, at least, and the seconds
# they stand for when its steps are short: its first few steps alone, slowed by nine other pages starting at once,
# told the visitor behind the first picture 10 s for 3.0 s, and five 0.13 s frames of a clip were too
# few against the page drawing its first preview (python -m bench.load).
PRIOR_STEPS = 5
PRIOR_SECONDS = 2.0


def prior_units(unit_seconds: float) -> float:
    """Steps or frames of the device's pace (one of them ``unit_seconds`` long) a job's own pace is weighed against."""
    return max(PRIOR_STEPS, PRIOR_SECONDS / unit_seconds) if unit_seconds > 0 else PRIOR_STEPS


@dataclass
class StepClock:
    """A run's own pace, from the steps it has run: seconds per megapixel-step, the median of its latest
    :data:`RECENT_FRAMES` steps once :data:`MEDIAN_OF` are measured after its first. A step or two slowed by a
    moment's neighbour (another visitor's instant picture on the same cores) moved a mean since the first step
    and the device's pace by a quarter, and told the visitor behind the picture 7 s for 4.2 s
    (``python -m bench.load``, docs/design.md)."""

    config: TransferConfig
    content_size: tuple[int, int]
    first: tuple[int, float] | None = None  # (step, elapsed) of the first report after a step
    last: tuple[int, float, tuple[int, int]] | None = None  # (step, elapsed, size) of the latest one
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_FRAMES))  # s per megapixel-step

    def note(self, report: StepReport, pace: Pace | None = None) -> None:
        """Take a step's report; with ``pace``, teach it the latest steps' median time (the waits of the others
        follow it)."""
        if report.step >= 1 and self.first is None:
            self.first = (report.step, report.elapsed)
        if self.last is not None and report.size != self.last[2]:
            self.recent.clear()  # a finer scale: its own steps (a smaller picture's pay more for their overhead)
        if self.last is not None and report.step == self.last[0] + 1 and report.size == self.last[2]:
            work = _work_between(self.config, self.content_size, self.last[0], report.step)
            if work > 0:
                self.recent.append((report.elapsed - self.last[1]) / work)
                if pace is not None and len(self.recent) >= MEDIAN_OF:
                    pace.learn_steps(statistics.median(self.recent) * work, work, LIVE_RATE)
        if report.step >= 1:
            self.last = (report.step, report.elapsed, report.size)

    def pace(self, report: StepReport | None) -> float | None:
        if report is None or self.first is None or report.step <= self.first[0]:
            return None
        if len(self.recent) >= MEDIAN_OF:
            return statistics.median(self.recent)
        work = _work_between(self.config, self.content_size, self.first[0], report.step)
        return (report.elapsed - self.first[1]) / work if work > 0 else None


def run_left(pace: Pace, clock: StepClock, report: StepReport | None, elapsed: float) -> float:
    """s a run has left after ``report`` (None: not begun, ``elapsed`` s in): its own pace once measured."""
    config, size = clock.config, clock.content_size
    if report is None or report.step == 0:
        begun = max(0.0, pace.picture_seconds(config, size) - elapsed)
        return begun
    device = pace.steps_seconds(config, size, report.step)
    own = clock.pace(report)  # this run's seconds per megapixel-step at its own size, overhead included
    if own is None or clock.first is None:
        return device + pace.setup_seconds(config, size)
    mine = megapixel_steps(config, size, report.step) * own * (pace.converge if config.early_stop else 1.0)
    measured = report.step - clock.first[0]
    prior = prior_units(pace.step_seconds(report.size))
    return (measured * mine + prior * device) / (measured + prior) + pace.setup_seconds(config, size)


def one_step(pace: Pace, clock: StepClock, report: StepReport | None, size: tuple[int, int]) -> float:
    """s one step at ``size`` takes: at the run's own pace once measured, else at the device's."""
    own = clock.pace(report)
    return own * size[0] * size[1] / 1e6 if own is not None else pace.step_seconds(size)


def learn_run(pace: Pace, config: TransferConfig, content_size: tuple[int, int], result: TransferResult) -> None:
    """What a finished run teaches: its step pace, its instant picture's, its setup, how early it stopped."""
    first = result.recipe.get("first_picture_seconds")
    size = (result.image.width, result.image.height)
    if first:
        pace.learn("instant", float(first) / instant_megapixels(size))
    steps = [point for point in result.history if point.step >= 1]
    stepping, per_step = 0.0, 0.0
    if len(steps) > 1:
        work = _work_between(config, content_size, steps[0].step, steps[-1].step)
        count = steps[-1].step - steps[0].step
        if work > 0 and count > 0:
            per_step = (steps[-1].elapsed - steps[0].elapsed) / count
            pace.learn_steps(per_step, work / count)
            stepping = per_step * result.steps
    # Its setup in its own steps (a ratio measured in one run holds whatever the host's load); none run: the pace's.
    setup = result.seconds - stepping - float(first or 0.0)
    pace.learn("setup_steps", setup / (per_step or pace.mean_step(config, content_size)))
    if config.early_stop and result.stopped in (None, "converged") and config.steps:
        planned = megapixel_steps(config, content_size)
        pace.learn_converge((planned - megapixel_steps(config, content_size, result.steps)) / planned)


def _work_between(config: TransferConfig, content_size: tuple[int, int], first: int, last: int) -> float:
    """Megapixel-steps from after step ``first`` to after step ``last``."""
    return megapixel_steps(config, content_size, first) - megapixel_steps(config, content_size, last)
