"""``python -m bench.uncovered``: do the areas a moving object uncovers blend into a refined clip's look?

A pan with a red disc moving right (``bench.clips.pan_frames``, 128x96 px, the disc 8 px a frame) is painted
refined (``--steps`` a frame, the clip's look set by its first frame) and, as the reference, every frame on its
own at the first frame's steps. For frames 3-11, on the crescent the disc uncovered since the frame before:

- **edge**: the mean gradient on the crescent's border in the clip over the same in the frames painted alone
  (1: no edge where the flow's trusted region ends; a pasted patch would raise it);
- **level**: how far the crescent is from the photo relative to its trusted neighbours (a 4 px ring) in the
  clip, over the same ratio in the frames painted alone (1: the uncovered area is painted as far as its
  surroundings).

The same is measured with the uncovered area left at the instant picture's look (pasted after each frame's
refinement), to show how far the two figures can tell that apart here. Results: ``bench/results/uncovered.md``
and a sheet ``bench/results/uncovered-sheet.png`` (frame 10: the clip, alone, and the pasted variant).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from scipy import ndimage

from bench.clips import pan_frames, sprite_at, write_clip
from bench.common import RESULTS, STYLE
from nst_core import video
from nst_core.config import TransferConfig
from nst_core.images import load_image
from nst_core.instant import instant_picture
from nst_core.media import read_frames
from nst_core.video import paint_video

SIZE, SPEED = (128, 96), 8


def gradient(image: Image.Image) -> np.ndarray:
    grey = np.asarray(image.convert("L"), dtype=float)
    magnitude: np.ndarray = np.hypot(ndimage.sobel(grey, 0), ndimage.sobel(grey, 1))
    return magnitude


def ratios(clip: list[Image.Image], alone: list[Image.Image], photos: list[Image.Image]) -> tuple[float, float]:
    """(edge, level), the means over frames 3-11 (see the module's text)."""
    edges, levels = [], []
    for k in range(3, len(clip)):
        disc = sprite_at(k, SIZE, SPEED)
        uncovered = sprite_at(k - 1, SIZE, SPEED) & ~disc
        border = ndimage.binary_dilation(uncovered) & ~ndimage.binary_erosion(uncovered) & ~disc
        ring = ndimage.binary_dilation(uncovered, iterations=4) & ~uncovered & ~ndimage.binary_dilation(disc)
        photo = np.asarray(photos[k], dtype=float)

        def away(image: Image.Image, where: np.ndarray, photo: np.ndarray = photo) -> float:
            return float(np.abs(np.asarray(image, dtype=float) - photo)[where].mean())

        edges.append(gradient(clip[k])[border].mean() / gradient(alone[k])[border].mean())
        levels.append(
            (away(clip[k], uncovered) / away(clip[k], ring)) / (away(alone[k], uncovered) / away(alone[k], ring))
        )
    return float(np.mean(edges)), float(np.mean(levels))


@contextmanager
def uncovered_left_instant() -> Iterator[None]:
    """Paint as before, then put the instant picture back wherever the flow is not trusted (the regression)."""
    original = video.FramePainter.__call__

    def pasted(self: Any, frame: Image.Image, cancel: Any) -> Image.Image:
        before = self.previous
        painted = original(self, frame, cancel)
        if before is None:
            return painted
        backward = video.flow_between(video.grey(frame), video.grey(before[0]))
        forward = video.flow_between(video.grey(before[0]), video.grey(frame))
        trusted = video.trustworthy(backward, forward, np.asarray(frame), np.asarray(before[0]))[..., None]
        fresh = np.asarray(instant_picture(self.network, frame, self.styles, self.config, frame.size), np.float32)
        kept = np.where(trusted, np.asarray(painted, dtype=np.float32), fresh)
        self.previous = (frame, kept)
        return video._image(kept)

    video.FramePainter.__call__ = pasted  # type: ignore[method-assign]
    try:
        yield
    finally:
        video.FramePainter.__call__ = original  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.uncovered", description=__doc__)
    parser.add_argument("--steps", type=int, default=5, help="refining steps a frame")
    args = parser.parse_args(argv)
    painting = load_image(STYLE)
    config = TransferConfig(size=SIZE[0], steps=args.steps, init="fast", early_stop=False)
    with tempfile.TemporaryDirectory() as folder:
        clip = write_clip(Path(folder) / "pan.mp4", pan_frames(12, SIZE, 3, SPEED))
        photos = list(read_frames(clip, SIZE))
        refined = paint_video(clip, [painting], Path(folder) / "clip.mp4", config, gif=False).painted
        first_steps = config.replace(steps=round(video.LOOK_FACTOR * args.steps))
        alone = paint_video(clip, [painting], Path(folder) / "alone.mp4", first_steps, coherence="none",
                            gif=False).painted  # fmt: skip
        with uncovered_left_instant():
            pasted = paint_video(clip, [painting], Path(folder) / "pasted.mp4", config, gif=False).painted
    rows = {"refined clip (as shipped)": ratios(refined, alone, photos),
            "uncovered area left instant (a regression)": ratios(pasted, alone, photos)}  # fmt: skip
    lines = [f"# Uncovered areas of a refined clip ({time.strftime('%Y-%m-%d %H:%M')}; 2 cores)", "",
             f"`python -m bench.uncovered --steps {args.steps}`: a 128x96 pan with a red disc moving 8 px a frame; "
             "frames 3-11. 1.0 means: as in frames painted on their own.", "",
             "| clip | edge on the uncovered area's border | level of the uncovered area against its neighbours |",
             "| --- | --- | --- |"]  # fmt: skip
    lines += [f"| {name} | {edge:.2f} | {level:.2f} |" for name, (edge, level) in rows.items()]
    sheet = Image.new("RGB", (SIZE[0] * 3, SIZE[1]))
    for column, frames in enumerate((refined, alone, pasted)):
        sheet.paste(frames[10], (column * SIZE[0], 0))
    RESULTS.mkdir(parents=True, exist_ok=True)
    sheet.resize((SIZE[0] * 9, SIZE[1] * 3), Image.Resampling.NEAREST).save(RESULTS / "uncovered-sheet.png")
    (RESULTS / "uncovered.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
