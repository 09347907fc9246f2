"""``python -m bench.gpu_memory``: a default run's GPU memory per precision and size, and what fits under a cap.

Each row: the default plan (every scale, 3 steps each, no early stop), its peak allocated and peak reserved
memory (the allocator's cap applies to reserved memory), per megapixel of output. Then, with the process capped
(``--cap-gib``, default 16: a T4 host) in fp32 (no native bf16 there), which sizes run and which run out of
memory. Results: ``bench/results/cuda-memory.{json,md}``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import torch

from bench.common import CONTENT, STYLE, save, say
from nst_core import TransferConfig, load_image, stylize
from nst_core.config import Precision
from nst_core.device import cap_memory
from nst_core.images import fit_size


def peak(size: int, precision: Precision, content: Any, style: Any) -> dict[str, Any]:
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated() / 2**20
    row: dict[str, Any] = {"size": size, "precision": precision, "base_mib": round(base)}
    started = time.perf_counter()
    try:
        config = TransferConfig(size=size, steps=3, early_stop=False, device="cuda", precision=precision)
        stylize(content, style, config)
        row["ok"] = True
    except torch.OutOfMemoryError:
        row["ok"] = False
    width, height = fit_size(content.size, size)
    megapixels = width * height / 1e6
    allocated = torch.cuda.max_memory_allocated() / 2**20
    reserved = torch.cuda.max_memory_reserved() / 2**20
    row.update(seconds=round(time.perf_counter() - started, 2), megapixels=round(megapixels, 2),
               peak_allocated_mib=round(allocated), peak_reserved_mib=round(reserved),
               allocated_per_mpx=round((allocated - base) / megapixels),
               reserved_per_mpx=round(reserved / megapixels))  # fmt: skip
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_memory", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 1536, 2048])
    parser.add_argument("--cap-gib", type=float, default=16.0)
    parser.add_argument("--capped-sizes", type=int, nargs="+", default=[1280, 1536, 1792, 2048])
    args = parser.parse_args(argv)
    content, style = load_image(CONTENT), load_image(STYLE)
    report: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M"), "device": torch.cuda.get_device_name(),
                              "torch": torch.__version__, "cap_gib": args.cap_gib,
                              "rows": [], "capped": []}  # fmt: skip

    def write() -> None:
        save(report, "cuda-memory", summary)

    cap_memory(torch.device("cuda"), args.cap_gib)
    for size in args.capped_sizes:
        report["capped"].append(peak(size, "fp32", content, style))
        say(f"capped {args.cap_gib:g} GiB: {report['capped'][-1]}")
        write()
    torch.cuda.set_per_process_memory_fraction(1.0, torch.cuda.current_device())
    precisions: tuple[Precision, ...] = ("bf16", "fp32")
    for precision in precisions:
        for size in args.sizes:
            report["rows"].append(peak(size, precision, content, style))
            say(str(report["rows"][-1]))
            write()
    return 0


def summary(report: dict[str, Any]) -> str:
    lines = [
        f"# GPU memory of a default run ({report['date']}; {report['device']}; torch {report['torch']})",
        "",
        "Default plan, 3 steps per scale, no early stop, CUDA graphs. 'Held before': allocated when the run began.",
        "",
        "| cap | size | precision | ran | s | held before MiB | peak allocated MiB | peak reserved MiB | "
        "allocated beyond held, per megapixel | reserved per megapixel |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    capped = [(f"{report.get('cap_gib', 16):g} GiB", row) for row in report["capped"]]
    for cap, row in [*capped, *(("none", row) for row in report["rows"])]:
        lines.append(
            f"| {cap} | {row['size']} | {row['precision']} | {'yes' if row['ok'] else 'out of memory'} | "
            f"{row['seconds']} | {row['base_mib']} | {row['peak_allocated_mib']} | {row['peak_reserved_mib']} | "
            f"{row['allocated_per_mpx']} | {row['reserved_per_mpx']} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
