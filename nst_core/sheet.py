"""A comparison drawn for a slide: its loss curves, and one sheet with the photo, the painting, every result,
the curves and each recipe (a PNG whose text chunk keeps the recipes)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Literal

from PIL import Image, ImageDraw, ImageFont, ImageOps

from .compare import first_picture_seconds
from .images import png_bytes
from .labels import label_of, short
from .reports import HistoryPoint, TransferResult

CURVE_COLOURS = ((230, 85, 60), (70, 140, 230), (90, 190, 110), (230, 180, 50), (170, 100, 210), (60, 200, 200))


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
