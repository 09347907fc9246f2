"""Presenter tools: the same picture under several settings, and how far each went.

The source report compares Adam with plain gradient descent (its section 6)
and VGG19 with VGG16 (its section 7); :func:`variants` builds those
comparisons (and one over style strengths) from a base config, :func:`run`
runs them through the one loop and :func:`distances` judges them;
:mod:`nst_core.sheet` draws them on one PNG for a slide.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from PIL import Image

from .config import BACKBONES, OPTIMIZERS, TransferConfig
from .errors import ConfigError
from .images import ImageSource, load_image
from .labels import METHODS, label_of, short
from .reports import Progress, TransferResult
from .transfer import as_list, stylize

Dimension = Literal["method", "optimizer", "backbone", "style_weight"]
DIMENSIONS: tuple[str, ...] = get_args(Dimension)
MAX_VARIANTS = 6


@dataclass(frozen=True)
class Variant:
    """One column of a comparison."""

    label: str  # for people: "Adam", "VGG16", "strength 300"
    config: TransferConfig


def variants(dimension: str, values: Sequence[str | float], base: TransferConfig | None = None) -> list[Variant]:
    """One variant per value of ``dimension``, everything else as in ``base``.

    Raises:
        ConfigError: unknown dimension, too few or too many values, or a value out of bounds.
    """
    base = base or TransferConfig()
    if dimension not in DIMENSIONS:
        raise ConfigError(f"A comparison varies one of {', '.join(DIMENSIONS)}; {dimension!r} was given.")
    if not 2 <= len(values) <= MAX_VARIANTS:
        raise ConfigError(f"A comparison needs between 2 and {MAX_VARIANTS} values; {len(values)} were given.")
    result = []
    for value in values:
        if dimension == "method":
            if str(value) not in METHODS:
                raise ConfigError(f"A method is one of {', '.join(METHODS)}; {value!r} was given.")
            config = base.replace(init="content" if value == "gatys" else "fast", steps=0 if value == "instant" else
                                  base.steps or TransferConfig.steps)  # fmt: skip
            label = METHODS[str(value)]
        elif dimension == "optimizer":
            config = base.replace(optimizer=str(value), learning_rate=None)
            label = label_of(value)
        elif dimension == "backbone":
            config = base.replace(backbone=str(value))
            if str(value) == "vgg16" and base.weights == "original":
                raise ConfigError(
                    "The bundled original weights are VGG19 only; choose torchvision, hub or a .safetensors "
                    "file as the weights to compare with VGG16."
                )
            label = label_of(value)
        else:
            try:
                strength = float(value)
            except ValueError:
                raise ConfigError(f"Style strengths must be numbers; {value!r} was given.") from None
            config = base.replace(style_weight=strength)
            label = f"{short('style_weight').lower()} {strength:g}"
        result.append(Variant(label, config))
    return result


def run(
    content: ImageSource,
    styles: ImageSource | Sequence[ImageSource],
    chosen: Sequence[Variant],
    on_progress: Callable[[int, Progress], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[TransferResult]:
    """Run each variant in turn; ``on_progress(variant_index, progress)`` after every step.

    Setting ``cancel`` ends the current run (keeping its best image) and skips the rest.
    """
    content_image = load_image(content)
    style_images = [load_image(style) for style in as_list(styles)]
    results = []
    for index, variant in enumerate(chosen):
        if cancel is not None and cancel.is_set():
            break
        report = None if on_progress is None else _bind(on_progress, index)
        results.append(run_one(content_image, style_images, variant, report, cancel))
    return results


def run_one(
    content: Image.Image,
    styles: Sequence[Image.Image],
    variant: Variant,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
) -> TransferResult:
    """One variant's run, its recipe holding the two distances every method is judged by."""
    result = stylize(content, list(styles), variant.config, on_progress=on_progress, cancel=cancel)
    result.recipe.update(distances(result.image, content, styles, variant.config))
    return result


def distances(
    image: Image.Image, content: Image.Image, styles: Sequence[Image.Image], config: TransferConfig
) -> dict[str, float]:
    """The same two measures for every method, optimised or not: the content and style losses of ``image``
    (unweighted, the default layers, original VGG19 in fp32, at the image's size), as ``distance_content``
    and ``distance_style``."""
    import torch

    from .backbone import get_extractor
    from .device import resolve_device
    from .images import fit_size, resize, to_tensor
    from .losses import build_gatys_loss

    device = resolve_device(config.device)
    extractor = get_extractor("original", "vgg19", device)
    judge = TransferConfig(content_weight=1.0, style_weight=1.0, tv_weight=0.0)
    photo = to_tensor(resize(content, image.size), device)
    paintings = [to_tensor(resize(s, fit_size(s.size, max(image.size))), device) for s in styles]
    blend = config.style_blend or tuple(1.0 for _ in styles)
    loss = build_gatys_loss(extractor, photo, paintings, blend, judge)
    with torch.no_grad():
        picture = to_tensor(image, device)
        content_term, style_term, _ = loss(picture, extractor(picture, loss.layers))
    return {"distance_content": float(content_term), "distance_style": float(style_term)}


def _bind(callback: Callable[[int, Progress], None], index: int) -> Callable[[Progress], None]:
    return lambda progress: callback(index, progress)


def first_picture_seconds(result: TransferResult) -> float | None:
    """When a refined run showed its instant painting; None for a run with no earlier picture (Gatys from the
    photo, whose first picture is its end, or the instant painting alone)."""
    first = result.recipe.get("first_picture_seconds")
    return float(first) if first is not None and result.steps > 0 else None


# Kept here so the page and the CLI list the same choices.
CHOICES: dict[str, tuple[str, ...]] = {
    "method": tuple(METHODS),
    "optimizer": OPTIMIZERS,
    "backbone": BACKBONES,
    "style_weight": ("10", "30", "100", "300", "1000"),
}
