"""How fast this device paints, learned from the jobs it finished, to plan a job's seconds before it runs.

Every figure is a running estimate that each finished job moves a third of the way towards what it measured,
so the plans follow the device as it is now (a neighbour that slows the host slows the plans too).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nst_core.config import TransferConfig
from nst_core.images import fit_size
from nst_core.instant import NATIVE_SIZE
from nst_core.schedule import megapixel_steps, planned_steps

if TYPE_CHECKING:
    from .capacity import InstantCapacity

TIMES = ("step", "instant", "frame", "overhead", "close", "judge")  # the figures in seconds
# Those planned at the slowdown until a job of their kind is measured, by the figures planned together.
SLOWED = (("step", "overhead"), ("frame",), ("close",))
LEARNING_RATE = 1 / 3  # share of the way a finished job's measurement moves a figure
LIVE_RATE = 0.1  # the same for each step or frame of a job under way: the waits follow the device's load at once
JUDGE_STEPS = 1.5  # a comparison's judging of a run, in steps of its size, until one is measured
# A run's setup (its targets, the recipe, the PNG) in steps of its own, until a run is measured: 0.75-0.85 at 96-384 px
# on a 2-core CPU (docs/design.md). A flat 0.5 s planned a 96 px run's 0.08 s setup six times too long, and the first
# comparison's three runs 1.4 s long (python -m bench.load).
SETUP_STEPS = 0.8
LARGE_STEP = 0.03  # megapixels of work a step needs for its time to be mostly its pixels' (about 200x150 px)


def instant_megapixels(size: tuple[int, int]) -> float:
    """The megapixels the instant network paints for a picture of ``size``: at least its own size's."""
    working = size if max(size) >= NATIVE_SIZE else fit_size(size, NATIVE_SIZE)
    return working[0] * working[1] / 1e6


@dataclass
class Pace:
    """Seconds per unit of work on this device.

    ``step``: seconds per megapixel-step of the optimisation; ``instant``: seconds per megapixel painted by the
    instant network (a clip's frame also pays for its optical flow at this rate); ``setup_steps``: what a run takes
    besides its steps and instant picture (its targets, the recipe, the PNG), in steps of the run (it grows with
    the pixels as they do: :meth:`setup_seconds`); ``frame``: seconds per megapixel of a
    clip's frame besides its refining steps (the instant picture, the optical flow both ways, the warp);
    ``converge``: the share of its planned steps a run that may stop early really takes; ``overhead``: seconds every
    step costs whatever its size (an optimiser step on a small picture costs more than its pixels say); ``close``:
    seconds a clip takes after its last frame besides its GIF (the MP4 closed, its sound copied); ``judge``: seconds
    a comparison's run takes after its picture (its two distances judged) per megapixel of it, once a comparison
    teaches it (:meth:`judging`). Measured:
    docs/design.md, "Figures behind choices in the code".

    ``slowdown``: how much longer than the start-up probe planned them the pictures painted on real jobs took (the
    server's own load: its pages' reruns, its visitors' requests; not learned without a start-up probe). The
    figures of :data:`SLOWED` that no job of their kind has taught yet (the first clip's frames after pictures)
    are planned at it, and the first job that teaches one starts from there: from the probe alone,
    the first clip on a busy server came late, and the visitors behind it were told too little (docs/design.md,
    the load bench of 2026-12-02).
    """

    step: float
    instant: float
    setup_steps: float = SETUP_STEPS
    frame: float = 3.0
    converge: float = 1.0
    overhead: float = 0.04
    close: float = 0.35
    judge: float = 1.5
    slowdown: float = 1.0
    probed: dict[str, float] = field(default_factory=dict)  # every time figure as the start-up probe left it
    learned: set[str] = field(default_factory=set)  # the figures real jobs have taught
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        """Its figures (a pace crosses processes on a cluster; its lock stays behind)."""
        with self._lock:
            return {name: value for name, value in vars(self).items() if name != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        vars(self).update(state)
        self._lock = threading.Lock()

    @classmethod
    def for_device(cls, device_type: str) -> Pace:
        """A first guess, on the slow side, until the first job on this device is measured."""
        if device_type in ("cuda", "mps"):
            return cls(step=0.1, instant=1.5, frame=3.0, overhead=0.003)
        return cls(step=15.0, instant=1.5, frame=3.0, overhead=0.04)

    def take_step(self, seconds_per_megapixel_step: float, overhead: float | None = None) -> None:
        """The optimisation's pace as measured on this device (at start-up), and a step's ``overhead`` where measured,
        in place of the guesses."""
        with self._lock:
            self.step = seconds_per_megapixel_step
            if overhead is not None:
                self.overhead = overhead
            self._keep_probe()

    def take_instant(self, measured: InstantCapacity) -> None:
        """The instant network's paces as measured on this device (at start-up), in place of the guesses."""
        with self._lock:
            self.instant = measured.seconds_per_megapixel
            self.frame = measured.frame_seconds_per_megapixel
            self._keep_probe()

    def _keep_probe(self) -> None:
        self.probed = {name: float(getattr(self, name)) for name in TIMES}

    def as_probed(self) -> Pace:
        """This device's pace as the start-up probe measured it, before any job taught it."""
        with self._lock:
            return Pace(**{name: getattr(self, name) for name in TIMES} | self.probed, setup_steps=self.setup_steps)

    def scale(self, *names: str) -> float:
        """The factor to plan the figures ``names`` at: :attr:`slowdown` until a job of their kind teaches one."""
        with self._lock:
            return 1.0 if self.learned.intersection(names) else self.slowdown

    def learn_slowdown(self, seconds: float, probed: float) -> None:
        """A picture that took ``seconds`` where the probe's figures planned ``probed``: the first replaces the
        guess (1), the later ones move it a third of the way; within [1/2, 2]."""
        with self._lock:
            if not (seconds > 0 and probed > 0 and self.probed):  # the guesses before a probe are no measure
                return
            first = "slowdown" not in self.learned
        self.learn("slowdown", min(max(seconds / probed, 0.5), 2.0), 1.0 if first else LEARNING_RATE)

    def steps_seconds(self, config: TransferConfig, content_size: tuple[int, int], done: int = 0) -> float:
        """The optimisation's seconds after ``done`` steps, early stops expected at the learned rate."""
        work = megapixel_steps(config, content_size, done)
        steps = max(0, planned_steps(config) - done)
        scale = self.scale("step", "overhead")
        return (self.step * work + self.overhead * steps) * scale * (self.converge if config.early_stop else 1.0)

    def step_seconds(self, size: tuple[int, int]) -> float:
        """The seconds of one optimisation step at ``size`` (width, height) px."""
        return (self.step * size[0] * size[1] / 1e6 + self.overhead) * self.scale("step", "overhead")

    def mean_step(self, config: TransferConfig, content_size: tuple[int, int]) -> float:
        """The seconds of a run's step on average over its scales (one at its size when it plans none)."""
        steps = planned_steps(config)
        if not steps:
            return self.step_seconds(fit_size(content_size, config.size))
        return self.steps_seconds(config.replace(early_stop=False), content_size) / steps

    def setup_seconds(self, config: TransferConfig, content_size: tuple[int, int]) -> float:
        """The seconds of a run's setup: :attr:`setup_steps` of its steps."""
        return self.setup_steps * self.mean_step(config, content_size)

    def instant_seconds(self, size: tuple[int, int]) -> float:
        """The instant network's seconds for a picture of ``size`` (width, height) px (a smaller one than the
        network's own size is painted at that size and reduced, so it costs as much)."""
        return self.instant * instant_megapixels(size)

    def picture_seconds(self, config: TransferConfig, content_size: tuple[int, int], instants: int = 1) -> float:
        """The planned seconds of one picture, from its admission to its result (``instants``: passes of the
        instant network for its start, one per painting when painted by region)."""
        size = fit_size(content_size, config.size)
        first = instants * self.instant_seconds(size) if config.init == "fast" else 0.0
        return (
            self.setup_seconds(config, content_size)
            + first
            + (self.steps_seconds(config, content_size) if config.steps else 0.0)
        )

    def judging(self, size: tuple[int, int]) -> float:
        """The seconds a comparison's run of a picture of ``size`` (width, height) px takes after it: its two
        distances judged. Until a comparison has taught them, :data:`JUDGE_STEPS` steps' (its three passes of the
        network against a step's forward and backward pass: 0.12 s against 0.08 s at 96 px); planned at a run's
        setup before, a comparison's turn of two runs was planned 1.1-1.6 s long (``python -m bench.load``)."""
        megapixels = size[0] * size[1] / 1e6
        with self._lock:
            if "judge" in self.learned:
                return self.judge * megapixels
        return JUDGE_STEPS * self.step_seconds(size)

    def learn_judging(self, seconds: float, size: tuple[int, int]) -> None:
        """A comparison's run of a picture of ``size`` judged in ``seconds``: the first replaces the guess, later ones
        move it a third of the way."""
        with self._lock:
            first = "judge" not in self.learned
        self.learn("judge", seconds / (size[0] * size[1] / 1e6), 1.0 if first else LEARNING_RATE)

    def frame_seconds(self, config: TransferConfig, frame_size: tuple[int, int]) -> float:
        """The planned seconds of one clip frame: the instant picture and the flow, then its refining steps."""
        single = config.replace(multiscale=False, early_stop=False)
        refine = self.steps_seconds(single, frame_size) if config.steps else 0.0
        return self.frame * self.scale("frame") * instant_megapixels(frame_size) + refine

    def learn(self, name: str, measured: float, rate: float = LEARNING_RATE) -> None:
        """Move the figure ``name`` a share ``rate`` of the way to ``measured`` (ignored unless positive and finite)."""
        if not measured > 0 or measured == float("inf"):
            return
        with self._lock:
            for group in SLOWED:  # a group's first lesson starts from its figures as planned until now
                if name in group and not self.learned.intersection(group):
                    for member in group:
                        setattr(self, member, getattr(self, member) * self.slowdown)
                    self.learned.update(group)
            value = getattr(self, name)
            setattr(self, name, value + (measured - value) * rate)
            self.learned.add(name)

    def learn_steps(self, seconds_per_step: float, megapixels: float, rate: float = LEARNING_RATE) -> None:
        """Steps measured at ``megapixels`` of work each: a large picture teaches the pixels' share, a small one
        the overhead of a step (each is taken as known when the other is learned)."""
        if megapixels >= LARGE_STEP:
            self.learn("step", (seconds_per_step - self.overhead) / megapixels, rate)
        else:
            self.learn("overhead", seconds_per_step - self.step * megapixels, rate)

    def learn_converge(self, share: float) -> None:
        """A run that could stop early took ``share`` of its planned steps."""
        if 0.0 < share <= 1.0:
            with self._lock:
                self.converge += (share - self.converge) * LEARNING_RATE
