"""The optimisation of one picture, scale by scale: the loop every run shares (:func:`~nst_core.transfer.stylize`
builds a :class:`PictureRun` and reads its result).

Each scale starts from the one before brought up to its size, keeps its best-scored image (the one returned, its
losses the ones reported), reports every step, and stops at Stop, the time limit or convergence. A finer scale is
also scored seen at the coarser scale's size (``config.seen_smaller``); painted by region, the photo is kept
where no mask applies (:mod:`nst_core.regions`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.nn import functional

from .backbone import FeatureExtractor
from .color import keep_content_chroma, match_color_statistics
from .config import TransferConfig
from .graphs import GraphedEvaluation
from .images import fit_size, resize, to_pil, to_tensor
from .losses import CoarserView, GatysLoss, StyleGrams, TemporalLoss, build_gatys_loss, range_penalty, style_grams
from .optimizers import build_optimizer
from .regions import coverage, keep_photo, mask_tensor
from .reports import HistoryPoint, Losses, Progress, ProgressCallback, StopReason
from .schedule import converged, interrupted, plan_scales, planned_steps

RANGE_PENALTY_WEIGHT = 1.0  # keeps L-BFGS's pixels within about 3% of [0, 1]


@dataclass(frozen=True)
class Temporal:
    """The temporal term of a video frame (Ruder et al. 2016)."""

    target: Image.Image  # the previous painted frame, warped onto this one
    mask: np.ndarray  # (H, W), 1 where the warp is trustworthy, 0 where the pixel was occluded
    weight: float


@dataclass(frozen=True)
class ScaleRun:
    """One scale of a run, as the recipe records it: its size, the steps it ran, why it ended, its best losses."""

    size: tuple[int, int]
    steps: int
    stopped: StopReason | None
    style: float | None
    total: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"size": list(self.size), "steps": self.steps, "stopped": self.stopped, "style": self.style,
                "total": self.total}  # fmt: skip


@dataclass
class Best:
    """The lowest-loss image of a scale so far, and its losses."""

    total: float = math.inf
    image: torch.Tensor | None = None
    losses: Losses | None = None

    def offer(self, losses: Losses, image: torch.Tensor) -> None:
        if losses.total < self.total and math.isfinite(losses.total):
            self.total, self.image, self.losses = losses.total, image.detach().clone(), losses


@dataclass(kw_only=True)
class PictureRun:
    """State of one call to :func:`~nst_core.transfer.stylize`; never shared between runs."""

    config: TransferConfig
    extractor: FeatureExtractor
    device: torch.device
    blend: Sequence[float]
    content: Image.Image
    styles: list[Image.Image]
    on_progress: ProgressCallback | None
    cancel: threading.Event | None
    started: float  # perf_counter() at the start of the run
    temporal: Temporal | None = None
    masks: list[Image.Image] | None = None  # one region per painting
    steps_done: int = 0
    stopped: StopReason | None = None
    history: list[HistoryPoint] = field(default_factory=list)
    best_losses: Losses | None = None
    graph_failure: str | None = None
    scales_run: list[ScaleRun] = field(default_factory=list)
    losses: dict[tuple[int, int], GatysLoss] = field(default_factory=dict)  # by size, reused seen smaller
    # The paintings' Gram matrices by the longest side they are taken at, kept by the caller from one run to the
    # next with the same paintings, layers and network (a clip's frames); None: taken in each run.
    kept_grams: dict[int, StyleGrams] | None = None

    def __post_init__(self) -> None:
        self.plan = plan_scales(self.config.size, self.config.steps, self.config.multiscale)
        self.total = planned_steps(self.config)
        self.use_graphs = self.config.cuda_graphs and self.device.type == "cuda"

    def optimise(self, start_image: Image.Image | None, final_size: tuple[int, int]) -> torch.Tensor:
        if self.config.steps == 0:
            return self._initial(None, start_image, final_size)  # the starting picture itself, at its full size
        image: torch.Tensor | None = None
        for scale, (longest, steps) in enumerate(self.plan):
            size = final_size if scale == len(self.plan) - 1 else fit_size(self.content.size, longest)
            coarser = None if image is None else (image.shape[-1], image.shape[-2])
            image = self._initial(image, start_image, size)
            self.stopped = None  # a coarse scale that converged does not make the whole run "converged"
            before = self.steps_done
            image = self._optimise_scale(image, size, scale, steps, coarser if self.config.seen_smaller else None)
            losses = self.best_losses if self.steps_done > before else None
            style, total = (losses.style, losses.total) if losses else (None, None)
            self.scales_run.append(ScaleRun(size, self.steps_done - before, self.stopped, style, total))
            if self.stopped in ("cancelled", "time budget"):
                break
        assert image is not None
        if tuple(image.shape[-1:-3:-1]) != final_size:
            image = resample(image, final_size)
        return image

    def picture(self, image: torch.Tensor) -> Image.Image:
        """The image as a visitor sees it (previews and the result alike), colour handling applied."""
        output = to_pil(image)
        if self.config.color == "luminance":
            output = keep_content_chroma(output, self.content)
        return output

    def _initial(
        self, previous: torch.Tensor | None, start_image: Image.Image | None, size: tuple[int, int]
    ) -> torch.Tensor:
        if previous is not None:
            return resample(previous, size)
        if self.config.init == "noise":
            generator = torch.Generator("cpu").manual_seed(self.config.seed)
            return torch.rand((1, 3, size[1], size[0]), generator=generator).to(self.device)
        return to_tensor(resize(start_image or self.content, size), self.device)

    def _loss_for(self, size: tuple[int, int]) -> GatysLoss:
        """The loss of one scale: the photo at that size, each painting at its own share of it (built once per size)."""
        if size in self.losses:
            return self.losses[size]
        photo = resize(self.content, size)
        style_longest = max(round(max(size) * self.config.style_scale), 32)
        # Kept across runs where the caller keeps them (a clip's frames) and they do not depend on the photo.
        kept = self.kept_grams if self.config.color != "match" else None
        grams = None if kept is None else kept.get(style_longest)
        styles = []
        if grams is None:
            for style_image in self.styles:
                style = resize(style_image, fit_size(style_image.size, style_longest))
                if self.config.color == "match":
                    style = match_color_statistics(style, photo)
                styles.append(to_tensor(style, self.device))
            grams = style_grams(self.extractor, styles, self.config.style_layers)
            if kept is not None:
                kept[style_longest] = grams
        regions = None if self.masks is None else mask_tensor(self.masks, size, self.device)
        loss = build_gatys_loss(self.extractor, to_tensor(photo, self.device), styles, self.blend, self.config,
                                regions, grams)  # fmt: skip
        self.losses[size] = loss
        return loss

    def _temporal_for(self, size: tuple[int, int]) -> TemporalLoss | None:
        if self.temporal is None:
            return None
        target = to_tensor(resize(self.temporal.target, size), self.device)
        mask = Image.fromarray((np.asarray(self.temporal.mask, dtype=np.float32) * 255).astype(np.uint8))
        weights = to_tensor(resize(mask, size).convert("RGB"), self.device)[:, :1]
        return TemporalLoss(target, weights, self.temporal.weight)

    def _optimise_scale(
        self, image: torch.Tensor, size: tuple[int, int], scale: int, steps: int, coarser: tuple[int, int] | None
    ) -> torch.Tensor:
        """``coarser``: the size of the scale before, at which the picture is also scored (None: only its own)."""
        loss_fn = self._loss_for(size)
        held = self._temporal_for(size)
        seen = None if coarser is None else (CoarserView(size, coarser, self.device), self._loss_for(coarser))
        layers = loss_fn.layers
        cover = None if self.masks is None else coverage(self.masks, size, self.device)
        if cover is not None:
            image = keep_photo(image, to_tensor(resize(self.content, size), self.device), cover)
        image = image.detach().clone().requires_grad_(True)
        optimizer = build_optimizer(self.config.optimizer, image, self.config.effective_learning_rate)
        best = Best()
        last: list[Losses] = []
        totals: list[float] = []
        coarser_total = self.scales_run[-1].total if self.scales_run else None

        def evaluate() -> torch.Tensor:
            content, style, tv = loss_fn(image, self.extractor(image, layers))
            total = content + style + tv + RANGE_PENALTY_WEIGHT * range_penalty(image)
            if held is not None:
                total = total + held(image)
            total.backward()
            if seen is not None:
                # Its own backward pass, after the first one freed its activations: the peak memory is the
                # larger pass's, not both together. The gradients add up in image.grad.
                view, coarser_loss = seen
                small = view(image)
                content_small, style_small, _ = coarser_loss(small, self.extractor(small, layers))
                (content_small + style_small).backward()
                content, style = content.detach() + content_small.detach(), style.detach() + style_small.detach()
                total = total.detach() + content_small.detach() + style_small.detach()
            if cover is not None and image.grad is not None:
                image.grad.mul_(cover)  # painted by region: the photo is kept where no mask applies
            return torch.stack([content, style, tv, total]).detach()

        evaluation = GraphedEvaluation(evaluate, image, capture=self.use_graphs)

        def closure() -> float:
            # One device-to-host copy for the four numbers (on a GPU, each copy waits for the queue).
            losses = Losses(*evaluation().tolist())
            last.append(losses)
            best.offer(losses, image)
            return losses.total

        for step in range(steps):
            self.stopped = interrupted(self.cancel, self.started, self.config.max_seconds)
            if self.stopped is not None:
                break
            optimizer.step(closure)
            if self.config.optimizer != "lbfgs":
                with torch.no_grad():
                    image.clamp_(0, 1)  # projected gradient steps; L-BFGS relies on the range penalty
            self.steps_done += 1
            totals.append(last[-1].total)
            self.history.append(HistoryPoint(self.steps_done, time.perf_counter() - self.started, last[-1]))
            done = self.config.early_stop and converged(totals, coarser_total)
            if done:
                self.total -= steps - step - 1
            if self.on_progress is not None:
                self._report(last[-1], size, scale, image, final=done or step == steps - 1)
            if done:
                self.stopped = "converged"
                break
        self.graph_failure = self.graph_failure or evaluation.failed
        evaluation.release()
        if best.image is None:
            return image.detach()
        # The best image of the scale is the one returned; its losses are the ones reported.
        self.best_losses = best.losses
        return best.image

    def _report(self, losses: Losses, size: tuple[int, int], scale: int, image: torch.Tensor, final: bool) -> None:
        every = self.config.preview_every
        due = final or (every and self.steps_done % every == 0)
        assert self.on_progress is not None
        self.on_progress(
            Progress(
                step=self.steps_done,
                total=self.total,
                losses=losses,
                elapsed=time.perf_counter() - self.started,
                size=size,
                scale=scale,
                scales=len(self.plan),
                preview=self.picture(image) if due else None,
            )
        )


def resample(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(1, 3, H, W) to (1, 3, height, width) for ``size = (width, height)``, bicubic, in [0, 1]."""
    return functional.interpolate(image, size=size[::-1], mode="bicubic", align_corners=False).clamp(0, 1)
