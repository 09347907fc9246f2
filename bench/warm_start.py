"""``python -m bench.warm_start``: a picture from the instant painting against one from the photo, as planned.

Each start runs with its own default plan (``nst_core.config.default_steps``: 15 steps per scale from the
instant painting, 40 from the photo; early stop on), as a whole process of the CLI (start to PNG written), on
the example pairs at 256 px and on the first pair at 512 px; ``--precision fp32`` stands for a CPU without
AMX. Both judges score every picture (``bench/metric.py``): the VGG judge's style and content distances and
the style-vector distance. Writes ``bench/results/warm-start.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import ASSETS, child, machine, save
from bench.instant import PAIRS
from bench.metric import Judge, VectorJudge
from nst_core import load_image
from nst_core.backbone import get_extractor

STARTS = {"photo": "content", "instant": "fast"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.warm_start", description=__doc__)
    parser.add_argument("--precision", default="fp32", help="the CLI's --precision (fp32: a CPU without AMX)")
    parser.add_argument("--pairs", type=int, default=len(PAIRS), help="how many example pairs at 256 px")
    parser.add_argument("--name", default="warm-start", help="results stem")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="nst-warm-"))
    runs = [(pair, 256) for pair in PAIRS[: args.pairs]] + [(PAIRS[0], 512)]
    rows: list[dict[str, Any]] = []
    for (content_name, style_name), size in runs:
        content, style = ASSETS / "content" / content_name, ASSETS / "style" / style_name
        judge = Judge(get_extractor(), load_image(content), load_image(style))
        vector = VectorJudge(load_image(style))
        for start, init in STARTS.items():
            out = tmp / f"{content.stem}-{size}-{start}.png"
            argv_ = [sys.executable, "-m", "nst_core", str(content), str(style), "-o", str(out), "--size", str(size),
                     "--init", init, "--precision", args.precision, "--quiet", "--json"]  # fmt: skip
            seconds, _, stdout = child(argv_)
            record = json.loads(stdout)
            picture = load_image(out)
            distances = judge(picture)
            rows.append({"pair": f"{content_name} + {style_name}", "size": size, "start": start,
                         "steps": record["steps"], "seconds": seconds, "style": distances.style,
                         "content": distances.content, "vector": vector(picture)})  # fmt: skip
            print(rows[-1], file=sys.stderr, flush=True)
    report = {"precision": args.precision, "machine": machine(), "rows": rows}
    save(report, args.name, summary)
    print(summary(report))
    return 0


def summary(report: dict[str, Any]) -> str:
    lines = [f"# Warm start: each start with its own default plan ({report['precision']}; whole process, CLI)", "",
             f"Command: `python -m bench.warm_start` on {report.get('machine', 'a 2-core CPU')}. "
             "VGG judge: style and content distances; vector judge: the "
             "style-vector distance (lower is better for all three).", "",
             "| pair | size | start | steps | seconds | style | content | vector |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for row in report["rows"]:
        lines.append(f"| {row['pair']} | {row['size']} | {row['start']} | {row['steps']} | {row['seconds']:.1f} | "
                     f"{row['style']:.4f} | {row['content']:.3f} | {row['vector']:.3f} |")  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
