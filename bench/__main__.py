"""``python -m bench``: speed and quality of nst_core against the report's baseline and pastiche.

Everything runs in one go, on the same images, weights and machine; results go
to ``bench/results/<device>.json`` and ``bench/results/<device>.md``.
Whole-process times (start to PNG written) are measured by running each CLI
as a child process; quality is the neutral metric of ``bench/metric.py``.
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

import torch
from PIL import Image

from bench.baseline import run_baseline
from bench.common import CONTENT, RESULTS, STYLE, child, flops_per_iteration, machine, ours, save, say
from bench.metric import EVAL_SIZE, Distances, Judge
from nst_core import TransferConfig, load_image, stylize
from nst_core.backbone import clear_cache, get_extractor
from nst_core.device import describe_device, describe_precision, resolve_device, resolve_precision
from nst_core.images import fit_size, resize


def pastiche(out: Path, size: int, steps: int) -> list[str]:
    return [
        sys.executable, "-m", "pastiche", "--content", str(CONTENT), "--styles", str(STYLE), "--output", str(out),
        "--size", str(size), "--num-steps", str(steps), "--optimizer", "lbfgs", "--device", "cpu", "--no-verbose",
    ]  # fmt: skip


def conv_throughput(dtype: torch.dtype = torch.float32) -> float:
    """GFLOP/s of a large 3x3 convolution (256 -> 256 channels, 128x128), forward, best of 5.

    In bf16 it runs channels_last, the layout the bf16 extractor uses.
    """
    layout = torch.channels_last if dtype != torch.float32 else torch.contiguous_format
    x = torch.randn(1, 256, 128, 128).to(dtype=dtype, memory_format=layout)
    conv = torch.nn.Conv2d(256, 256, 3, padding=1).requires_grad_(False).to(dtype=dtype)
    conv.to(memory_format=layout)
    flops = 2 * 256 * 256 * 9 * 128 * 128
    conv(x)
    best = min(_timed(lambda: conv(x)) for _ in range(5))
    return flops / best / 1e9


def _timed(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def per_iteration(size: int, precision: str, gflops: float) -> dict[str, Any]:
    """Median ms of one step at ``size`` px, and its ratio to the FLOP floor at ``gflops`` (same precision)."""
    content = load_image(CONTENT)
    config = TransferConfig.from_dict(
        {"size": size, "steps": 6, "multiscale": False, "early_stop": False, "preview_every": 0, "precision": precision}
    )
    result = stylize(content, load_image(STYLE), config)
    times = [b.elapsed - a.elapsed for a, b in zip(result.history, result.history[1:], strict=False)][1:]
    ms = statistics.median(times) * 1000
    flops = flops_per_iteration(fit_size(content.size, size), resolve_precision(precision, torch.device("cpu")))
    floor_ms = flops / (gflops * 1e9) * 1000
    return {"size": size, "precision": precision, "ms_per_iteration": ms, "gflop_per_iteration": flops / 1e9,
            "floor_ms": floor_ms, "ratio_to_floor": ms / floor_ms}  # fmt: skip


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
    sizes: tuple[int, ...] = (256, 512) if quick else (256, 512, 1024)
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
        "machine": machine(),
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
    auto = describe_precision(resolve_precision("auto", device))
    report["precision"] = auto
    precisions = ["fp32"] if auto == "fp32" else ["fp32", auto]
    report["conv_gflops"] = {p: conv_throughput(resolve_precision(p, device)) for p in precisions}
    say(f"conv throughput {report['conv_gflops']} GFLOP/s; weights load {report['load_seconds']:.2f} s")

    report["per_iteration"] = [
        per_iteration(size, precision, report["conv_gflops"][precision]) for precision in precisions for size in sizes
    ]
    for row in report["per_iteration"]:
        say(f"{row['size']} px {row['precision']}: {row['ms_per_iteration']:.0f} ms/iteration, "
            f"{row['ratio_to_floor']:.2f}x floor")  # fmt: skip

    def curve(name: str, argv_for: Any, steps_list: list[int]) -> list[dict[str, Any]]:
        points = []
        for steps in steps_list:
            out = tmp / f"{name}-{steps}.png"
            seconds, peak, _ = child(argv_for(out, steps))
            distances = judge(Image.open(out))
            points.append({"steps": steps, "seconds": seconds, "peak_mib": peak, **distances.__dict__})
            say(f"{name} {steps} steps: {seconds:.1f} s, {distances}")
        return points

    our_steps = [5, 10, 20, 30] if quick else [3, 5, 8, 10, 15, 20, 30, 40, 50, 75, 100]
    report["ours_256"] = curve("ours", lambda out, n: ours(out, 256, n, ["--no-early-stop"]), our_steps)
    if auto != "fp32":  # the same curve in fp32: how much is the algorithm, how much the precision
        fp32_steps = [10, 15, 20] if quick else [5, 8, 10, 15, 20, 30, 50]
        report["ours_256_fp32"] = curve(
            "ours-fp32", lambda out, n: ours(out, 256, n, ["--no-early-stop", "--precision", "fp32"]), fp32_steps
        )
    pastiche_steps = [10, 25] if quick else [10, 25, 50, 100, 200]
    report["pastiche_256"] = curve("pastiche", lambda out, n: pastiche(out, 256, n), pastiche_steps)
    report["vs_pastiche"] = speedups(report["pastiche_256"], report["ours_256"])
    if "ours_256_fp32" in report:
        report["vs_pastiche_fp32"] = speedups(report["pastiche_256"], report["ours_256_fp32"])

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
    if "ours_256_fp32" in report:
        report["vs_baseline_fp32"] = speedups([final], report["ours_256_fp32"])[0]

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
    print(save(report, name, summary))
    return 0


def summary(report: dict[str, Any]) -> str:
    throughput = ", ".join(f"{p} {g:.0f}" for p, g in report["conv_gflops"].items())
    lines = [
        f"# Benchmark ({report['date']}; {report['machine']}; {report['device']}; torch {report['torch']})",
        "",
        f"Default precision here: {report['precision']}. Conv throughput (GFLOP/s): {throughput}; "
        f"weights load {report['load_seconds']:.2f} s; `python -m nst_core --version` "
        f"{report['startup_seconds']:.2f} s. Quality measured at {report['eval_size']} px.",
        "",
        "| size | precision | ms / iteration | GFLOP / iteration | floor ms | ratio to floor |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in report["per_iteration"]:
        lines.append(
            f"| {row['size']} | {row['precision']} | {row['ms_per_iteration']:.0f} | "
            f"{row['gflop_per_iteration']:.0f} | {row['floor_ms']:.0f} | {row['ratio_to_floor']:.2f} |"
        )
    for key, label in (("vs_pastiche", report["precision"]), ("vs_pastiche_fp32", "fp32")):
        if not report.get(key):
            continue
        lines += ["", f"Against pastiche (L-BFGS, same weights, fp32), 256 px, whole process; ours in {label}:", "",
                  "| pastiche steps | pastiche s | style | content | ours: steps | ours s | speed-up |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
        for row in report[key]:
            speed = f"{row['speedup']:.1f}x" if row["speedup"] else "not reached"
            ours_seconds = row["candidate_seconds"] or 0
            lines.append(
                f"| {row['reference_steps']} | {row['reference_seconds']:.1f} | {row['style']:.4f} | "
                f"{row['content']:.3f} | {row['candidate_steps']} | {ours_seconds:.1f} | {speed} |"
            )
    lines.append("")
    for key, label in (("vs_baseline", report["precision"]), ("vs_baseline_fp32", "fp32")):
        base = report.get(key)
        if not base:
            continue
        speed = f"{base['speedup']:.1f}x" if base["speedup"] else "not reached"
        lines.append(
            f"Against the report's baseline ({base['reference_steps']} Adam steps, {base['reference_seconds']:.1f} s, "
            f"style {base['style']:.4f}, content {base['content']:.3f}): ours in {label} matches it on both in "
            f"{base['candidate_seconds'] or 0:.1f} s ({base['candidate_steps']} steps, whole process): {speed}."
        )
        lines.append("")
    lines += [
        f"Default settings, {report['precision']} (measured {report.get('defaults_date', report['date'])}):",
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
