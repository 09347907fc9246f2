"""Presenter tools: the same picture under several settings, loss curves, one comparison sheet.

The source report compares Adam with plain gradient descent (its section 6)
and VGG19 with VGG16 (its section 7); :func:`variants` builds those
comparisons (and one over style strengths) from a base config, :func:`run`
runs them through the one loop, and :func:`comparison_sheet` lays content,
style, every result, the loss curves and each recipe on one PNG for a slide.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from PIL import Image, ImageDraw, ImageFont, ImageOps

from .config import BACKBONES, OPTIMIZERS, TransferConfig
from .errors import ConfigError
from .images import ImageSource, load_image, png_bytes
from .labels import METHODS, label_of, short
from .reports import HistoryPoint, Progress, TransferResult
from .transfer import as_list, stylize

Dimension = Literal["method", "optimizer", "backbone", "style_weight"]
DIMENSIONS: tuple[str, ...] = get_args(Dimension)
MAX_VARIANTS = 6
CURVE_COLOURS = ((230, 85, 60), (70, 140, 230), (90, 190, 110), (230, 180, 50), (170, 100, 210), (60, 200, 200))


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


def loss_chart(
    histories: Sequence[Sequence[HistoryPoint]],
    labels: Sequence[str],
    x_axis: Literal["step", "seconds"] = "step",
    size: tuple[int, int] = (640, 320),
    text_px: int = 14,
) -> Image.Image:
    """Total loss of each run against step or seconds: log axis, legend, labelled axes (matplotlib), its text
    ``text_px`` pixels high; steps are whole numbers."""
    from matplotlib.figure import Figure  # not pyplot: no global state, safe in a server's threads
    from matplotlib.ticker import MaxNLocator

    dpi = 100
    points_size = text_px * 72 / dpi
    figure = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)
    axes = figure.add_subplot()
    axes.tick_params(which="both", labelsize=points_size)
    if x_axis == "step":
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    for index, (history, label) in enumerate(zip(histories, labels, strict=True)):
        points = [(p.step if x_axis == "step" else p.elapsed, p.losses.total) for p in history if p.losses.total > 0]
        if points:
            xs, ys = zip(*points, strict=True)
            colour = "#{:02x}{:02x}{:02x}".format(*CURVE_COLOURS[index % len(CURVE_COLOURS)])
            axes.plot(xs, ys, color=colour, linewidth=2, label=label)
    axes.set_yscale("log")
    axes.set_xlabel("step" if x_axis == "step" else "seconds", fontsize=points_size)
    axes.set_ylabel("total loss (log scale)", fontsize=points_size)
    axes.grid(True, which="major", color="#e6e6e6")
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="upper right", fontsize=points_size)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return Image.open(buffer).convert("RGB")


def first_picture_seconds(result: TransferResult) -> float | None:
    """When a refined run showed its instant painting; None for a run with no earlier picture (Gatys from the
    photo, whose first picture is its end, or the instant painting alone)."""
    first = result.recipe.get("first_picture_seconds")
    return float(first) if first is not None and result.steps > 0 else None


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans, which matplotlib ships (the charts' font; it has every Latin letter: Pillow's default font
    drew the ü of "Tübingen" as a box), else Pillow's default."""
    from matplotlib import font_manager

    try:
        return ImageFont.truetype(font_manager.findfont("DejaVu Sans", fallback_to_default=True), size)
    except OSError:
        return ImageFont.load_default(size)


def comparison_sheet(
    content: Image.Image,
    style: Image.Image,
    results: Sequence[TransferResult],
    labels: Sequence[str],
    tile: int = 256,
    credits: Sequence[str] = (),
) -> Image.Image:
    """One picture for a slide: content, style, every result, the loss curves, each recipe, and a line per
    ``credits`` at the foot (the photo's and the paintings', which a slide owes them).

    The recipes are also kept as JSON in the PNG text chunk written by :func:`sheet_png`.
    """
    columns = 2 + len(results)
    width = columns * (tile + 12) + 12
    text = sheet_text_px(width)
    font, line = _font(text), text + 6
    chart_height = max(320, 14 * text)
    tiles = [(content, "Photo"), (style, "Painting")] + [
        (r.image, label) for r, label in zip(results, labels, strict=True)
    ]
    # Each column's words, wrapped to its tile: the caption (black), then what made the result (grey).
    words = [
        (_wrapped(caption, font, tile), [] if index < 2 else
         [part for entry in recipe_lines(results[index - 2]) for part in _wrapped(entry, font, tile)])
        for index, (_, caption) in enumerate(tiles)
    ]  # fmt: skip
    caption_rows = max(len(caption) for caption, _ in words)
    text_rows = caption_rows + max(len(recipe) for _, recipe in words)
    top = 12 + tile + 8 + line * text_rows + 12
    height = top + 2 * (chart_height + 12) + 12 + line * len(credits)
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    for index, ((image, _), (caption, recipe)) in enumerate(zip(tiles, words, strict=True)):
        x = 12 + index * (tile + 12)
        sheet.paste(ImageOps.pad(image.convert("RGB"), (tile, tile), color="white"), (x, 12))
        for row, entry in enumerate(caption):
            draw.text((x, 20 + tile + line * row), entry, fill="black", font=font)
        for row, entry in enumerate(recipe):
            draw.text((x, 20 + tile + line * (caption_rows + row)), entry, fill=(60, 60, 60), font=font)
    histories = [r.history for r in results]
    for row, x_axis in enumerate(("step", "seconds")):
        chart = loss_chart(histories, labels, x_axis, (width - 24, chart_height), text)  # type: ignore[arg-type]
        sheet.paste(chart, (12, top + row * (chart_height + 12)))
    for row, entry in enumerate(credits):
        draw.text((12, top + 2 * (chart_height + 12) + line * row), entry, fill=(60, 60, 60), font=font)
    return sheet


def _wrapped(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    """``text`` in lines no wider than ``width`` px in ``font`` (a word longer than that stands alone)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


SHEET_TEXT_SHARE = 60  # the sheet's text is at least its width over this: readable on a projected slide


def sheet_text_px(width: int) -> int:
    """The height of a sheet's text, px: at least 1/60 of its width, as a slide needs."""
    return max(14, -(-width // SHEET_TEXT_SHARE))


def recipe_lines(result: TransferResult) -> list[str]:
    """What made a result, in short lines under its picture: only the settings that painted it."""
    recipe = result.recipe
    distances = [f"style {recipe.get('distance_style', 0.0):.3g}", f"content {recipe.get('distance_content', 0.0):.3g}"]
    if result.steps == 0:  # the instant painting: one pass of the network, no optimiser
        return [
            f"one pass, {result.seconds:.1f} s",
            *distances,
            f"{short('strength').lower()} {recipe.get('strength'):g}",
        ]
    first = first_picture_seconds(result)
    return [
        f"{result.steps} steps, {result.seconds:.1f} s",
        *([f"first picture {first:.1f} s"] if first is not None else []),
        *distances,
        f"{label_of(recipe.get('optimizer'))}, {label_of(recipe.get('backbone'))}",
        f"{short('style_weight').lower()} {recipe.get('style_weight'):g}",
        f"{short('tv_weight').lower()} {recipe.get('tv_weight'):g}, seed {recipe.get('seed')}",
    ]


def sheet_png(sheet: Image.Image, results: Sequence[TransferResult], labels: Sequence[str]) -> bytes:
    """The sheet as PNG bytes, every recipe embedded as JSON (keyed by label)."""
    return png_bytes(sheet, {label: r.recipe for label, r in zip(labels, results, strict=True)})


# Kept here so the page and the CLI list the same choices.
CHOICES: dict[str, tuple[str, ...]] = {
    "method": tuple(METHODS),
    "optimizer": OPTIMIZERS,
    "backbone": BACKBONES,
    "style_weight": ("10", "30", "100", "300", "1000"),
}
