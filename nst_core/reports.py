"""What the loop reports: a :class:`Progress` after every step, a :class:`TransferResult` at the end.

The page, the CLI and the tests are consumers of these records only. Plain data:
importing this module does not import torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from PIL import Image


@dataclass(frozen=True)
class Losses:
    """Weighted loss terms of one step; ``total`` is their sum."""

    content: float
    style: float
    tv: float
    total: float


StopReason = Literal["cancelled", "time budget", "converged"]


@dataclass(frozen=True)
class Progress:
    """What the loop reports after every step."""

    step: int  # steps done so far; 0 for the starting picture (the instant painting) before the first step
    total: int  # steps planned (shrinks when a scale converges early)
    losses: Losses  # weighted terms at this step
    elapsed: float  # s since the run started, weights loading included
    size: tuple[int, int]  # (width, height) of the scale being optimised
    scale: int  # 0-based index of that scale
    scales: int  # number of scales
    preview: Image.Image | None  # the current image, every ``preview_every`` steps and at the end

    @property
    def fraction(self) -> float:
        """Share of the planned steps done, in [0, 1]."""
        return min(1.0, self.step / self.total) if self.total else 1.0


@dataclass(frozen=True)
class HistoryPoint:
    """One point of the loss curves."""

    step: int
    elapsed: float  # s
    losses: Losses


@dataclass(frozen=True)
class TransferResult:
    """The outcome of :func:`stylize`."""

    image: Image.Image  # RGB, the output size
    losses: Losses  # of the returned image
    steps: int  # steps run
    seconds: float  # wall time of the run, weights loading included
    device: str  # for people, e.g. "CPU, 2 threads"
    precision: str  # of the convolutions: "bf16" or "fp32"
    weights: str  # for people, e.g. "VGG19, original ImageNet weights"
    stopped: StopReason | None  # why it ended before its planned steps; None when it ran them all
    history: list[HistoryPoint] = field(repr=False)
    recipe: dict[str, Any] = field(repr=False)  # every parameter, for the PNG metadata


ProgressCallback = Callable[[Progress], None]
