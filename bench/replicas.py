"""``python -m bench.replicas``: pictures per minute of the cluster's job service with 1 and 2 painter replicas,
beside the embedded scheduler, at 128 and 256 px.

K refined pictures are submitted at once (as K visitors would) to the embedded scheduler of one server, then
to a Ray cluster of this machine (``job_service.local_cluster``) with the demo's application deployed with 1
and 2 painters of one CPU each, through ``ClusterService``; each line is timed from the first submission to
the last picture collected. ``bench/results/replicas.md`` gives pictures per minute, how close the first
told waits came to the real ones, and the paper plan for N GPUs from the H200 figures in
``bench/results/cuda-gpu-sizes.md``. Bounded: K pictures per line, one round each.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

import ray
from ray import serve

from bench.common import CONTENT, RESULTS, STYLE, machine
from job_service.client import ClusterService
from job_service.cluster import APP_NAME, app
from job_service.jobs import look_after
from job_service.local_cluster import ray_head
from job_service.work import PictureWork
from nst_core.config import TransferConfig
from nst_core.images import load_image

H200_SECONDS = 0.34  # a default 512 px picture in process on an H200 (bench/results/cuda-gpu-sizes.md)
UTILISATION = 0.5  # a replica planned half busy, so visitors who come together wait a picture or two at most


def timed_line(service: Any, pictures: int, work: Callable[[], PictureWork], warm: int) -> dict[str, Any]:
    """K pictures through a job service at once, after ``warm`` pictures that pay each slot's start; the makespan
    and each picture's told and real wait. Every job gets a work of its own from ``work``: a work keeps its run's
    latest step, and one shared by every job told those behind the first that it had none left to do (median
    error 92% of the told waits in the embedded line, 2026-12-01).

    Each job is looked at as a page looks at its visitor's (``look_after``): looked at every 50 ms, eight waiting
    jobs cost a painter of one CPU a third of its pace on the cluster, and the waits told (planned at its pace
    alone) came out 20-47% short. A job's real wait is taken from the first look that finds it begun, less the
    time it has held its slot by then, so it does not depend on how often it is looked at.
    """
    warmers = [f"warm-up-{k}" for k in range(warm)]
    for owner in warmers:
        service.submit(owner, work())
    for owner in warmers:
        while not service.collect(owner):
            time.sleep(0.2)
    start = time.monotonic()
    jobs = [service.submit(f"visitor-{k}", work()) for k in range(pictures)]
    told = [service.status(job).wait for job in jobs]
    started: dict[str, float] = {}
    looks = dict.fromkeys(jobs, 0.0)  # when each job not yet collected is looked at next
    while looks:
        for k, job in enumerate(jobs):
            now = time.monotonic()
            if job not in looks or now < looks[job]:
                continue
            status = service.status(job)
            if status.state != "waiting":
                started.setdefault(job, now - start - status.used)
            looks[job] = now + look_after(status.state, status.wait)
            if status.state == "done" and service.collect(f"visitor-{k}"):
                del looks[job]
        time.sleep(0.02)
    makespan = time.monotonic() - start
    real = [round(max(0.0, started[job]), 1) for job in jobs]
    return {"pictures": pictures, "makespan_s": round(makespan, 2), "per_minute": round(60 * pictures / makespan, 1),
            "told_waits": [round(t, 1) for t in told], "real_waits": real}  # fmt: skip


def picture_work(size: int, steps: int) -> PictureWork:
    config = TransferConfig(size=size, steps=steps, multiscale=False, early_stop=False, preview_every=0, device="cpu")
    return PictureWork(load_image(CONTENT), [load_image(STYLE)], config)


def embedded(pictures: int, size: int, steps: int) -> dict[str, Any]:
    """The same pictures through the embedded scheduler of one server (all cores to one run at a time)."""
    import torch

    from job_service.capacity import measure
    from job_service.pace import Pace
    from job_service.scheduler import Scheduler
    from nst_core.backbone import get_extractor

    torch.set_num_threads(2)
    pace = Pace.for_device("cpu")
    measured = measure(get_extractor("original", "vgg19", "cpu"), torch.device("cpu"))
    pace.take_step(measured.seconds_per_megapixel_step, measured.overhead_seconds)
    row = timed_line(Scheduler(pace, slots=1), pictures, lambda: picture_work(size, steps), 1)
    return {"backend": "embedded (1 slot, 2 threads)", "size": size, "steps": steps, **row}


def on_cluster(address: str, replicas: int, pictures: int, size: int, steps: int) -> dict[str, Any]:
    """The same pictures through the cluster's line with ``replicas`` painters of one CPU each."""
    serve.run(app({"replicas": replicas, "min_replicas": replicas}), name=APP_NAME, route_prefix=None)
    row = timed_line(ClusterService(address), pictures, lambda: picture_work(size, steps), replicas)
    serve.delete(APP_NAME)
    return {"backend": f"Ray Serve, {replicas} replica{'s' if replicas > 1 else ''} (1 CPU each)", "size": size,
            "steps": steps, **row}  # fmt: skip


def replicas_needed(visitors_per_hour: int, seconds_per_picture: float) -> int:
    """Replicas for ``visitors_per_hour`` pictures an hour, each replica planned :data:`UTILISATION` busy."""
    return max(1, math.ceil(visitors_per_hour * seconds_per_picture / (3600 * UTILISATION)))


def median_error(row: dict[str, Any]) -> str:
    errors = [abs(t - r) / r for t, r in zip(row["told_waits"], row["real_waits"], strict=True) if r > 1]
    return f"{100 * statistics.median(errors):.0f}%" if errors else "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__)
    parser.add_argument("--pictures", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args(argv)
    sizes = (128, 256)
    rows = [embedded(args.pictures, size, args.steps) for size in sizes]
    with ray_head(2) as head:
        ray.init(address=head.address, log_to_driver=False, logging_level=logging.WARNING)
        serve.start(proxy_location="Disabled")
        try:
            rows += [on_cluster(head.address, n, args.pictures, size, args.steps) for size in sizes for n in (1, 2)]
        finally:
            ray.shutdown()
    rows.sort(key=lambda row: (row["size"], row["backend"]))
    lines = [
        f"# Replicas ({time.strftime('%Y-%m-%d %H:%M')}; {machine()}; `auto` precision)", "",
        f"`python -m bench.replicas --pictures {args.pictures} --steps {args.steps}`: {args.pictures} refined "
        f"pictures ({args.steps} steps from the photo, one scale) submitted at once, after one picture "
        "per slot to warm it.", "",
        "| size | backend | makespan s | pictures / minute | first told waits vs real (median error) |",
        "| --- | --- | --- | --- | --- |",
    ]  # fmt: skip
    for row in rows:
        lines.append(f"| {row['size']} | {row['backend']} | {row['makespan_s']} | {row['per_minute']} | "
                     f"{median_error(row)} |")  # fmt: skip
    lines += ["", "The paper plan: a replica planned half busy paints `1800 / s` pictures an hour (`s`: one "
              "picture's seconds on it), so N replicas serve N times that while the line is the cluster's only "
              f"shared part. A default 512 px picture takes {H200_SECONDS} s in process on an H200 "
              "(`cuda-gpu-sizes.md`):", "", "| visitors / hour | H200 replicas | CPU replicas (256 px, as above, "
              "1 CPU each) |", "| --- | --- | --- |"]  # fmt: skip
    cpu = next(row for row in rows if row["size"] == 256 and "1 replica" in row["backend"])
    cpu_seconds = cpu["makespan_s"] / cpu["pictures"]
    for visitors in (100, 1000, 10000, 100000):
        lines.append(f"| {visitors} | {replicas_needed(visitors, H200_SECONDS)} | "
                     f"{replicas_needed(visitors, cpu_seconds)} |")  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "replicas.json").write_text(json.dumps(rows, indent=2) + "\n")
    (RESULTS / "replicas.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
