"""The largest picture a server offers, from its device's measured pace and free memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import job_service.capacity as capacity_module
from job_service.capacity import CPU_PACE_PER_CORE, SIZE_STEP, Capacity, largest_size, measure, measure_instant
from job_service.pace import Pace
from nst_core.config import MIN_SIZE, TransferConfig
from nst_core.schedule import megapixel_steps
from tests.conftest import calls_of


def capacity(pace: float, free: float | None = None) -> Capacity:
    return Capacity(seconds_per_megapixel_step=pace, free_mib=free, mib_per_megapixel=2600, device_words="this CPU")


def planned(size: int, pace: float) -> float:
    return pace * megapixel_steps(TransferConfig(size=size, steps=40), (size, size * 3 // 4))


def test_a_slow_device_is_bounded_by_the_time_budget_and_says_so():
    size, reason = largest_size(capacity(pace=14.0), max_seconds=180, steps=40)
    # The largest multiple of the slider's step whose default run is planned within the budget.
    assert size % SIZE_STEP == 0 and planned(size, 14.0) <= 180 < planned(size + SIZE_STEP, 14.0)
    assert 512 <= size < 768  # measured pace of a 2-core CPU in fp32: about 14 s per megapixel-step
    assert reason == "larger ones would take this CPU over 180 s, its limit per run"
    faster, _ = largest_size(capacity(pace=4.0), max_seconds=180, steps=40)
    assert faster > size


def test_memory_bounds_a_fast_device_and_an_unknown_free_memory_does_not():
    size, reason = largest_size(capacity(pace=0.01, free=4000), max_seconds=60, steps=40)
    assert 2600 * size * (size * 3 // 4) / 1e6 <= 0.75 * 4000 and "memory" in reason
    unbounded, why = largest_size(capacity(pace=0.01), max_seconds=60, steps=40, ceiling=2048)
    assert unbounded == 2048 and why == "the most this app paints"


def test_a_device_too_slow_for_anything_still_offers_the_smallest_size():
    assert largest_size(capacity(pace=1e6), max_seconds=1, steps=40)[0] == MIN_SIZE


def test_measuring_this_cpu(extractor):
    measured = measure(extractor, torch.device("cpu"))
    assert 0 < measured.seconds_per_megapixel_step < 1000
    assert measured.free_mib is not None and measured.free_mib > 100  # Linux says (/proc/meminfo)
    assert measured.device_words.startswith("this server's CPU")


def test_the_probe_measures_what_a_small_step_costs_besides_its_pixels(extractor):
    """A step costs more than its pixels on a small picture (``Pace.overhead``). Guessed at 0.04 s, it planned a
    96 px step of 0.024-0.075 s 20-60% long on a 2-core EPYC (fp32 and bf16), and the first job on a server, planned
    from the probe alone, was told 5 s left for 3.1 s (python -m bench.load). The probe measures it at a small size
    too; the two predict a real step at 64 px (where the overhead is most of a step on a fast CPU)."""
    from nst_core.transfer import stylize
    from tests.conftest import CONTENT, STYLE, small

    measured = measure(extractor, torch.device("cpu"))
    pace = Pace.for_device("cpu")
    pace.take_step(measured.seconds_per_megapixel_step, measured.overhead_seconds)
    config = TransferConfig(size=64, steps=12, early_stop=False, preview_every=0, device="cpu", precision="fp32")
    result = stylize(small(CONTENT, 128), [small(STYLE, 128)], config, extractor=extractor)
    steps = [point for point in result.history if point.step >= 2]  # the first step warms up
    real = (steps[-1].elapsed - steps[0].elapsed) / (steps[-1].step - steps[0].step)
    assert 0.75 * real < pace.step_seconds(result.image.size) < 1.3 * real, (real, measured)


def test_measured_once_the_pace_is_probed_once_and_the_memory_read_each_time(extractor, monkeypatch):
    cpu = torch.device("cpu")
    first = capacity_module.measure_once(extractor, cpu)
    probes = calls_of(monkeypatch, capacity_module, "_probe_seconds")
    reads = calls_of(monkeypatch, capacity_module, "free_mib")
    again = capacity_module.measure_once(extractor, cpu)
    assert again.seconds_per_megapixel_step == first.seconds_per_megapixel_step and probes == [] and len(reads) == 1
    measure(extractor, cpu)  # measuring, as the tests and benches do, always probes (at both sizes)
    assert len(probes) == 2


def test_the_instant_networks_measured_pace_plans_a_clips_frames_as_they_take():
    """The first waits are planned before any job taught the service: an instant clip planned at the starting
    guess (3 s per megapixel a frame) told those behind it 40% too long on a 2-core host (bench.load)."""
    import time

    from nst_core.video import FramePainter

    measured = measure_instant()
    pace = Pace.for_device("cpu")
    guessed = pace.frame
    pace.take_instant(measured)
    assert pace.instant == measured.seconds_per_megapixel > 0
    assert pace.frame == measured.frame_seconds_per_megapixel > 0
    # Frames of another size than the probe's (a phone clip, upright), painted as a clip paints them.
    config, size = TransferConfig(init="fast", steps=0), (288, 512)
    gradient = np.linspace(0, 255, size[0] * size[1] * 3).reshape(size[1], size[0], 3).astype(np.uint8)
    frames = [Image.fromarray(np.roll(gradient, 3 * shift, axis=1)) for shift in range(5)]
    painter = FramePainter([frames[0].rotate(90)], config, "flow")
    painter(frames[0], None)
    started = time.perf_counter()
    for frame in frames[1:]:
        painter(frame, None)
    real = (time.perf_counter() - started) / (len(frames) - 1)
    planned = pace.frame_seconds(config, size)
    assert real / 2.5 < planned < 1.5 * real  # measured: 0.14-0.16 s planned, 0.18 s real
    assert guessed / measured.frame_seconds_per_megapixel > 1.5  # the guess would have planned it too slow


def test_a_16_gib_gpu_in_fp32_is_offered_no_more_than_ran_there():
    """Measured on a GPU capped at 16 GiB in fp32 (tests/test_cuda.py, bench.gpu --t4): 2208 px ran; 2688 px, which one
    figure for every precision offered, ran out of memory. bf16 needs less, so it is offered more."""
    from job_service.capacity import MIB_PER_MEGAPIXEL

    def offered(dtype: torch.dtype) -> int:
        figure = MIB_PER_MEGAPIXEL[("cuda", dtype)]
        gpu = Capacity(seconds_per_megapixel_step=1e-4, free_mib=16 * 1024 - 100, mib_per_megapixel=figure,
                       device_words="this server's GPU")  # fmt: skip
        return largest_size(gpu, max_seconds=60, steps=40, ceiling=4096)[0]

    assert 2048 <= offered(torch.float32) <= 2208
    assert offered(torch.bfloat16) > offered(torch.float32)


@pytest.mark.slow
def test_the_largest_size_does_not_depend_on_a_busy_neighbour_at_start_up(extractor):
    """Two starts, one beside a CPU-bound process: the same largest size (one start under load offered 160 px,
    another 288 px an hour later); and a 2-core CPU offers at least 256 px."""
    import subprocess
    import sys

    def offered() -> int:
        return largest_size(measure(extractor, torch.device("cpu")), max_seconds=180, steps=40)[0]

    quiet = offered()
    neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        busy = offered()
    finally:
        neighbour.kill()
        neighbour.wait()
    assert busy == quiet
    two_cores = Capacity(seconds_per_megapixel_step=1e3, free_mib=None, mib_per_megapixel=2600,
                         device_words="this CPU", planning_pace=CPU_PACE_PER_CORE[torch.float32] / 2)  # fmt: skip
    assert largest_size(two_cores, max_seconds=180, steps=40)[0] >= 256
