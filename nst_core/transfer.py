"""The optimisation loop: one function, one typed progress callback.

:func:`stylize` optimises the pixels of an image so that its VGG features
match the content image at ``relu4_2`` and its Gram matrices match the style
image(s) at ``relu1_1`` ... ``relu5_1`` (Gatys et al., 2016). Above
:data:`~nst_core.schedule.COARSE_SIZE` it works coarse-to-fine: most steps at a low resolution,
each finer scale starting from the upsampled result of the coarser one and
scored twice: at its own size, and seen at the coarser size by the coarser
scale's loss (as Snelgrove's multi-scale Gram loss does, 2017), so that what
the smaller picture had is kept while the finer strokes are painted in.

With ``init="fast"`` the optimisation starts from the instant painting of the
feed-forward network (:mod:`nst_core.instant`), reported as step 0 before any
optimisation step; with ``steps=0`` that picture is the result.

The page, the CLI and the tests all run this loop; they differ only in what
they do with the :class:`Progress` reports.
"""

from __future__ import annotations

import gc
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.nn import functional

from .backbone import FeatureExtractor, get_extractor
from .color import keep_content_chroma, match_color_statistics
from .config import MIN_SIZE, TransferConfig
from .device import describe_device, describe_precision, resolve_device, resolve_precision
from .errors import ConfigError, NSTError
from .graphs import GraphedEvaluation
from .images import ImageSource, fit_size, load_image, resize, to_pil, to_tensor
from .instant import get_network, instant_picture
from .losses import CoarserView, GatysLoss, TemporalLoss, build_gatys_loss, range_penalty
from .optimizers import build_optimizer
from .regions import coverage, instant_by_region, keep_photo, load_masks, mask_tensor, masks_to_recipe
from .reports import HistoryPoint, Losses, Progress, ProgressCallback, StopReason, TransferResult
from .schedule import converged, interrupted, plan_scales, planned_steps
from .version import __version__

RANGE_PENALTY_WEIGHT = 1.0  # keeps L-BFGS's pixels within about 3% of [0, 1]
SEEN_SMALLER = True  # a finer scale is also scored seen at the coarser scale's size


def stylize(
    content: ImageSource,
    styles: ImageSource | Sequence[ImageSource],
    config: TransferConfig | None = None,
    *,
    init_image: ImageSource | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    extractor: FeatureExtractor | None = None,
    temporal: Temporal | None = None,
    masks: Sequence[ImageSource] | None = None,
) -> TransferResult:
    """Paint ``content`` in the manner of ``styles``.

    Args:
        content: the photo; a path, bytes, file object or PIL image.
        styles: one style image or several, blended by ``config.style_blend``.
        config: every parameter; the defaults when None.
        init_image: the starting image when ``config.init == "image"``.
        on_progress: called after every step on the caller's thread; an
            exception it raises ends the run and propagates.
        cancel: when set, the run stops after the current step and returns
            the best image so far.
        extractor: a loaded feature extractor; by default the shared one
            for ``config.weights``, ``config.backbone`` and the device.
        temporal: for a video frame, the previous painted frame (warped onto
            this one) that the trustworthy pixels are held to.
        masks: one per painting (white where it applies, grey for a soft edge;
            any size): each painting is painted over its own region only, and
            the photo is kept where none applies (:mod:`nst_core.regions`).

    Raises:
        ImageError: an input image cannot be used.
        ConfigError: the parameters do not fit the inputs or the device.
        WeightsError: the weights cannot be loaded.
    """
    config = config or TransferConfig()
    started = time.perf_counter()
    style_list = as_list(styles)
    if not style_list:
        raise ConfigError("At least one style image is needed.")
    blend = config.style_blend or tuple(1.0 for _ in style_list)
    if len(blend) != len(style_list):
        raise ConfigError(f"{len(style_list)} style images need {len(style_list)} blend weights, not {len(blend)}.")
    if config.init == "image" and init_image is None:
        raise ConfigError("Initialisation 'image' needs an init image.")

    content_image = load_image(content)
    style_images = [load_image(style) for style in style_list]
    regions = load_masks(masks, len(style_images), content_image.size) if masks else None
    start_image = load_image(init_image) if config.init == "image" and init_image is not None else None
    final_size = fit_size(content_image.size, config.size)
    first_picture: float | None = None  # s to the instant painting, when the run starts from one
    if config.init == "fast":
        # The instant painting first: the visitor sees it before the network for the optimisation is even loaded.
        if regions is None:
            network = get_network(torch.get_num_threads())
            start_image = instant_picture(network, content_image, style_images, config, final_size)
        else:
            start_image = instant_by_region(content_image, style_images, config, final_size, regions,
                                            torch.get_num_threads())  # fmt: skip
        first_picture = time.perf_counter() - started
        if on_progress is not None:
            on_progress(_first_picture(config, final_size, first_picture, start_image))

    device = resolve_device(config.device) if extractor is None else next(extractor.parameters()).device
    dtype = resolve_precision(config.precision, device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # every step repeats the same shapes
        torch.cuda.reset_peak_memory_stats(device)  # for the recipe's peak (process-wide: exact with one run at once)
    if extractor is None:
        extractor = get_extractor(config.weights, config.backbone, device, dtype)
    else:
        extractor = extractor.at_precision(dtype)

    run = _Run(
        config=config,
        extractor=extractor,
        device=device,
        blend=blend,
        content=content_image,
        styles=style_images,
        on_progress=on_progress,
        cancel=cancel,
        started=started,
        temporal=temporal,
        masks=regions,
    )
    output = run.picture(run.optimise(start_image, final_size))
    recipe = {
        **config.to_dict(),
        "nst_core_version": __version__,
        "weights_description": extractor.description,
        "device_used": describe_device(device),
        "precision_used": describe_precision(extractor.dtype),
        "width": output.width,
        "height": output.height,
        "style_count": len(style_images),
        "regions": len(regions) if regions else 0,
        **({"masks": masks_to_recipe(regions, output.size)} if regions else {}),
        "steps_run": run.steps_done,
        "scales_run": [scale.to_dict() for scale in run.scales_run],
    }
    if first_picture is not None:
        recipe["first_picture_seconds"] = round(first_picture, 3)
    if device.type == "cuda":
        recipe["gpu_peak_mib"] = round(torch.cuda.max_memory_allocated(device) / 2**20)
    if run.use_graphs:
        recipe["cuda_graphs_used"] = run.graph_failure is None
        if run.graph_failure is not None:
            recipe["cuda_graphs_failure"] = run.graph_failure[:300]
    return TransferResult(
        image=output,
        losses=run.best_losses or Losses(0.0, 0.0, 0.0, 0.0),
        steps=run.steps_done,
        seconds=time.perf_counter() - started,
        device=describe_device(device),
        precision=describe_precision(extractor.dtype),
        weights=extractor.description,
        stopped=run.stopped,
        history=run.history,
        recipe=recipe,
    )


OOM_RETRY_SCALE = 0.75  # size factor of the one retry after the device runs out of memory


def stylize_with_retry(
    content: ImageSource,
    styles: ImageSource | Sequence[ImageSource],
    config: TransferConfig | None = None,
    *,
    on_retry: Callable[[int, int], None] | None = None,
    init_image: ImageSource | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    extractor: FeatureExtractor | None = None,
    temporal: Temporal | None = None,
    masks: Sequence[ImageSource] | None = None,
) -> TransferResult:
    """:func:`stylize`, but on device out-of-memory free the cache and retry once, smaller.

    ``on_retry(old_size, new_size)`` is called before the retry (to tell the visitor).

    Raises:
        NSTError: out of memory at the smaller size too, or any error of :func:`stylize`.
    """
    config = config or TransferConfig()

    def run(at: TransferConfig) -> TransferResult:
        return stylize(content, styles, at, init_image=init_image, on_progress=on_progress, cancel=cancel,
                       extractor=extractor, temporal=temporal, masks=masks)  # fmt: skip

    try:
        return run(config)
    except torch.OutOfMemoryError:
        pass  # leave the except block so the failed run's frames and tensors can be freed
    _free_device_memory()
    smaller = config.replace(size=max(MIN_SIZE, int(config.size * OOM_RETRY_SCALE)))
    if on_retry is not None:
        on_retry(config.size, smaller.size)
    try:
        return run(smaller)
    except torch.OutOfMemoryError:
        pass
    _free_device_memory()
    raise NSTError(f"The device ran out of memory even at {smaller.size} px; please choose a smaller output size.")


def _free_device_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def as_list(styles: ImageSource | Sequence[ImageSource]) -> list[ImageSource]:
    if isinstance(styles, (list, tuple)):
        return list(styles)
    return [styles]  # type: ignore[list-item]


def _first_picture(config: TransferConfig, size: tuple[int, int], elapsed: float, picture: Image.Image) -> Progress:
    """The report of step 0: the starting picture, before any optimisation step."""
    plan = plan_scales(config.size, config.steps, config.multiscale)
    return Progress(step=0, total=planned_steps(config), losses=Losses(0.0, 0.0, 0.0, 0.0), elapsed=elapsed,
                    size=size, scale=0, scales=len(plan), preview=picture)  # fmt: skip


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
class _Best:
    """The lowest-loss image of a scale so far, and its losses."""

    total: float = math.inf
    image: torch.Tensor | None = None
    losses: Losses | None = None

    def offer(self, losses: Losses, image: torch.Tensor) -> None:
        if losses.total < self.total and math.isfinite(losses.total):
            self.total, self.image, self.losses = losses.total, image.detach().clone(), losses


@dataclass(kw_only=True)
class _Run:
    """State of one call to :func:`stylize`; never shared between runs."""

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
            image = self._optimise_scale(image, size, scale, steps, coarser if SEEN_SMALLER else None)
            losses = self.best_losses if self.steps_done > before else None
            style, total = (losses.style, losses.total) if losses else (None, None)
            self.scales_run.append(ScaleRun(size, self.steps_done - before, self.stopped, style, total))
            if self.stopped in ("cancelled", "time budget"):
                break
        assert image is not None
        if tuple(image.shape[-1:-3:-1]) != final_size:
            image = _resample(image, final_size)
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
            return _resample(previous, size)
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
        styles = []
        for style_image in self.styles:
            style = resize(style_image, fit_size(style_image.size, style_longest))
            if self.config.color == "match":
                style = match_color_statistics(style, photo)
            styles.append(to_tensor(style, self.device))
        regions = None if self.masks is None else mask_tensor(self.masks, size, self.device)
        loss = build_gatys_loss(self.extractor, to_tensor(photo, self.device), styles, self.blend, self.config, regions)
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
        best = _Best()
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


def _resample(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(1, 3, H, W) to (1, 3, height, width) for ``size = (width, height)``, bicubic, in [0, 1]."""
    return functional.interpolate(image, size=size[::-1], mode="bicubic", align_corners=False).clamp(0, 1)
