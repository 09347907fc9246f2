"""``python -m bench.gpu``: the GPU figures of issue #4 and the real out-of-memory check of #5, in one short run.

Made to fit one call of a lent GPU machine (a few minutes): per-iteration time
in fp32 and bf16 at 256/512/1024 px with the ratio to the measured
convolution throughput, the default 512 px run (in process and as a whole
process), peak memory, and a real CUDA out-of-memory (the allocator capped
with ``set_per_process_memory_fraction``) that must be retried smaller, leave
the allocated memory where it was, and not break the next run. Results go to
``bench/results/<device>-gpu.json`` and ``.md``; the exit status is 1 if the
out-of-memory check fails. ``--device cpu`` runs the same code on the CPU (a
smoke test; no OOM check there).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from bench.common import CONTENT, RESULTS, STYLE, child, flops_per_iteration, ours, save, say
from bench.metric import Judge
from nst_core import TransferConfig, load_image, stylize
from nst_core.backbone import FeatureExtractor, get_extractor
from nst_core.device import describe_device, resolve_device
from nst_core.errors import NSTError
from nst_core.images import fit_size
from nst_core.transfer import stylize_with_retry


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def conv_throughput(device: torch.device, dtype: torch.dtype) -> float:
    """GFLOP/s of a 3x3 convolution, forward, the best of two shapes (the batch of one a transfer runs), best of 10.

    Shapes: 256 -> 256 channels at 128x128 and 64 -> 64 at 512x512 (layer sizes a 512 px run has).
    """
    layout = torch.channels_last if dtype != torch.float32 else torch.contiguous_format
    best_rate = 0.0
    for channels, side in ((256, 128), (64, 512)):
        x = torch.randn(1, channels, side, side, device=device).to(dtype=dtype, memory_format=layout)
        conv = torch.nn.Conv2d(channels, channels, 3, padding=1).requires_grad_(False).to(device=device, dtype=dtype)
        conv.to(memory_format=layout)
        flops = 2 * channels * channels * 9 * side * side
        for _ in range(3):
            conv(x)
        best = float("inf")
        for _ in range(10):
            synchronize(device)
            started = time.perf_counter()
            conv(x)
            synchronize(device)
            best = min(best, time.perf_counter() - started)
        best_rate = max(best_rate, flops / best / 1e9)
    return best_rate


def per_iteration(
    device: torch.device,
    size: int,
    precision: str,
    gflops: float,
    extractor: FeatureExtractor | None = None,
    graphs: bool = True,
) -> dict[str, Any]:
    content, style = load_image(CONTENT), load_image(STYLE)
    config = TransferConfig.from_dict(
        {"size": size, "steps": 12, "multiscale": False, "early_stop": False, "preview_every": 0,
         "precision": precision, "device": str(device), "cuda_graphs": graphs}
    )  # fmt: skip
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    started = time.perf_counter()
    result = stylize(content, style, config, extractor=extractor)
    first_run = time.perf_counter() - started
    times = [b.elapsed - a.elapsed for a, b in zip(result.history, result.history[1:], strict=False)][3:]
    ms = sorted(times)[len(times) // 2] * 1000
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    flops = flops_per_iteration(fit_size(content.size, size), dtype)
    floor_ms = flops / (gflops * 1e9) * 1000
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else 0.0
    return {"size": size, "precision": precision, "graphs": result.recipe.get("cuda_graphs_used", False),
            "ms_per_iteration": ms, "gflop_per_iteration": flops / 1e9,
            "floor_ms": floor_ms, "ratio_to_floor": ms / floor_ms, "peak_mib": peak,
            "first_run_seconds": first_run}  # fmt: skip


def profile(device: torch.device, size: int = 512) -> str:
    """Where a bf16 iteration's time goes: the profiler's top operators, and kernels launched per step."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as profiler

    content, style = load_image(CONTENT), load_image(STYLE)
    config = TransferConfig(size=size, steps=8, multiscale=False, early_stop=False, device=str(device),
                            precision="bf16")  # fmt: skip
    stylize(content, style, config.replace(steps=2))
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profiler(activities=activities) as prof:
        stylize(content, style, config)
    events = prof.key_averages()
    kernels = sum(int(e.count) for e in events if e.device_type.name == "CUDA")
    sort = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
    tables: str = events.table(sort_by=sort, row_limit=30)
    tables += "\n\n" + events.table(sort_by="self_cpu_time_total", row_limit=20)
    return f"{size} px bf16, {config.steps} steps (plus the targets): {kernels} GPU kernels\n\n" + tables


def compiled(device: torch.device, gflops: float, size: int = 512) -> dict[str, Any]:
    """torch.compile on a copy of the bf16 extractor: compile time (first run) and ms per iteration after."""
    extractor = copy.deepcopy(get_extractor(device=device, dtype=torch.bfloat16))
    extractor.compile()
    try:
        return per_iteration(device, size, "bf16", gflops, extractor=extractor)
    except Exception as error:  # noqa: BLE001 -- a compiler failure is a finding, not a crash of the check
        return {"size": size, "error": f"{type(error).__name__}: {str(error)[:500]}"}


def default_run(device: torch.device, judge: Judge, size: int, whole_process: bool) -> dict[str, Any]:
    """The default run at one size: in process (weights loaded, warm), also without CUDA graphs, and as a whole process.

    On CUDA the in-process times are the best of 2. ``whole_process`` adds the CLI's time (start-up included).
    """
    content, style = load_image(CONTENT), load_image(STYLE)
    config = TransferConfig(size=size, device=str(device))
    stylize(content, style, config.replace(steps=3))  # warm-up: cuDNN autotuning for these shapes

    def timed(config: TransferConfig) -> tuple[float, Any]:
        best, result = float("inf"), None
        for _ in range(2 if device.type == "cuda" else 1):
            synchronize(device)
            started = time.perf_counter()
            result = stylize(content, style, config)
            synchronize(device)
            best = min(best, time.perf_counter() - started)
        return best, result

    in_process, result = timed(config)
    eager_seconds = timed(config.replace(cuda_graphs=False))[0] if device.type == "cuda" else in_process
    row: dict[str, Any] = {"size": size, "in_process_seconds": in_process, "eager_in_process_seconds": eager_seconds,
                           "steps": result.steps, "precision": result.precision,
                           "graphs": result.recipe.get("cuda_graphs_used", False),
                           "gpu_peak_mib": result.recipe.get("gpu_peak_mib")}  # fmt: skip
    row.update(judge(result.image).__dict__)
    if whole_process:
        out = Path(tempfile.mkdtemp(prefix="nst-gpu-")) / f"default-{size}.png"
        seconds, _, stdout = child(ours(out, size, None, ["--device", str(device)]))
        row.update(whole_process_seconds=seconds, cli=json.loads(stdout))
    return row


def t4_check(device: torch.device, gib: float = 16.0) -> dict[str, Any]:
    """A T4-sized host: the process capped at 16 GiB, fp32 (no native bf16 there). The page's default and largest sizes
    (the largest as the page measures it at start-up) each run 3 steps per scale; retries and peak memory recorded."""
    from job_service.capacity import largest_size, measure
    from job_service.limits import Limits
    from nst_core.device import cap_memory

    limits = Limits.for_device("cuda", {})
    content, style = load_image(CONTENT), load_image(STYLE)
    cap_memory(device, gib)
    rows: list[dict[str, Any]] = []
    try:
        extractor = get_extractor(device=device, dtype=torch.float32)
        largest, reason = largest_size(measure(extractor, device, gib), limits.max_seconds, limits.default_steps)
        retries: list[tuple[int, int]] = []
        for size in (limits.default_size, largest):
            torch.cuda.empty_cache()
            retries.clear()
            config = TransferConfig(size=size, steps=3, early_stop=False, device=str(device), precision="fp32")
            synchronize(device)
            started = time.perf_counter()
            result = stylize_with_retry(content, style, config, on_retry=lambda a, b: retries.append((a, b)))
            synchronize(device)
            rows.append({"size": size, "painted": max(result.image.size), "retries": list(retries),
                         "seconds_3_steps_per_scale": time.perf_counter() - started,
                         "gpu_peak_mib": result.recipe.get("gpu_peak_mib")})  # fmt: skip
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
    return {"cap_gib": gib, "largest": largest, "largest_reason": reason, "runs": rows}


def oom_check(device: torch.device) -> dict[str, Any]:
    """A real CUDA OOM: the allocator capped at 4 GiB, a 2048 px run; memory back to where it was after."""
    content, style = load_image(CONTENT), load_image(STYLE)
    get_extractor(device=device, dtype=torch.bfloat16)  # the shared model stays loaded, as on the page
    torch.cuda.synchronize(device)
    before = torch.cuda.memory_allocated(device)
    total = torch.cuda.get_device_properties(device).total_memory
    torch.cuda.set_per_process_memory_fraction(min(1.0, 4 * 2**30 / total), torch.cuda.current_device())
    retries: list[tuple[int, int]] = []
    outcome: str
    try:
        config = TransferConfig(size=4096, steps=2, multiscale=False, device=str(device))
        result = stylize_with_retry(content, style, config, on_retry=lambda old, new: retries.append((old, new)))
        outcome = f"finished at {max(result.image.size)} px"
    except NSTError as error:
        outcome = f"refused: {error}"
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, torch.cuda.current_device())
    torch.cuda.synchronize(device)
    after = torch.cuda.memory_allocated(device)
    following = stylize(content, style, TransferConfig(size=128, steps=3, device=str(device)))
    return {"retries": retries, "outcome": outcome, "allocated_before_mib": before / 2**20,
            "allocated_after_mib": after / 2**20, "next_run_steps": following.steps,
            "ok": bool(retries) and after <= before and following.steps == 3}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu", description=__doc__)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--sizes", type=int, nargs="*", default=[256, 512, 1024], help="per-step sizes")
    parser.add_argument("--default-sizes", type=int, nargs="*", default=[512], help="sizes of the default run, timed")
    parser.add_argument("--t4", action="store_true", help="also the page's default and largest sizes, 16 GiB cap")
    parser.add_argument("--name", default=None, help="results file stem (default <device>-gpu)")
    parser.add_argument("--profile", action="store_true", help="also write the profiler's table of a 512 px bf16 run")
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile on the bf16 extractor")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    report: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M"), "device": describe_device(device),
                              "torch": torch.__version__, "file": args.name or f"{device.type}-gpu"}  # fmt: skip
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        report["tf32_conv"] = torch.backends.cudnn.allow_tf32
    gflops = {p: conv_throughput(device, torch.bfloat16 if p == "bf16" else torch.float32) for p in ("fp32", "bf16")}
    report["conv_gflops"] = gflops
    say(f"conv throughput {gflops}")
    report["per_iteration"] = []
    for graphs in (True, False) if device.type == "cuda" else (False,):
        for precision in ("fp32", "bf16"):
            for size in args.sizes:
                row = per_iteration(device, size, precision, gflops[precision], graphs=graphs)
                report["per_iteration"].append(row)
                say(f"{size} px {precision} graphs={row['graphs']}: {row['ms_per_iteration']:.1f} ms/iteration, "
                    f"{row['ratio_to_floor']:.2f}x")  # fmt: skip
    write(report)
    judge = Judge(get_extractor(), load_image(CONTENT), load_image(STYLE))
    report["default_runs"] = []
    for size in args.default_sizes:
        report["default_runs"].append(default_run(device, judge, size, whole_process=size == 512))
        say(f"default {size}: {report['default_runs'][-1]}")
        write(report)
    if args.t4 and device.type == "cuda":
        report["t4"] = t4_check(device)
        say(f"16 GiB, fp32: {report['t4']}")
        write(report)
    ok = True
    if device.type == "cuda":
        report["oom"] = oom_check(device)
        say(f"oom: {report['oom']}")
        ok = report["oom"]["ok"]
        write(report)
    if args.profile:
        (RESULTS / f"{device.type}-profile.txt").write_text(profile(device))
        say("profile written")
    if args.compile:
        report["compiled"] = compiled(device, gflops["bf16"])
        say(f"compiled: {report['compiled']}")
        write(report)
    print(summary(report))
    return 0 if ok else 1


def write(report: dict[str, Any]) -> None:
    """Results so far (each section adds to them, so a run cut short still leaves its figures)."""
    save(report, report["file"], summary)


def summary(report: dict[str, Any]) -> str:
    gflops = ", ".join(f"{p} {g:.0f}" for p, g in report["conv_gflops"].items())
    lines = [
        f"# GPU check ({report['date']}; {report['device']}; torch {report['torch']})",
        "",
        f"Conv throughput (GFLOP/s): {gflops}.",
    ]
    if report["per_iteration"]:
        lines += [
            "",
            "| size | precision | CUDA graph | ms / iteration | floor ms | ratio | peak MiB |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
    for row in report["per_iteration"]:
        lines.append(
            f"| {row['size']} | {row['precision']} | {'yes' if row.get('graphs') else 'no'} "
            f"| {row['ms_per_iteration']:.1f} | {row['floor_ms']:.1f} | "
            f"{row['ratio_to_floor']:.2f} | {row['peak_mib']:.0f} |"
        )
    for d in report.get("default_runs", []):
        whole = f", {d['whole_process_seconds']:.1f} s whole process" if "whole_process_seconds" in d else ""
        eager = f"{d['eager_in_process_seconds']:.2f} s without graphs"
        lines += [
            "",
            f"Default {d['size']} px ({d['steps']} steps, {d['precision']}, CUDA graphs {d['graphs']}): "
            f"{d['in_process_seconds']:.2f} s in process ({eager}){whole}; "
            f"GPU peak {d['gpu_peak_mib']} MiB; style {d['style']:.4f}, content {d['content']:.3f}.",
        ]
    if "t4" in report:
        t4 = report["t4"]
        runs = "; ".join(
            f"{r['size']} px: painted at {r['painted']}, retries {r['retries'] or 'none'}, "
            f"{r['seconds_3_steps_per_scale']:.2f} s (3 steps per scale), GPU peak {r['gpu_peak_mib']} MiB"
            for r in t4["runs"]
        )
        lines += ["", f"Capped at {t4['cap_gib']:.0f} GiB, fp32 (a T4 host): largest offered {t4['largest']} px "
                  f"({t4['largest_reason']}); {runs}."]  # fmt: skip
    if "oom" in report:
        lines += ["", f"Out of memory: {report['oom']}"]
    if "compiled" in report:
        lines += ["", f"torch.compile (bf16 extractor): {report['compiled']}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
