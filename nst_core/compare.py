"""Presenter tools: the same picture under several settings, loss curves, a sheet, a time-lapse.

The source report compares Adam with plain gradient descent (its section 6)
and VGG19 with VGG16 (its section 7); :func:`variants` builds those
comparisons (and one over style strengths) from a base config, :func:`run`
runs them through the one loop, and :func:`comparison_sheet` lays content,
style, every result, the loss curves and each recipe on one PNG for a slide.
"""

from __future__ import annotations

import io
import json
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from PIL import Image, ImageDraw, ImageFont, ImageOps, PngImagePlugin

from .config import BACKBONES, OPTIMIZERS, TransferConfig
from .errors import ConfigError
from .images import RECIPE_KEY, ImageSource, load_image
from .transfer import HistoryPoint, Progress, TransferResult, as_list, stylize

Dimension = Literal["optimizer", "backbone", "style_weight"]
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
        if dimension == "optimizer":
            config = base.replace(optimizer=str(value), learning_rate=None)
            label = {"lbfgs": "L-BFGS", "adam": "Adam", "gd": "Gradient descent"}.get(str(value), str(value))
        elif dimension == "backbone":
            config = base.replace(backbone=str(value))
            if str(value) == "vgg16" and base.weights == "original":
                raise ConfigError(
                    "The bundled original weights are VGG19 only; choose torchvision, hub or a .safetensors "
                    "file as the weights to compare with VGG16."
                )
            label = str(value).upper()
        else:
            try:
                strength = float(value)
            except ValueError:
                raise ConfigError(f"Style strengths must be numbers; {value!r} was given.") from None
            config = base.replace(style_weight=strength)
            label = f"strength {strength:g}"
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
        results.append(stylize(content_image, style_images, variant.config, on_progress=report, cancel=cancel))
    return results


def _bind(callback: Callable[[int, Progress], None], index: int) -> Callable[[Progress], None]:
    return lambda progress: callback(index, progress)


def loss_chart(
    histories: Sequence[Sequence[HistoryPoint]],
    labels: Sequence[str],
    x_axis: Literal["step", "seconds"] = "step",
    size: tuple[int, int] = (640, 320),
) -> Image.Image:
    """Total loss of each run against step or seconds, log scale, one colour per run."""
    width, height = size
    chart = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(chart)
    font = ImageFont.load_default()
    left, right, top, bottom = 56, width - 12, 12, height - 36
    points = [
        [(p.step if x_axis == "step" else p.elapsed, p.losses.total) for p in history if p.losses.total > 0]
        for history in histories
    ]
    xs = [x for run_points in points for x, _ in run_points] or [0.0, 1.0]
    ys = [y for run_points in points for _, y in run_points] or [1.0, 10.0]
    x_low, x_high = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y_low, y_high = math.log10(min(ys)), math.log10(max(ys))
    if y_high - y_low < 1e-6:
        y_low, y_high = y_low - 0.5, y_high + 0.5

    def place(x: float, y: float) -> tuple[float, float]:
        px = left + (x - x_low) / (x_high - x_low) * (right - left)
        py = bottom - (math.log10(y) - y_low) / (y_high - y_low) * (bottom - top)
        return px, py

    draw.rectangle((left, top, right, bottom), outline=(160, 160, 160))
    for decade in range(math.floor(y_low), math.ceil(y_high) + 1):
        if y_low <= decade <= y_high:
            _, py = place(x_low, 10.0**decade)
            draw.line((left, py, right, py), fill=(230, 230, 230))
            draw.text((4, py - 6), f"1e{decade}", fill="black", font=font)
    for index, run_points in enumerate(points):
        colour = CURVE_COLOURS[index % len(CURVE_COLOURS)]
        if len(run_points) > 1:
            draw.line([place(x, y) for x, y in run_points], fill=colour, width=2)
        draw.text((left + 8 + 150 * index, bottom + 18), labels[index], fill=colour, font=font)
    draw.text((left, bottom + 4), f"{x_low:g}", fill="black", font=font)
    axis = "step" if x_axis == "step" else "seconds"
    draw.text((right - 90, bottom + 4), f"{x_high:.3g} ({axis})", fill="black", font=font)
    draw.text((left + 4, top + 2), "total loss (log)", fill=(90, 90, 90), font=font)
    return chart


def comparison_sheet(
    content: Image.Image,
    style: Image.Image,
    results: Sequence[TransferResult],
    labels: Sequence[str],
    tile: int = 256,
) -> Image.Image:
    """One picture for a slide: content, style, every result, the loss curves, each recipe.

    The recipes are also kept as JSON in the PNG text chunk written by :func:`sheet_png`.
    """
    font = ImageFont.load_default()
    columns = 2 + len(results)
    chart_height = 320
    recipe_height = 150
    width = columns * (tile + 12) + 12
    height = 12 + tile + 28 + recipe_height + 2 * chart_height + 36
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    tiles = [(content, "Photo"), (style, "Painting")] + [
        (r.image, label) for r, label in zip(results, labels, strict=True)
    ]
    for index, (image, caption) in enumerate(tiles):
        x = 12 + index * (tile + 12)
        sheet.paste(ImageOps.pad(image.convert("RGB"), (tile, tile), color="white"), (x, 12))
        draw.text((x, 16 + tile), caption, fill="black", font=font)
        if index >= 2:
            result = results[index - 2]
            lines = [
                f"{result.steps} steps, {result.seconds:.1f} s",
                f"content {result.losses.content:.3g}",
                f"style {result.losses.style:.3g}",
                f"total {result.losses.total:.3g}",
                f"{result.recipe.get('optimizer')}, {result.recipe.get('backbone')}, {result.recipe.get('weights')}",
                f"size {result.recipe.get('size')}, strength {result.recipe.get('style_weight'):g}",
                f"tv {result.recipe.get('tv_weight'):g}, seed {result.recipe.get('seed')}",
            ]
            for row, line in enumerate(lines):
                draw.text((x, 34 + tile + 16 * row), line, fill=(60, 60, 60), font=font)
    histories = [r.history for r in results]
    chart_width = width - 24
    top = 12 + tile + 28 + recipe_height
    sheet.paste(loss_chart(histories, labels, "step", (chart_width, chart_height)), (12, top))
    sheet.paste(loss_chart(histories, labels, "seconds", (chart_width, chart_height)), (12, top + chart_height + 12))
    return sheet


def sheet_png(sheet: Image.Image, results: Sequence[TransferResult], labels: Sequence[str]) -> bytes:
    """The sheet as PNG bytes, every recipe embedded as JSON."""
    info = PngImagePlugin.PngInfo()
    info.add_text(RECIPE_KEY, json.dumps({label: r.recipe for label, r in zip(labels, results, strict=True)}))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def timelapse_gif(frames: Sequence[Image.Image], seconds_per_frame: float = 0.15, hold_last: float = 1.5) -> bytes:
    """An animated GIF of a run's preview frames; the last frame is held a little longer.

    Raises:
        ConfigError: no frames.
    """
    if not frames:
        raise ConfigError("A time-lapse needs at least one preview frame; set preview_every above 0.")
    size = frames[-1].size
    images = [frame.convert("RGB").resize(size) for frame in frames]
    durations = [round(seconds_per_frame * 1000)] * (len(images) - 1) + [round(hold_last * 1000)]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0)
    return buffer.getvalue()


# Kept here so the page and the CLI list the same choices.
CHOICES: dict[str, tuple[str, ...]] = {
    "optimizer": OPTIMIZERS,
    "backbone": BACKBONES,
    "style_weight": ("10", "30", "100", "300", "1000"),
}
