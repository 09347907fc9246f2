"""``python -m bench``: speed and quality of nst_core against the report's baseline and pastiche.

Everything runs in one go, on the same images, weights and machine; results go
to ``bench/results/<device>.json`` and ``bench/results/<device>.md``.
Whole-process times (start to PNG written) are measured by running each CLI
as a child process; quality is the neutral metric of ``bench/metric.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode

from bench.baseline import run_baseline
from bench.metric import EVAL_SIZE, Distances, Judge
from nst_core import TransferConfig, load_image, stylize
from nst_core.backbone import clear_cache, get_extractor
from nst_core.config import CONTENT_LAYER, STYLE_LAYERS
from nst_core.device import describe_device, resolve_device
from nst_core.images import fit_size, resize
from nst_core.losses import content_loss, gram_matrix, style_loss

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "assets" / "content" / "tubingen.jpg"
STYLE = ROOT / "assets" / "style" / "starry_night.jpg"
RESULTS = ROOT / "bench" / "results"


def child(argv: list[str]) -> tuple[float, float, str]:
    """Run a process; (wall seconds, its peak RSS in MiB, stdout).

    The peak is read from /proc (VmHWM) while it runs: ``wait4``'s ru_maxrss would
    report this (large) parent's size, which a child inherits across fork and exec.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=err, text=True)
        peak = 0.0
        while process.poll() is None:
            peak = max(peak, _peak_rss_mib(process.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise RuntimeError(f"{argv[:4]} failed: {err.read()[-2000:]}")
        return seconds, peak, out.read()


def _peak_rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def ours(out: Path, size: int, steps: int | None, extra: list[str] | None = None) -> list[str]:
    argv = [sys.executable, "-m", "nst_core", str(CONTENT), str(STYLE), "-o", str(out), "--size", str(size)]
    if steps is not None:
        argv += ["--steps", str(steps)]
    return [*argv, "--quiet", "--json", *(extra or [])]


def pastiche(out: Path, size: int, steps: int) -> list[str]:
    return [
        sys.executable, "-m", "pastiche", "--content", str(CONTENT), "--styles", str(STYLE), "--output", str(out),
        "--size", str(size), "--num-steps", str(steps), "--optimizer", "lbfgs", "--device", "cpu", "--no-verbose",
    ]  # fmt: skip


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def conv_throughput() -> float:
    """GFLOP/s of a large 3x3 convolution (256 -> 256 channels, 128x128), forward, best of 5."""
    x = torch.randn(1, 256, 128, 128)
    conv = torch.nn.Conv2d(256, 256, 3, padding=1).requires_grad_(False)
    flops = 2 * 256 * 256 * 9 * 128 * 128
    conv(x)
    best = min(_timed(lambda: conv(x)) for _ in range(5))
    return flops / best / 1e9


def _timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def flops_per_iteration(size: tuple[int, int]) -> float:
    """FLOPs of one step: forward to relu5_1, the losses, backward to the image."""
    extractor = get_extractor()
    image = torch.rand(1, 3, size[1], size[0], requires_grad=True)
    with torch.no_grad():
        targets = extractor(torch.rand(1, 3, size[1], size[0]), [CONTENT_LAYER, *STYLE_LAYERS])
    counter = FlopCounterMode(display=False)
    with counter:
        features = extractor(image, [CONTENT_LAYER, *STYLE_LAYERS])
        loss = content_loss(features[CONTENT_LAYER], targets[CONTENT_LAYER])
        for name in STYLE_LAYERS:
            loss = loss + style_loss(features[name], gram_matrix(targets[name])[0])
        loss.backward()  # type: ignore[no-untyped-call]
    return float(counter.get_total_flops())


def per_iteration(size: int, gflops: float) -> dict[str, float]:
    content = load_image(CONTENT)
    config = TransferConfig(size=size, steps=6, multiscale=False, early_stop=False, preview_every=0)
    result = stylize(content, load_image(STYLE), config)
    times = [b.elapsed - a.elapsed for a, b in zip(result.history, result.history[1:], strict=False)][1:]
    ms = statistics.median(times) * 1000
    flops = flops_per_iteration(fit_size(content.size, size))
    floor_ms = flops / (gflops * 1e9) * 1000
    return {"size": size, "ms_per_iteration": ms, "gflop_per_iteration": flops / 1e9, "floor_ms": floor_ms,
            "ratio_to_floor": ms / floor_ms}  # fmt: skip


def speedups(reference: list[dict[str, Any]], candidate: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each reference point, the earliest candidate point at least as good on both distances."""
    rows = []
    for point in reference:
        target = Distances(point["style"], point["content"])
        hits = [c for c in candidate if Distances(c["style"], c["content"]).at_least_as_good_as(target)]
        best = min(hits, key=lambda c: c["seconds"]) if hits else None
        rows.append({
            "reference_steps": point["steps"], "reference_seconds": point["seconds"],
            "style": point["style"], "content": point["content"],
            "candidate_steps": best["steps"] if best else None,
            "candidate_seconds": best["seconds"] if best else None,
            "speedup": point["seconds"] / best["seconds"] if best else None,
        })  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer points, no 1024 px, short baseline (a smoke run)")
    parser.add_argument(
        "--defaults-only", action="store_true", help="rerun only the default-settings runs and update the results"
    )
    args = parser.parse_args(argv)
    device = resolve_device("auto")
    quick = args.quick
    name = "quick" if quick else device.type
    sizes = (256, 512) if quick else (256, 512, 1024)
    if args.defaults_only:
        previous: dict[str, Any] = json.loads((RESULTS / f"{name}.json").read_text())
        content_image, style_image = load_image(CONTENT), load_image(STYLE)
        judge = Judge(get_extractor(), content_image, style_image)
        tmp = Path(tempfile.mkdtemp(prefix="nst-bench-"))
        previous["defaults"] = default_runs(sizes, judge, tmp, content_image, style_image)
        previous["defaults_date"] = time.strftime("%Y-%m-%d %H:%M")
        return write(previous, name)
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "device": describe_device(device),
        "torch": torch.__version__,
        "eval_size": EVAL_SIZE,
    }
    content_image, style_image = load_image(CONTENT), load_image(STYLE)
    tmp = Path(tempfile.mkdtemp(prefix="nst-bench-"))

    clear_cache()
    report["load_seconds"] = _timed(get_extractor)
    report["startup_seconds"] = child([sys.executable, "-m", "nst_core", "--version"])[0]
    judge = Judge(get_extractor(), content_image, style_image)
    report["conv_gflops"] = gflops = conv_throughput()
    say(f"conv throughput {gflops:.0f} GFLOP/s; weights load {report['load_seconds']:.2f} s")

    report["per_iteration"] = [per_iteration(size, gflops) for size in ((256, 512) if quick else (256, 512, 1024))]
    for row in report["per_iteration"]:
        say(f"{row['size']} px: {row['ms_per_iteration']:.0f} ms/iteration, {row['ratio_to_floor']:.2f}x floor")

    def curve(name: str, argv_for: Any, steps_list: list[int]) -> list[dict[str, Any]]:
        points = []
        for steps in steps_list:
            out = tmp / f"{name}-{steps}.png"
            seconds, peak, _ = child(argv_for(out, steps))
            distances = judge(Image.open(out))
            points.append({"steps": steps, "seconds": seconds, "peak_mib": peak, **distances.__dict__})
            say(f"{name} {steps} steps: {seconds:.1f} s, {distances}")
        return points

    our_steps = [5, 10, 20, 30] if quick else [5, 10, 15, 20, 30, 40, 50, 75, 100]
    report["ours_256"] = curve("ours", lambda out, n: ours(out, 256, n, ["--no-early-stop"]), our_steps)
    pastiche_steps = [10, 25] if quick else [10, 25, 50, 100, 200]
    report["pastiche_256"] = curve("pastiche", lambda out, n: pastiche(out, 256, n), pastiche_steps)
    report["vs_pastiche"] = speedups(report["pastiche_256"], report["ours_256"])

    baseline_points: list[dict[str, Any]] = []
    content_256 = resize(content_image, fit_size(content_image.size, 256))

    def checkpoint(step: int, seconds: float, image: Image.Image) -> None:
        baseline_points.append({"steps": step, "seconds": seconds, **judge(image).__dict__})

    baseline_steps = 50 if quick else 300
    run_baseline(content_256, style_image, get_extractor(), steps=baseline_steps, on_checkpoint=checkpoint)
    report["baseline_256"] = baseline_points
    final = baseline_points[-1]
    say(f"baseline {baseline_steps} steps: {final['seconds']:.1f} s, {Distances(final['style'], final['content'])}")
    report["vs_baseline"] = speedups([final], report["ours_256"])[0]

    report["defaults"] = default_runs(sizes, judge, tmp, content_image, style_image)
    return write(report, name)


def default_runs(
    sizes: tuple[int, ...], judge: Judge, tmp: Path, content_image: Image.Image, style_image: Image.Image
) -> dict[str, Any]:
    """The CLI with default settings at each size: wall time, memory, quality at 256 px and at its own size."""
    defaults = {}
    for size in sizes:
        out = tmp / f"default-{size}.png"
        seconds, peak, stdout = child(ours(out, size, None))
        distances = judge(Image.open(out))
        native = Judge(get_extractor(), content_image, style_image, eval_size=size)(Image.open(out))
        defaults[str(size)] = {
            "seconds": seconds,
            "peak_mib": peak,
            "steps": json.loads(stdout)["steps"],
            **distances.__dict__,
            "style_at_own_size": native.style,
            "content_at_own_size": native.content,
        }
        say(f"default {size} px: {seconds:.1f} s, {defaults[str(size)]['steps']} steps, {distances}")
    return defaults


def write(report: dict[str, Any], name: str) -> int:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2))
    (RESULTS / f"{name}.md").write_text(summary(report))
    print(summary(report))
    return 0


def summary(report: dict[str, Any]) -> str:
    lines = [
        f"# Benchmark ({report['date']}; {report['machine']}; {report['device']}; torch {report['torch']})",
        "",
        f"Conv throughput {report['conv_gflops']:.0f} GFLOP/s; weights load {report['load_seconds']:.2f} s; "
        f"`python -m nst_core --version` {report['startup_seconds']:.2f} s. "
        f"Quality measured at {report['eval_size']} px.",
        "",
        "| size | ms / iteration | GFLOP / iteration | floor ms | ratio to floor |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in report["per_iteration"]:
        lines.append(f"| {row['size']} | {row['ms_per_iteration']:.0f} | {row['gflop_per_iteration']:.0f} | "
                     f"{row['floor_ms']:.0f} | {row['ratio_to_floor']:.2f} |")  # fmt: skip
    lines += ["", "Against pastiche (L-BFGS, same weights), 256 px, whole process:", "",
              "| pastiche steps | pastiche s | style | content | ours: steps | ours s | speed-up |",
              "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for row in report["vs_pastiche"]:
        speed = f"{row['speedup']:.1f}x" if row["speedup"] else "not reached"
        ours_seconds = row["candidate_seconds"] or 0
        lines.append(f"| {row['reference_steps']} | {row['reference_seconds']:.1f} | {row['style']:.4f} | "
                     f"{row['content']:.3f} | {row['candidate_steps']} | {ours_seconds:.1f} | {speed} |")  # fmt: skip
    base = report["vs_baseline"]
    speed = f"{base['speedup']:.1f}x" if base["speedup"] else "not reached"
    lines += [
        "",
        f"Against the report's baseline ({base['reference_steps']} Adam steps, {base['reference_seconds']:.1f} s, "
        f"style {base['style']:.4f}, content {base['content']:.3f}): ours matches it on both in "
        f"{base['candidate_seconds'] or 0:.1f} s ({base['candidate_steps']} steps, whole process): {speed}.",
        "",
        f"Default settings (measured {report.get('defaults_date', report['date'])}):",
        "",
        "| default run | wall s | steps | style | content | style, content at its own size | peak MiB |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for size, row in report["defaults"].items():
        own = f"{row.get('style_at_own_size', 0):.4f}, {row.get('content_at_own_size', 0):.3f}"
        lines.append(f"| {size} px | {row['seconds']:.1f} | {row['steps']} | {row['style']:.4f} | "
                     f"{row['content']:.3f} | {own} | {row['peak_mib']:.0f} |")  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
