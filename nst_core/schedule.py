"""The plan of a run: its scales and steps, and the rules that end it early.

A run above 1.5x :data:`COARSE_SIZE` is painted coarse-to-fine; every scale runs
the configured steps unless the loss stops improving (:func:`converged`), the
visitor cancels, or the time budget runs out (:func:`interrupted`). The work a
plan holds is counted in megapixel-steps (:func:`megapixel_steps`), which the job
service turns into seconds at this device's pace.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from .config import COARSE_SIZE, TransferConfig
from .reports import StopReason

EARLY_STOP_WINDOW = 10  # steps over which improvement is measured
EARLY_STOP_TOLERANCE = 2e-3  # relative improvement over the window below which a scale ends
COARSER_LEVEL_FACTOR = 2.0  # a finer scale is not "converged" while its loss is above this times the coarser one's


def plan_scales(size: int, steps: int, multiscale: bool = True) -> list[tuple[int, int]]:
    """``[(longest side, steps), ...]`` from coarse to fine; every scale runs ``steps``.

    Each scale halves the next finer one down to about :data:`COARSE_SIZE`.
    A coarse step costs about a quarter of the next finer one, so a 512 px run
    costs about 1.25 times its fine steps (the bench measures what this buys).
    """
    sizes = [size]
    while multiscale and sizes[0] > 1.5 * COARSE_SIZE:
        sizes.insert(0, round(sizes[0] / 2))
    return [(longest, steps) for longest in sizes]


def planned_steps(config: TransferConfig) -> int:
    """Steps a run of ``config`` plans over all its scales (before any early stop)."""
    return sum(steps for _, steps in plan_scales(config.size, config.steps, config.multiscale))


def converged(totals: Sequence[float], coarser: float | None = None) -> bool:
    """The early-stop rule: the loss fell by less than :data:`EARLY_STOP_TOLERANCE` (relative)
    over the last :data:`EARLY_STOP_WINDOW` steps.

    ``coarser``: the loss the coarser scale ended at. The losses are normalised, so a finer scale
    can come down to about that level (its own terms; it is also scored seen at the coarser size, which
    starts near that level); while it is still above :data:`COARSER_LEVEL_FACTOR` times it, a slow
    stretch is not convergence and the scale goes on to its planned steps.
    """
    if len(totals) <= EARLY_STOP_WINDOW:
        return False
    before, now = totals[-EARLY_STOP_WINDOW - 1], totals[-1]
    if coarser is not None and now > COARSER_LEVEL_FACTOR * coarser:
        return False
    return before <= 1e-12 or (before - now) / before < EARLY_STOP_TOLERANCE


def interrupted(cancel: threading.Event | None, started: float, max_seconds: float | None) -> StopReason | None:
    """Why a run must stop before its next step (cancelled, or past its time budget), or None."""
    if cancel is not None and cancel.is_set():
        return "cancelled"
    if max_seconds is not None and time.perf_counter() - started > max_seconds:
        return "time budget"
    return None


def scale_sizes(config: TransferConfig, content_size: tuple[int, int]) -> list[tuple[tuple[int, int], int]]:
    """``[((width, height), steps), ...]`` of every scale of a run on a photo of ``content_size``."""
    from .images import fit_size

    plan = plan_scales(config.size, config.steps, config.multiscale)
    return [(fit_size(content_size, longest), steps) for longest, steps in plan]


def megapixel_steps(config: TransferConfig, content_size: tuple[int, int], done: int = 0) -> float:
    """The optimisation work of a run in megapixel-steps (a step's cost grows with its pixels), after ``done`` steps.

    A finer scale's step also scores the picture seen at the coarser scale's size, so it counts those pixels too.
    """
    work, coarser = 0.0, 0
    for (width, height), steps in scale_sizes(config, content_size):
        left = max(0, steps - done)
        done = max(0, done - steps)
        work += left * (width * height + coarser) / 1e6
        coarser = width * height
    return work
