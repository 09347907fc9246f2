"""``python -m bench.replicas``: pictures per hour of the cluster's job service with 1 and 2 painter replicas.

Starts a Ray cluster of this machine (``job_service.local_cluster``), deploys the demo's application with N
painters (1 CPU each, kept up), submits K refined pictures at once through ``ClusterService`` (as K page
servers' visitors would) and times the line from the first submission to the last picture collected. The
table in ``bench/results/replicas.md`` gives the pictures per hour and per replica, how close the line's first
told waits came to the real ones, and how many replicas a number of visitors an hour needs, from these
figures and the H200 ones in ``bench/results/cuda-gpu-sizes.md``. Bounded: K pictures, one round, a timeout.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import ray
from ray import serve

from job_service.client import ClusterService
from job_service.cluster import APP_NAME, app
from job_service.local_cluster import ray_head
from job_service.work import PictureWork
from nst_core.config import TransferConfig
from nst_core.images import load_image

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
CONTENT = ROOT / "assets" / "content" / "tubingen.jpg"
STYLE = ROOT / "assets" / "style" / "starry_night.jpg"
H200_SECONDS = 0.34  # a default 512 px picture in process on an H200 (bench/results/cuda-gpu-sizes.md)
UTILISATION = 0.5  # a replica planned half busy, so visitors who come together wait a picture or two at most


def run_line(address: str, replicas: int, pictures: int, size: int, steps: int) -> dict[str, Any]:
    """K pictures through a line of ``replicas`` painters; its makespan and each picture's told and real wait."""
    serve.run(app({"replicas": replicas, "min_replicas": replicas}), name=APP_NAME, route_prefix=None)
    service = ClusterService(address)
    config = TransferConfig(size=size, steps=steps, multiscale=False, early_stop=False, preview_every=0, device="cpu")
    work = PictureWork(load_image(CONTENT), [load_image(STYLE)], config)
    warm = [f"warm-up-{k}" for k in range(replicas)]  # each replica's first picture pays its start; not counted
    for owner in warm:
        service.submit(owner, work)
    for owner in warm:
        while not service.collect(owner):
            time.sleep(0.2)
    start = time.monotonic()
    jobs = [service.submit(f"visitor-{k}", work) for k in range(pictures)]
    told = [service.status(job).wait for job in jobs]
    started: dict[str, float] = {}
    done = 0
    while done < pictures:
        for k, job in enumerate(jobs):
            try:
                status = service.status(job)
            except KeyError:
                continue
            if status.state != "waiting":
                started.setdefault(job, time.monotonic() - start)
            if status.state == "done" and service.collect(f"visitor-{k}"):
                done += 1
        time.sleep(0.1)
    makespan = time.monotonic() - start
    serve.delete(APP_NAME)
    real = [started[job] for job in jobs]
    return {"replicas": replicas, "pictures": pictures, "size": size, "steps": steps, "makespan_s": round(makespan, 2),
            "per_hour": round(3600 * pictures / makespan), "told_waits": [round(t, 1) for t in told],
            "real_waits": [round(r, 1) for r in real]}  # fmt: skip


def replicas_needed(visitors_per_hour: int, seconds_per_picture: float) -> int:
    """Replicas for ``visitors_per_hour`` pictures an hour, each replica planned :data:`UTILISATION` busy."""
    return max(1, math.ceil(visitors_per_hour * seconds_per_picture / (3600 * UTILISATION)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__)
    parser.add_argument("--pictures", type=int, default=8)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args(argv)
    rows = []
    with ray_head(2) as head:
        ray.init(address=head.address, log_to_driver=False, logging_level=logging.WARNING)
        serve.start(proxy_location="Disabled")
        try:
            for replicas in (1, 2):
                rows.append(run_line(head.address, replicas, args.pictures, args.size, args.steps))
        finally:
            ray.shutdown()
    machine = f"{platform.machine()}, 2 cores, a painter replica per core (1 thread each)"
    per_picture = {row["replicas"]: row["makespan_s"] / row["pictures"] * row["replicas"] for row in rows}
    lines = [
        f"# Replicas ({time.strftime('%Y-%m-%d %H:%M')}; {machine})", "",
        f"`python -m bench.replicas --pictures {args.pictures} --size {args.size} --steps {args.steps}`: "
        f"{args.pictures} refined pictures ({args.size} px, {args.steps} steps, fp32 or bf16 as `auto` picks) "
        "submitted at once to the cluster's line.", "",
        "| painter replicas | makespan s | pictures / hour | s per picture per replica | first told waits vs real "
        "(median error) |",
        "| --- | --- | --- | --- | --- |",
    ]  # fmt: skip
    for row in rows:
        errors = [abs(t - r) / r for t, r in zip(row["told_waits"], row["real_waits"], strict=True) if r > 1]
        error = f"{100 * statistics.median(errors):.0f}%" if errors else "n/a"
        lines.append(f"| {row['replicas']} | {row['makespan_s']} | {row['per_hour']} | "
                     f"{per_picture[row['replicas']]:.2f} | {error} |")  # fmt: skip
    scaling = rows[1]["per_hour"] / rows[0]["per_hour"]
    lines += ["", f"Two replicas paint {scaling:.2f}x the pictures an hour of one.", "",
              "Replicas for a number of visitors an hour (one picture each, a replica planned "
              f"{UTILISATION:.0%} busy):",
              "", "| visitors / hour | CPU replicas (a picture as above) | H200 replicas (a default 512 px picture, "
              f"{H200_SECONDS} s) |", "| --- | --- | --- |"]  # fmt: skip
    cpu_seconds = per_picture[1]
    for visitors in (100, 1000, 10000):
        lines.append(f"| {visitors} | {replicas_needed(visitors, cpu_seconds)} (at {cpu_seconds:.1f} s a picture) | "
                     f"{replicas_needed(visitors, H200_SECONDS)} |")  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "replicas.json").write_text(json.dumps(rows, indent=2) + "\n")
    (RESULTS / "replicas.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
