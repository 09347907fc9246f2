"""The plan of a run: its scales and steps, and the rules that end it early.

A run above 1.5x :data:`COARSE_SIZE` is painted coarse-to-fine; every scale runs
the configured steps unless the loss stops improving (:func:`converged`), the
visitor cancels, or the time budget runs out (:func:`interrupted`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from .config import TransferConfig
from .reports import StopReason

COARSE_SIZE = 256  # px; outputs above 1.5x this are optimised coarse-to-fine
EARLY_STOP_WINDOW = 10  # steps over which improvement is measured
EARLY_STOP_TOLERANCE = 2e-3  # relative improvement over the window below which a scale ends


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


def converged(totals: Sequence[float]) -> bool:
    """The early-stop rule: the loss fell by less than :data:`EARLY_STOP_TOLERANCE` (relative)
    over the last :data:`EARLY_STOP_WINDOW` steps."""
    if len(totals) <= EARLY_STOP_WINDOW:
        return False
    before, now = totals[-EARLY_STOP_WINDOW - 1], totals[-1]
    return before <= 1e-12 or (before - now) / before < EARLY_STOP_TOLERANCE


def interrupted(cancel: threading.Event | None, started: float, max_seconds: float | None) -> StopReason | None:
    """Why a run must stop before its next step (cancelled, or past its time budget), or None."""
    if cancel is not None and cancel.is_set():
        return "cancelled"
    if max_seconds is not None and time.perf_counter() - started > max_seconds:
        return "time budget"
    return None
