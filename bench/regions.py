"""Paint by region on the example photos: a sheet to look at, and each region judged against its own painting.

    python -m bench.regions [--size 256] [--steps 15]

Each photo gets two paintings: Starry Night inside a soft ellipse around its middle, The Scream on a band along
its top, and the rest (the lower corners) kept as the photo. Per photo: the regions' preview, the instant
picture composited through the masks, and the refined picture (the page's default: instant, then refined).
Each region is judged by the VGG style distance at its own size and by the instant network's style vector,
against its own painting and the other one; the uncovered corners by their mean change from the photo.
Writes ``bench/results/regions-sheet.png`` and ``regions.md`` / ``regions.json``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from bench.common import ASSETS, RESULTS, save, say
from nst_core.compare import distances
from nst_core.config import TransferConfig
from nst_core.images import fit_size, load_image, resize
from nst_core.instant import get_network
from nst_core.regions import preview
from nst_core.transfer import stylize

PAINTINGS = {"Starry Night": ASSETS / "style" / "starry_night.jpg", "The Scream": ASSETS / "style" / "the_scream.jpg"}
COLOURS = [(255, 75, 75), (28, 131, 225)]  # the page's first two brushes
TILE = 240  # px, the sheet's tiles (longest side)


def masks_for(size: tuple[int, int]) -> list[Image.Image]:
    """An ellipse around the middle and a band along the top (apart), soft edges of 1/50 of the longer side."""
    width, height = size
    ellipse, band = Image.new("L", size, 0), Image.new("L", size, 0)
    ImageDraw.Draw(ellipse).ellipse((width * 0.25, height * 0.3, width * 0.75, height * 0.9), fill=255)
    ImageDraw.Draw(band).rectangle((0, 0, width, height * 0.25), fill=255)
    soft = max(size) / 50
    return [ellipse.filter(ImageFilter.GaussianBlur(soft)), band.filter(ImageFilter.GaussianBlur(soft))]


def judged(picture: Image.Image, photo: Image.Image, mask: Image.Image, paintings: list[Image.Image],
           config: TransferConfig) -> list[tuple[float, float]]:  # fmt: skip
    """(VGG style distance, style-vector distance) of the region's box against each painting."""
    box = Image.fromarray((np.asarray(mask) > 200).astype(np.uint8) * 255).getbbox()
    assert box is not None
    crop, plain = picture.crop(box), photo.crop(box)
    network = get_network()
    vector = network.style_vector(crop)
    return [(distances(crop, plain, [painting], config)["distance_style"],
             float(np.linalg.norm(vector - network.style_vector(painting)))) for painting in paintings]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=15)
    args = parser.parse_args()
    config = TransferConfig(size=args.size, steps=args.steps, init="fast")
    paintings = [load_image(path) for path in PAINTINGS.values()]
    rows, tiles = [], []
    for path in sorted(p for p in (ASSETS / "content").iterdir() if p.suffix in (".jpg", ".png")):
        photo = load_image(path)
        size = fit_size(photo.size, args.size)
        small = resize(photo, size)
        masks = masks_for(size)
        started = time.perf_counter()
        instant = stylize(small, paintings, config.replace(steps=0), masks=masks).image
        refined = stylize(small, paintings, config, masks=masks)
        seconds = time.perf_counter() - started
        width, height = size
        corners = np.asarray(small, float)[int(height * 0.92) :, : int(width * 0.2)]
        kept = float(
            np.abs(np.asarray(refined.image, float)[int(height * 0.92) :, : int(width * 0.2)] - corners).mean()
        )
        row: dict[str, object] = {"photo": path.name, "size": f"{width}x{height}", "steps": refined.steps,
                                  "seconds": round(seconds, 2), "corner_change": round(kept, 2)}  # fmt: skip
        for name, mask in zip(PAINTINGS, masks, strict=True):
            scores = judged(refined.image, small, mask, paintings, config)
            row[name] = {other: {"vgg": round(vgg, 4), "vector": round(vector, 3)}
                         for other, (vgg, vector) in zip(PAINTINGS, scores, strict=True)}  # fmt: skip
        rows.append(row)
        say(f"{path.name}: {seconds:.1f} s, corners {kept:.2f} levels")
        tiles.append([small, preview(small, masks, COLOURS), instant, refined.image])
    sheet = Image.new("RGB", (4 * TILE, len(tiles) * TILE), "white")
    for index, row_tiles in enumerate(tiles):
        for column, tile in enumerate(row_tiles):
            shown = tile.copy()
            shown.thumbnail((TILE, TILE))
            sheet.paste(shown, (column * TILE + (TILE - shown.width) // 2, index * TILE + (TILE - shown.height) // 2))
    sheet.save(RESULTS / "regions-sheet.png", optimize=True)
    save({"rows": rows, "size": args.size, "steps": args.steps}, "regions", summary)


def summary(report: dict[str, Any]) -> str:
    rows = report["rows"]
    lines = ["# Paint by region on the example photos", "",
             f"`python -m bench.regions --size {report['size']} --steps {report['steps']}`: Starry Night in an "
             "ellipse around the middle, The Scream on a band along the top, the lower corners kept. Sheet "
             "(photo, regions, instant, refined): `regions-sheet.png`.", "",
             "| photo | size | steps | s | own/other VGG style (ellipse) | own/other vector (ellipse) | "
             "own/other VGG style (band) | own/other vector (band) | corner change (levels) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for row in rows:
        ellipse, band = row["Starry Night"], row["The Scream"]
        assert isinstance(ellipse, dict) and isinstance(band, dict)
        cells = [f"{ellipse['Starry Night'][j]:g} / {ellipse['The Scream'][j]:g}" for j in ("vgg", "vector")]
        cells += [f"{band['The Scream'][j]:g} / {band['Starry Night'][j]:g}" for j in ("vgg", "vector")]
        lines.append(f"| {row['photo']} | {row['size']} | {row['steps']} | {row['seconds']} | " + " | ".join(cells)
                     + f" | {row['corner_change']} |")  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
