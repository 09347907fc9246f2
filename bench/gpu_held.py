"""``python -m bench.gpu_held``: the GPU memory a process holds between runs, run after run.

Ten default runs (3 steps per scale, no early stop) of changing sizes in one process, as a page serving
visitors makes them; after each, the memory still allocated (models, cuBLAS workspaces, ...), with the
allocator's cache emptied. ``--stream-per-warm-up`` brings back the old warm-up, a new side stream for every
scale of every run, to compare. Results: ``bench/results/cuda-held[-NAME].{json,md}``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import torch

from bench.common import CONTENT, STYLE, save, say
from nst_core import TransferConfig, graphs, load_image, stylize

SIZES = [512, 768, 1024, 640, 896, 512, 768, 1024, 640, 896]


def held_mib() -> float:
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    return torch.cuda.memory_allocated() / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_held", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    parser.add_argument("--stream-per-warm-up", action="store_true", help="the old warm-up: a new stream each time")
    parser.add_argument("--name", default="", help="results file suffix")
    args = parser.parse_args(argv)
    if args.stream_per_warm_up:
        graphs.side_stream = lambda device: torch.cuda.Stream(device)  # type: ignore[no-untyped-call]
    content, style = load_image(CONTENT), load_image(STYLE)
    warm_up = "a new stream per scale" if args.stream_per_warm_up else "one side stream"
    report: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M"), "device": torch.cuda.get_device_name(),
                              "torch": torch.__version__, "warm_up": warm_up, "rows": []}  # fmt: skip
    stem = "cuda-held" + (f"-{args.name}" if args.name else "")
    for run, size in enumerate(args.sizes, 1):
        started = time.perf_counter()
        stylize(content, style, TransferConfig(size=size, steps=3, early_stop=False, device="cuda"))
        row = {"run": run, "size": size, "seconds": round(time.perf_counter() - started, 2),
               "held_mib": round(held_mib())}  # fmt: skip
        report["rows"].append(row)
        say(str(row))
    print(save(report, stem, summary))
    return 0


def summary(report: dict[str, Any]) -> str:
    rows = report["rows"]
    lines = [f"# GPU memory held between runs ({report['date']}; {report['device']}; torch {report['torch']})", "",
             f"Warm-up: {report['warm_up']}. Allocated after each run, the allocator's cache emptied.", "",
             "| run | size | s | held MiB |", "| --- | --- | --- | --- |",
             *(f"| {r['run']} | {r['size']} | {r['seconds']} | {r['held_mib']} |" for r in rows), "",
             f"Growth from the first run to the last: {rows[-1]['held_mib'] - rows[0]['held_mib']} MiB."]  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
