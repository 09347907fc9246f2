"""``python -m bench.sizes``: how finished a picture is at each size, and what it costs.

One row per size (default 256, 512 and 1024 px) for Tübingen + The Starry Night
(``--content``/``--style`` for another pair), each painted with the defaults by the CLI as a whole process (start to PNG
written): seconds, peak memory, the steps each scale ran and why it ended, and
the VGG judge's distances (``bench/metric.py``) three ways: at the picture's own
size (the painting resized to it), seen at 512 px and seen at 256 px (the
picture downsampled), with the style distance of each layer at its own size.
"Speckle" is the mean absolute difference, in levels of 255, between the
picture and its 3x3 median: isolated coloured dots raise it; strokes hardly do.
A sheet of 256x256 crops taken 1:1 from the middle of every picture goes with
the numbers (``bench/results/sizes-crops.png``), so the finish can be seen.

Results: ``bench/results/sizes-<device>.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

from bench.common import CONTENT, RESULTS, STYLE, child, machine, save, say
from bench.metric import Judge
from nst_core import load_image
from nst_core.backbone import get_extractor
from nst_core.config import STYLE_LAYERS
from nst_core.images import fit_size, read_recipe, resize, to_tensor
from nst_core.losses import gram_matrix

CROP = 256


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sizes", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024], help="output sizes, px")
    parser.add_argument("--content", type=Path, default=CONTENT, help="the photo (default: Tübingen)")
    parser.add_argument("--style", type=Path, default=STYLE, help="the painting (default: The Starry Night)")
    parser.add_argument("--device", default="auto", help="the CLI's --device")
    parser.add_argument("--name", default=None, help="results file stem (default sizes-<device>)")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more CLI options for every run")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="nst-sizes-"))
    content, style = load_image(args.content), load_image(args.style)
    judge_extractor = get_extractor("original", "vgg19", torch.device("cpu"), torch.float32)
    rows: list[dict[str, Any]] = []
    pictures: list[tuple[int, Image.Image]] = []
    for size in args.sizes:
        out = tmp / f"{size}.png"
        command = [sys.executable, "-m", "nst_core", str(args.content), str(args.style), "-o", str(out),
                   "--size", str(size), "--device", args.device, "--json", "--quiet", *args.extra]  # fmt: skip
        seconds, peak, stdout = child(command)
        record = json.loads(stdout.splitlines()[-1])
        picture = load_image(out, max_bytes=2**30, max_pixels=2**28)  # our own output: no upload limits
        recipe = read_recipe(out) or {}
        row = {
            "size": size,
            "seconds": round(seconds, 1),
            "peak_rss_mib": round(peak),
            "gpu_peak_mib": recipe.get("gpu_peak_mib"),
            "steps": record["steps"],
            "scales": recipe.get("scales_run", []),
            "precision": record["precision"],
            "device": record["device"],
            "own": score(judge_extractor, picture, content, style, max(picture.size)),
            "at_512": score(judge_extractor, picture, content, style, 512),
            "at_256": score(judge_extractor, picture, content, style, 256),
            "layers_own": style_layers(judge_extractor, picture, style),
            "speckle": speckle(picture),
            "command": " ".join(
                ["python -m nst_core", args.content.name, args.style.name, "--size", str(size), *args.extra]
            ),
        }
        rows.append(row)
        pictures.append((size, picture))
        say(f"{size} px: {row['seconds']} s, {row['steps']} steps, own {row['own']}, at 512 {row['at_512']}, "
            f"relu1_1 {row['layers_own']['relu1_1']:.3f}, speckle {row['speckle']:.2f}")  # fmt: skip
        report = write(args, rows, pictures)  # after each size, so a run cut short keeps its rows
    print(summary(report))
    return 0


def write(
    args: argparse.Namespace, rows: list[dict[str, Any]], pictures: list[tuple[int, Image.Image]]
) -> dict[str, Any]:
    """The results so far: ``<name>.json``, ``.md`` and the crops sheet."""
    report = {
        "date": time.strftime("%Y-%m-%d"),
        "pair": f"{args.content.name} + {args.style.name}",
        "machine": f"{machine()}, {torch.get_num_threads()} threads",
        "torch": torch.__version__,
        "rows": rows,
    }
    name = args.name or "sizes-" + ("cuda" if rows and rows[0]["device"].startswith("CUDA") else "cpu")
    save(report, name, summary)
    crops_sheet(pictures).save(RESULTS / f"{name}-crops.png")
    return report


def score(
    extractor: Any, picture: Image.Image, content: Image.Image, style: Image.Image, size: int
) -> dict[str, float]:
    distances = Judge(extractor, content, style, eval_size=size)(picture)
    return {"style": round(distances.style, 4), "content": round(distances.content, 4)}


@torch.no_grad()
def style_layers(extractor: Any, picture: Image.Image, style: Image.Image) -> dict[str, float]:
    """Each layer's style distance at the picture's own size (the painting resized to that size)."""
    size = max(picture.size)
    ours = extractor(to_tensor(picture), STYLE_LAYERS)
    theirs = extractor(to_tensor(resize(style, fit_size(style.size, size))), STYLE_LAYERS)
    distances = {}
    for name in STYLE_LAYERS:
        target = gram_matrix(theirs[name])
        distances[name] = round(float((gram_matrix(ours[name]) - target).pow(2).sum() / target.pow(2).sum()), 4)
    return distances


def speckle(picture: Image.Image) -> float:
    """Mean absolute difference to the 3x3 median, in levels (0-255), over all channels."""
    median = picture.filter(ImageFilter.MedianFilter(3))
    difference = ImageChops.difference(picture, median)
    histogram = difference.histogram()
    total = sum(level * count for channel in range(3) for level, count in enumerate(histogram[256 * channel :][:256]))
    return total / (3 * picture.width * picture.height)


def crops_sheet(pictures: list[tuple[int, Image.Image]]) -> Image.Image:
    """256x256 crops, 1:1, from the middle of each picture, side by side with their size above."""
    sheet = Image.new("RGB", (len(pictures) * (CROP + 8) + 8, CROP + 32), "white")
    draw = ImageDraw.Draw(sheet)
    for index, (size, picture) in enumerate(pictures):
        left, top = (picture.width - CROP) // 2, (picture.height - CROP) // 2
        crop = picture.crop((max(0, left), max(0, top), max(0, left) + CROP, max(0, top) + CROP))
        x = 8 + index * (CROP + 8)
        sheet.paste(ImageOps.pad(crop, (CROP, CROP), color="white"), (x, 24))
        draw.text((x, 6), f"{size} px, 1:1", fill="black")
    return sheet


def summary(report: dict[str, Any]) -> str:
    lines = [
        f"# Sizes ({report['date']}; {report['machine']}; torch {report['torch']})",
        "",
        f"{report.get('pair', 'tubingen.jpg + starry_night.jpg')}, defaults, whole process. "
        "Style / content distances by the VGG judge at the "
        "picture's own size, and with the picture seen at 512 and 256 px.",
        "",
        "| size | device, precision | s | peak RSS MiB | GPU peak MiB | steps per scale (why ended) | own style | "
        "relu1_1 / 2_1 / 3_1 / 4_1 / 5_1 | at 512: style, content | at 256: style, content | speckle |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in report["rows"]:
        scales = ", ".join(f"{s['size'][0]}: {s['steps']} ({s['stopped'] or 'all'})" for s in row["scales"])
        layers = " / ".join(f"{value:.3f}" for value in row["layers_own"].values())
        lines.append(
            f"| {row['size']} | {row['device']}, {row['precision']} | {row['seconds']} | {row['peak_rss_mib']} | "
            f"{row['gpu_peak_mib'] or '-'} | {scales} | {row['own']['style']:.3f} | {layers} | "
            f"{row['at_512']['style']:.3f}, {row['at_512']['content']:.3f} | "
            f"{row['at_256']['style']:.3f}, {row['at_256']['content']:.3f} | {row['speckle']:.2f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
