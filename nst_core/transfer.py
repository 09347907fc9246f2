"""The optimisation loop: one function, one typed progress callback.

:func:`stylize` optimises (in :mod:`nst_core.optimise`) the pixels of an image so that its VGG features
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
import threading
import time
from collections.abc import Callable, Sequence

import torch
from PIL import Image

from .backbone import FeatureExtractor, get_extractor
from .config import MIN_SIZE, TransferConfig
from .device import describe_device, describe_precision, resolve_device, resolve_precision
from .errors import ConfigError, NSTError
from .images import ImageSource, fit_size, load_image
from .instant import get_network, instant_picture
from .losses import StyleGrams
from .optimise import PictureRun, Temporal
from .regions import instant_by_region, load_masks, masks_to_recipe
from .reports import Losses, Progress, ProgressCallback, TransferResult
from .schedule import plan_scales, planned_steps
from .version import __version__


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
    kept_grams: dict[int, StyleGrams] | None = None,
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
        kept_grams: a dict the caller keeps from one run to the next with the same paintings, layers and
            network (a clip's frames): the paintings' Gram matrices are taken once into it, not in every run.

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

    run = PictureRun(
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
        kept_grams=kept_grams,
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
