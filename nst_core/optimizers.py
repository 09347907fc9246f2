"""Optimisers for pixels: a guarded L-BFGS, Adam and calibrated plain gradient descent.

Why not ``torch.optim.LBFGS``: without a line search its first step has
length ``1 / ||g||_1`` and it accepts a curvature pair only when
``s.y > 1e-10``, two absolute scales. Measured on our normalised losses, it
either never leaves plain gradient descent (small gradients) or takes a
first step so small that the next Barzilai-Borwein step explodes the loss
(large gradients). With a strong-Wolfe line search it costs several
evaluations per step and stalled here. This L-BFGS makes one evaluation per
step and is scale-free: the first step moves the most-changed pixel by
``first_step``, no step moves any pixel by more than ``max_step``, and a
step that raises the loss is undone and the curvature memory cleared.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch

Closure = Callable[[], float]  # evaluates the loss, fills .grad, returns the loss


class PixelOptimizer(Protocol):
    """What the loop needs of an optimiser: one step per call of ``step(closure)``."""

    def step(self, closure: Closure) -> object: ...


class PixelLBFGS:
    """Limited-memory BFGS with one closure evaluation per step.

    Not a ``torch.optim.Optimizer``: constructing one of those imports
    ``torch._dynamo``, which costs about 2 s of every process's first step.

    Args:
        image: the tensor optimised (as a flat vector), updated in place.
        lr: factor on every quasi-Newton step (1 = the full step).
        history_size: curvature pairs kept.
        first_step: largest pixel change of the first, steepest-descent step.
        max_step: largest pixel change any step may make (a trust region).
    """

    def __init__(
        self,
        image: torch.Tensor,
        lr: float = 1.0,
        history_size: int = 10,
        first_step: float = 0.05,
        max_step: float = 0.25,
    ) -> None:
        self.image = image
        self.lr = lr
        self.history_size = history_size
        self.first_step = first_step
        self.max_step = max_step
        self._pairs: list[tuple[torch.Tensor, torch.Tensor, float]] = []  # (s, y, 1 / s.y)
        self._previous: tuple[torch.Tensor, float, torch.Tensor] | None = None  # (x, f, g)
        self._trust = 1.0  # shrinks after a rejected step

    @torch.no_grad()
    def step(self, closure: Closure) -> float:
        # On a GPU every Python number read from a tensor waits for the queue to drain, so
        # the step reads one (the curvature test); the rest stay 0-dim tensors.
        with torch.enable_grad():
            loss = closure()
        x = self.image
        if x.grad is None:
            raise RuntimeError("The closure did not compute a gradient.")
        f = float(loss)
        g = x.grad.detach().reshape(-1).clone()
        flat = x.detach().reshape(-1)
        if self._previous is not None:
            x_prev, f_prev, g_prev = self._previous
            if not f <= f_prev:  # also catches NaN: undo the step, forget the curvature
                flat.copy_(x_prev)
                f, g = f_prev, g_prev
                self._pairs.clear()
                self._trust *= 0.25
            else:
                s, y = flat - x_prev, g - g_prev
                sy, scale = torch.stack([s.dot(y), s.norm() * y.norm()]).tolist()
                if sy > 1e-10 * scale:
                    self._pairs.append((s, y, 1.0 / sy))
                    del self._pairs[: -self.history_size]
                self._trust = min(1.0, self._trust * 2)
        direction = self._direction(g)
        limit = self.max_step * self._trust
        direction.mul_((limit / direction.abs().max()).clamp(max=1.0))  # no pixel moves more than the limit
        self._previous = (flat.clone(), f, g)
        flat.add_(direction)
        return loss

    def _direction(self, g: torch.Tensor) -> torch.Tensor:
        """``-H g`` by the two-loop recursion; steepest descent without history."""
        if not self._pairs:
            largest = g.abs().max()
            factor = torch.where(largest > 0, -self.first_step * self._trust / largest, 0.0)
            return g * factor
        q = g.clone()
        alphas: list[torch.Tensor] = []
        for s, y, rho in reversed(self._pairs):
            alpha = s.dot(q) * rho
            q.addcmul_(y, alpha, value=-1)
            alphas.append(alpha)
        s, y, _ = self._pairs[-1]
        q.mul_(s.dot(y) / y.dot(y))
        for (s, y, rho), alpha in zip(self._pairs, reversed(alphas), strict=True):
            q.addcmul_(s, alpha - y.dot(q) * rho)
        return q.mul_(-self.lr)


class GradientDescent:
    """Plain gradient descent with a fixed step, calibrated on the first gradient.

    ``x <- x - lr * g / r`` where ``r`` is the RMS of the first gradient,
    held fixed for the rest of the run: the report's "simple gradient
    descent", but with ``lr`` in pixel units (about the RMS pixel change of
    the first step) rather than in units of the loss, which would make it
    depend on every weight and on the input scaling of the backbone.
    """

    def __init__(self, image: torch.Tensor, lr: float = 0.01) -> None:
        self.image = image
        self.lr = lr
        self._scale: float | None = None

    @torch.no_grad()
    def step(self, closure: Closure) -> float:
        with torch.enable_grad():
            loss = closure()
        grad = self.image.grad
        if grad is None:
            raise RuntimeError("The closure did not compute a gradient.")
        if self._scale is None:
            rms = float(grad.pow(2).mean().sqrt())
            self._scale = 1.0 / rms if rms > 0 else 0.0
        self.image.add_(grad, alpha=-self.lr * self._scale)
        return loss


def build_optimizer(name: str, image: torch.Tensor, lr: float) -> PixelOptimizer:
    """The optimiser called ``name`` ("lbfgs", "adam" or "gd") over one image tensor."""
    if name == "lbfgs":
        return PixelLBFGS(image, lr=lr)
    if name == "adam":
        return torch.optim.Adam([image], lr=lr)
    if name == "gd":
        return GradientDescent(image, lr=lr)
    raise ValueError(f"Unknown optimiser {name!r}.")
