"""``python -m bench.warm_curve``: how far a refinement from the instant painting gets, by steps and content
weight, against the default run from the photo, on the same pictures by both judges.

Each run is in process (the networks loaded once, as on the page), fp32, 256 px (one scale, as by default at that
size). Run it under ``ONEDNN_MAX_CPU_ISA=AVX2`` to stand in for a CPU with AVX2 only (the hosted free tier's AMD
EPYC): oneDNN's convolutions then use 256-bit vectors, as there. Writes ``bench/results/warm-curve.{json,md}``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from bench.common import ASSETS, save
from bench.instant import PAIRS
from bench.metric import Judge, VectorJudge
from nst_core import load_image
from nst_core.backbone import get_extractor
from nst_core.config import PHOTO_START_STEPS, WARM_START_STEPS, TransferConfig
from nst_core.transfer import stylize

# (start, steps per scale, content weight, early stop): today's two defaults first.
PLANS = [
    ("photo", PHOTO_START_STEPS, 1.0, True),
    ("instant", WARM_START_STEPS, 1.0, True),
    ("instant", WARM_START_STEPS, 1.5, True),
    ("instant", WARM_START_STEPS, 2.0, True),
    ("instant", WARM_START_STEPS, 3.0, True),
    ("instant", 2 * WARM_START_STEPS, 1.0, False),
    ("instant", 2 * WARM_START_STEPS, 1.5, False),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.warm_curve", description=__doc__)
    parser.add_argument("--pairs", type=int, default=4, help="how many example pairs")
    parser.add_argument("--size", type=int, default=256, help="longest side, px")
    parser.add_argument("--name", default="warm-curve", help="results stem")
    args = parser.parse_args(argv)
    base = TransferConfig(size=args.size, precision="fp32", device="cpu", preview_every=0)
    rows: list[dict[str, Any]] = []
    for content_name, style_name in PAIRS[: args.pairs]:
        content, style = load_image(ASSETS / "content" / content_name), load_image(ASSETS / "style" / style_name)
        judge, vector = Judge(get_extractor(), content, style), VectorJudge(style)
        for start, steps, content_weight, early_stop in PLANS:
            config = base.replace(init="content" if start == "photo" else "fast", steps=steps,
                                  content_weight=content_weight, early_stop=early_stop)  # fmt: skip
            began = time.perf_counter()
            result = stylize(content, style, config)
            seconds = time.perf_counter() - began
            distances = judge(result.image)
            rows.append({"pair": f"{content_name} + {style_name}", "start": start, "steps": steps,
                         "content_weight": content_weight, "early_stop": early_stop, "seconds": seconds,
                         "style": distances.style, "content": distances.content,
                         "vector": vector(result.image)})  # fmt: skip
            print(rows[-1], file=sys.stderr, flush=True)
    report = {"size": args.size, "isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "the CPU's own"), "rows": rows}
    print(save(report, args.name, summary))
    return 0


def summary(report: dict[str, Any]) -> str:
    lines = [f"# Refinement from the instant painting, by steps and content weight ({report['size']} px, fp32, "
             f"oneDNN ISA: {report['isa']}; in process)", "",
             "Command: `ONEDNN_MAX_CPU_ISA=AVX2 python -m bench.warm_curve` on 2 cores. VGG judge: style and "
             "content distances; vector judge: the style-vector distance (lower is better for all three). "
             "Each distance is also given against the run from the photo (the first row of its pair).", "",
             "| pair | start | steps | content weight | early stop | seconds | style | content | vector |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    reference: dict[str, dict[str, Any]] = {}
    for row in report["rows"]:
        ref = reference.setdefault(row["pair"], row)

        def versus(key: str, row: dict[str, Any] = row, ref: dict[str, Any] = ref) -> str:
            return f"{row[key]:.4f} ({row[key] / ref[key] - 1:+.0%})" if row is not ref else f"{row[key]:.4f}"

        lines.append(f"| {row['pair']} | {row['start']} | {row['steps']} | {row['content_weight']:g} | "
                     f"{'yes' if row['early_stop'] else 'no'} | {row['seconds']:.1f} | {versus('style')} | "
                     f"{versus('content')} | {versus('vector')} |")  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
