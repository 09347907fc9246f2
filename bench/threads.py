"""``python -m bench.threads``: how much what runs beside a job slows it, by the threads' waiting policy.

A job of the page (8 L-BFGS steps at 256 px, the model loaded) is timed alone and beside the neighbours a
server has: another visitor's instant pictures painted in a loop in the same process, and a CPU-bound process
(a clip being encoded, another server). Each case runs in a fresh process, since OpenMP reads its waiting policy
when torch is loaded: ``OMP_WAIT_POLICY`` unset (threads spin while they wait, the default) and ``PASSIVE`` (they
sleep; the job service sets it); the instant network's threads never spin (``nst_core.instant``). Medians of
``--repeats`` runs; writes ``bench/results/threads.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from nst_core.cpu import usable_cores

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

CHILD = r"""
import os, statistics, sys, threading, time
import torch
from PIL import Image
from nst_core.backbone import get_extractor
from nst_core.config import TransferConfig
from nst_core.instant import InstantNetwork
from nst_core.transfer import stylize
neighbour, repeats, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
content = Image.open("assets/content/tubingen.jpg").convert("RGB")
style = Image.open("assets/style/starry_night.jpg").convert("RGB")
extractor = get_extractor("original", "vgg19", "cpu")
config = TransferConfig(size=256, steps=8, early_stop=False, device="cpu", precision="fp32")
stylize(content, style, config.replace(steps=1), extractor=extractor)
stop = threading.Event()
if neighbour == "instant":
    network = InstantNetwork()
    def paint():
        while not stop.is_set():
            network.paint(content.resize((256, 192)), network.style_vector(style))
            time.sleep(0.5)  # a visitor's instant picture every half second
    threading.Thread(target=paint, daemon=True).start()
times = []
for _ in range(repeats):
    started = time.perf_counter()
    stylize(content, style, config, extractor=extractor)
    times.append(time.perf_counter() - started)
stop.set()
print(statistics.median(times))
"""


def run(policy: str, neighbour: str, repeats: int, threads: int) -> float:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy == "passive":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    busy = None
    if neighbour == "process":
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)
    try:
        out = subprocess.run([sys.executable, "-c", CHILD, neighbour, str(repeats), str(threads)], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    return float(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.threads", description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rows = []
    cores = usable_cores()
    for policy, threads in (("spinning", cores), ("passive", cores), ("passive", max(1, cores // 2))):
        alone = run(policy, "none", args.repeats, threads)
        for neighbour in ("none", "instant", "process"):
            seconds = alone if neighbour == "none" else run(policy, neighbour, args.repeats, threads)
            rows.append({"policy": policy, "threads": threads, "neighbour": neighbour, "seconds": round(seconds, 2),
                         "slowdown": round(seconds / alone, 2)})  # fmt: skip
            print(rows[-1], file=sys.stderr, flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "threads.json").write_text(json.dumps(rows, indent=2))
    lines = ["# Threads beside a job: 8 L-BFGS steps at 256 px, fp32, medians", "",
             f"Command: `python -m bench.threads --repeats {args.repeats}` on {cores} cores", "",
             "| waiting policy | threads | beside | seconds | slower by |",
             "| --- | --- | --- | --- | --- |"]  # fmt: skip
    lines += [
        f"| {r['policy']} | {r['threads']} | {r['neighbour']} | {r['seconds']} | {r['slowdown']}x |" for r in rows
    ]
    (RESULTS / "threads.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
