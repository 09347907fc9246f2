"""The works a job can hold, each driving the one loop of ``nst_core`` and planning its own seconds.

- :class:`PictureWork`: a picture optimised (from the photo, or refining the instant painting); at the end
  of its turn it ends with its best picture so far.
- :class:`InstantWork`: the instant painting alone, in the instant lane.
- :class:`ClipWork`: a clip painted frame by frame; at the end of its turn it pauses between two frames.
- :class:`ComparisonWork`: the same picture under several settings; each run ends at the end of a turn like
  a picture, and the comparison pauses before its next run.
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from nst_core.config import TransferConfig
from nst_core.images import fit_size
from nst_core.reports import Progress as StepReport
from nst_core.reports import TransferResult

from .clock import RECENT_FRAMES, StepClock, learn_run, one_step, prior_units, run_left
from .jobs import Lane, Progress, StopWhy
from .pace import LIVE_RATE, Pace, instant_megapixels

if TYPE_CHECKING:
    from nst_core.backbone import FeatureExtractor
    from nst_core.compare import Variant
    from nst_core.video import FrameProgress, VideoResult

    from .scheduler import Context

MAX_PREVIEWS = 60  # kept per picture, for its time-lapse

# A clip's GIF's seconds per megapixel of its frames, written after the last frame, beside the part of those
# seconds whatever the clip's size (``Pace.close``; measured: docs/design.md, "Figures behind choices in the code").
GIF_SECONDS_PER_MEGAPIXEL = 0.5


@dataclass
class Painted:
    """A finished (or stopped) picture: the core's result, the previews seen on the way, why it ended early, and
    the photo and paintings it was painted from."""

    result: TransferResult
    previews: list[Image.Image]
    stopped: StopWhy | None
    content: Image.Image
    styles: list[Image.Image]
    start: Image.Image | None = None  # the instant picture a refined run started from


@dataclass
class PictureWork:
    """A picture optimised in the one loop; its turn's end, Stop and its time limit end it with its best picture."""

    content: Image.Image
    styles: list[Image.Image]
    config: TransferConfig
    extractor: FeatureExtractor | None = None
    masks: list[Image.Image] | None = None  # one region per painting (nst_core.regions)
    kind: str = "picture"
    lane: Lane = "device"
    yields: bool = False
    clock: StepClock = field(init=False)
    latest: StepReport | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.clock = StepClock(self.config, self.content.size)

    def planned(self, pace: Pace) -> float:
        seconds = pace.picture_seconds(self.config, self.content.size, instants=_instants(self.masks))
        return self._within_limit(seconds, 0.0, pace)

    def left(self, pace: Pace, progress: Progress | None, used: float) -> float:
        return self._within_limit(run_left(pace, self.clock, self.latest, used), used, pace)

    def finish(self, pace: Pace) -> float:
        """The step under way: the rest of a run's setup (its targets) came before its steps; what it does after
        them took 0.1 s in all after a turn at 96 px, where adding the whole setup told the visitor behind 0.7 s
        too much (tests/test_e2e_visitors.py, 2026-12-02)."""
        size = fit_size(self.content.size, self.config.size)
        return one_step(pace, self.clock, self.latest, size)

    def runs(self, pace: Pace) -> tuple[float, ...]:
        return ()

    def _within_limit(self, seconds: float, used: float, pace: Pace) -> float:
        limit = self.config.max_seconds
        return seconds if limit is None else min(seconds, max(0.0, limit - used) + self.finish(pace))

    def run(self, context: Context) -> Painted:
        from nst_core.transfer import stylize_with_retry

        previews: list[Image.Image] = []
        starts: list[Image.Image] = []

        def on_progress(report: StepReport) -> None:
            self.clock.note(report, context.pace)
            self.latest = report
            if report.step == 0 and report.preview is not None:
                starts.append(report.preview)
            if report.preview is not None:
                previews.append(report.preview)
                del previews[:-MAX_PREVIEWS]
            context.report(Progress(report.fraction, report.step, report.total, report.elapsed, report.preview, report))

        result = stylize_with_retry(self.content, self.styles, self.config, on_progress=on_progress,
                                    cancel=context.cancel, extractor=self.extractor, masks=self.masks)  # fmt: skip
        stopped = context.stopped if result.stopped == "cancelled" else result.stopped
        return Painted(result, previews, stopped, self.content, self.styles, starts[0] if starts else None)

    def learn(self, pace: Pace, result: Painted, used: float) -> None:
        if result.stopped is None and result.result.stopped is None:  # every planned step run
            instants = _instants(self.masks)
            pace.learn_slowdown(used, pace.as_probed().picture_seconds(self.config, self.content.size, instants))
        learn_run(pace, self.config, self.content.size, result.result)


@dataclass
class InstantWork:
    """The instant painting alone: one pass of the feed-forward network, in the instant lane."""

    content: Image.Image
    styles: list[Image.Image]
    config: TransferConfig
    masks: list[Image.Image] | None = None  # one region per painting (nst_core.regions)
    kind: str = "instant"
    lane: Lane = "instant"
    yields: bool = False

    def planned(self, pace: Pace) -> float:
        size = fit_size(self.content.size, self.config.size)
        return _instants(self.masks) * pace.instant_seconds(size) + pace.setup_steps * pace.step_seconds(size)

    def left(self, pace: Pace, progress: Progress | None, used: float) -> float:
        return max(0.0, self.planned(pace) - used)

    def finish(self, pace: Pace) -> float:
        return self.planned(pace)

    def runs(self, pace: Pace) -> tuple[float, ...]:
        return ()

    def run(self, context: Context) -> Painted:
        from nst_core.instant import paint_instant

        result = paint_instant(self.content, self.styles, self.config, masks=self.masks)
        return Painted(result, [], None, self.content, self.styles)

    def learn(self, pace: Pace, result: Painted, used: float) -> None:
        pace.learn("instant", used / (_instants(self.masks) * instant_megapixels(result.result.image.size)))


def _instants(masks: list[Image.Image] | None) -> int:
    """Passes of the instant network a picture takes: one, or one per painting when painted by region."""
    return len(masks) if masks else 1


@dataclass
class Clip:
    """A painted clip (or the frames painted before it was stopped), written to ``video.output``."""

    video: VideoResult
    stopped: StopWhy | None


@dataclass
class ClipWork:
    """A clip painted frame by frame; at the end of its turn it pauses between two frames. Its time limit
    (``config.max_seconds``) counts the seconds it holds a slot, over all its turns."""

    source: Path
    styles: list[Image.Image]
    output: Path
    config: TransferConfig
    frame_size: tuple[int, int]  # (width, height) of the painted frames
    frames: int  # planned
    every: int = 1
    gif: bool = True
    masks: list[Image.Image] | None = None  # one region per painting, the same on every frame
    kind: str = "clip"
    lane: Lane = "device"
    yields: bool = True
    done: int = field(default=0, init=False)
    used_before: float = field(default=0.0, init=False)  # slot seconds at the last frame
    # (frame, slot seconds) at the end of each of the latest frames, from the first on: the clip's own pace
    marks: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=RECENT_FRAMES + 1), init=False)

    def planned(self, pace: Pace) -> float:
        return self.left(pace, None, 0.0)

    def left(self, pace: Pace, progress: Progress | None, used: float) -> float:
        seconds = self._per_frame(pace) * (self.frames - self.done) + self._encode(pace)
        if self.done:
            seconds = max(0.0, seconds - (used - self.used_before))  # the frame under way has begun
        limit = self.config.max_seconds
        return seconds if limit is None else min(seconds, max(0.0, limit - used) + self.finish(pace))

    def finish(self, pace: Pace) -> float:
        return pace.frame_seconds(self.config, self.frame_size) + self._encode(pace)

    def runs(self, pace: Pace) -> tuple[float, ...]:
        return ()

    def _per_frame(self, pace: Pace) -> float:
        """The seconds of a frame: measured on this clip's latest :data:`RECENT_FRAMES` frames after its first
        (which also opens the clip and, refined, sets its look); the pace's until two are painted.

        Counted from the first frame on, a clip cut at its turn after a few frames told everyone behind it waits
        several seconds too long; counted over all its frames, a clip whose first frames were slow (nine other
        visitors' pages starting at once, ``python -m bench.load``) went on planning at that pace long after. The
        device's pace counts as :func:`prior_units` frames beside them: the second frame alone, slowed by the page
        drawing the first, told the visitors behind the clip twice their wait."""
        device = pace.frame_seconds(self.config, self.frame_size)
        own = self._recent_frame()
        if own is None:
            return device
        measured = self.marks[-1][0] - 1  # frames measured since the first, the latest of them giving the pace
        prior = prior_units(device)
        return (measured * own + prior * device) / (measured + prior)

    def _recent_frame(self) -> float | None:
        """The median seconds of a frame over the latest :data:`RECENT_FRAMES` (None before the second): one frame
        slowed by a moment's neighbour (another visitor's instant picture, 0.5 s on the same cores) moved a mean
        of eight frames and the device's pace by a quarter, and told the visitor behind the clip 7 s for 3.8 s
        (``python -m bench.load``, docs/design.md)."""
        pairs = itertools.pairwise(self.marks)
        seconds = [(end - begin) / (last - first) for (first, begin), (last, end) in pairs if last > first]
        return statistics.median(seconds) if seconds else None

    def _encode(self, pace: Pace) -> float:
        """The seconds after the last frame: the MP4 closed, the sound copied, the GIF written."""
        return pace.close * pace.scale("close") + self._gif_seconds()

    def _gif_seconds(self) -> float:
        megapixels = self.frames * self.frame_size[0] * self.frame_size[1] / 1e6
        return GIF_SECONDS_PER_MEGAPIXEL * megapixels if self.gif else 0.0

    def run(self, context: Context) -> Clip:
        from nst_core.video import paint_video

        limit = self.config.max_seconds

        def on_progress(report: FrameProgress) -> None:
            if report.frame and (not self.marks or report.frame > self.marks[-1][0]):
                self.marks.append((report.frame, context.used()))
            if self.config.steps == 0 and report.frame > self.done and (own := self._recent_frame()) is not None:
                context.pace.learn("frame", own / instant_megapixels(self.frame_size), LIVE_RATE)  # by their median
            self.used_before = context.used()
            self.done = report.frame
            context.report(Progress(report.frame / report.frames, report.frame, report.frames, context.used(),
                                    report.preview, report))  # fmt: skip
            if limit is not None and context.used() > limit:
                context.stop("time budget")
            elif report.frame < report.frames:
                context.take_break()

        # The time limit is the slot time over all turns, checked here between frames; the core's own would
        # count the seconds spent waiting for a turn.
        config = self.config.replace(max_seconds=None)
        video = paint_video(self.source, self.styles, self.output, config, gif=self.gif, every=self.every,
                            on_progress=on_progress, cancel=context.cancel, masks=self.masks)  # fmt: skip
        return Clip(video, context.stopped if video.stopped else None)

    def learn(self, pace: Pace, result: Clip, used: float) -> None:
        if result.video.stopped is None and self.marks and self.marks[-1][0] == result.video.frames == self.frames:
            # Its seconds after the last frame, which the visitors behind it wait for too (on a server busy with
            # other pages, more than the figure measured alone: python -m bench.load).
            pace.learn("close", used - self.marks[-1][1] - self._gif_seconds())
        if self.config.steps == 0 and result.video.frames:
            megapixels = instant_megapixels((result.video.width, result.video.height))
            pace.learn("frame", (used - self._encode(pace)) / (result.video.frames * megapixels))


@dataclass
class Compared:
    """A finished comparison: one result per variant run (fewer when stopped), and its photo and paintings."""

    labels: list[str]
    results: list[TransferResult]
    stopped: StopWhy | None
    content: Image.Image
    styles: list[Image.Image]


@dataclass
class ComparisonWork:
    """The same picture under several settings, one run after another; a run ends at the end of a turn like a
    picture, and the comparison then pauses before its next run."""

    content: Image.Image
    styles: list[Image.Image]
    variants: list[Variant]
    kind: str = "comparison"
    lane: Lane = "device"
    yields: bool = True
    index: int = field(default=0, init=False)  # the run under way
    clocks: list[StepClock] = field(init=False)
    latest: StepReport | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.clocks = [StepClock(variant.config, self.content.size) for variant in self.variants]

    def _run_seconds(self, pace: Pace, index: int) -> float:
        config = self.variants[index].config
        size = fit_size(self.content.size, config.size)
        return pace.picture_seconds(config, self.content.size) + pace.judging(size)  # and the distances judged after

    def planned(self, pace: Pace) -> float:
        return sum(self._run_seconds(pace, index) for index in range(len(self.variants)))

    def left(self, pace: Pace, progress: Progress | None, used: float) -> float:
        return sum(self.runs(pace))

    def runs(self, pace: Pace) -> tuple[float, ...]:
        """The run under way (or next, between turns) and the later ones: a turn's end ends the run under way."""
        if self.index >= len(self.variants):
            return ()
        size = fit_size(self.content.size, self.variants[self.index].config.size)
        under_way = run_left(pace, self.clocks[self.index], self.latest, 0.0) + pace.judging(size)
        return (under_way, *(self._run_seconds(pace, index) for index in range(self.index + 1, len(self.variants))))

    def finish(self, pace: Pace) -> float:
        """The step under way, then the run's result judged (its distances) before the pause."""
        config = self.variants[min(self.index, len(self.variants) - 1)].config
        size = fit_size(self.content.size, config.size)
        under_way = one_step(pace, self.clocks[min(self.index, len(self.clocks) - 1)], self.latest, size)
        return under_way + pace.judging(size)

    def run(self, context: Context) -> Compared:
        from nst_core import compare

        results: list[TransferResult] = []
        total = len(self.variants)
        for index, variant in enumerate(self.variants):
            if index and not context.take_break():
                break
            if context.cancel.is_set():
                break
            self.index, self.latest = index, None
            ends_run = threading.Event()  # this run's own stop: the job's Stop, or the end of the turn

            def on_progress(report: StepReport, index: int = index, ends_run: threading.Event = ends_run) -> None:
                self.clocks[index].note(report, context.pace)
                self.latest = report
                fraction = (index + report.fraction) / total
                context.report(Progress(fraction, index + 1, total, report.elapsed, report.preview, (index, report)))
                if context.cancel.is_set() or context.turn_over():
                    ends_run.set()

            began = time.monotonic()
            result = compare.run_one(self.content, self.styles, variant, on_progress, ends_run)
            context.pace.learn_judging(time.monotonic() - began - result.seconds, result.image.size)  # its distances
            results.append(result)
            self.index, self.latest = index + 1, None  # between turns, what is left is the later runs
        self.index = total
        stopped = context.stopped if len(results) < total or context.cancel.is_set() else None
        labels = [variant.label for variant in self.variants[: len(results)]]
        return Compared(labels, results, stopped, self.content, self.styles)

    def learn(self, pace: Pace, result: Compared, used: float) -> None:
        for variant, run in zip(self.variants, result.results, strict=False):
            learn_run(pace, variant.config, self.content.size, run)
