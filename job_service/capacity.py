"""The largest picture this server offers, from what its device measured rather than one number for every host.

Two bounds, the smaller wins (and ``NST_MAX_SIZE``, when an operator sets it, wins over both):

- speed: the default run (its steps at every scale) at that size, planned at the pace measured on this
  device at start-up, fits the per-run time budget;
- memory: a run's memory (so much per megapixel of output, measured by ``python -m bench.sizes`` and
  ``python -m bench.gpu``) fits in the memory free now, with a quarter kept back.

The page says which bound set the limit, in a sentence.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from nst_core.backbone import FeatureExtractor
from nst_core.config import CONTENT_LAYER, HARD_MAX_SIZE, MIN_SIZE, STYLE_LAYERS, TransferConfig
from nst_core.cpu import usable_cores
from nst_core.schedule import megapixel_steps

from .pace import instant_megapixels

SIZE_STEP = 32  # px; the size slider's step
PHOTO_SHAPE = (4, 3)  # the aspect a limit is planned for (most photos)
HEADROOM = 0.75  # share of the free memory a run may plan to use
# Memory a run needs per megapixel of output (MiB), by device and the convolutions' precision, rounded up from
# measurements: the CPU's by `python -m bench.sizes` (peak RSS, fp32, also used for bf16), CUDA's by
# `python -m bench.gpu_memory` (fp32 under a 16 GiB cap, as on a T4; bf16 uncapped). Figures: docs/design.md,
# "Large pictures".
MIB_PER_MEGAPIXEL = {("cpu", torch.float32): 2600.0, ("cpu", torch.bfloat16): 2600.0,
                     ("cuda", torch.float32): 3300.0, ("cuda", torch.bfloat16): 1700.0}  # fmt: skip
DEFAULT_MIB_PER_MEGAPIXEL = 3300.0  # any other device or precision (MPS): the largest figure measured
PROBE_SIZE = (256, 192)
# A step's cost besides its pixels (``Pace.overhead``) is the same probe at this size less what its pixels cost at
# the large probe's pace: the two predicted a real step at 64-128 px to within 5% on a 2-core EPYC (fp32 and bf16,
# 1 and 2 threads), where a guessed 0.04 s planned a 96 px step of 0.024-0.075 s 20-60% long (docs/design.md).
SMALL_PROBE_SIZE = (64, 48)
PROBES = 3  # timed probes, the best one kept
# s per megapixel-step of one core, by the convolutions' precision, rounded up from `python -m bench.sizes` on 2-core
# AMD EPYC (fp32, AVX2) and Intel Xeon with AMX (bf16): the largest size a CPU offers is planned at these. (A 2-core
# AMD EPYC with AVX512-BF16 probed 6 per core in bf16, 2026-12-02: within its figure.)
CPU_PACE_PER_CORE = {torch.float32: 28.0, torch.bfloat16: 10.0}
PROBE_TO_STEP = 1.1  # a real step's cost over the probe's (an optimiser step also scores and keeps the best picture)


@dataclass(frozen=True)
class InstantCapacity:
    """What the instant network measured: s per megapixel it paints, alone and as an instant clip's frame."""

    seconds_per_megapixel: float  # the instant picture (the style vectors, the painting at its working size)
    frame_seconds_per_megapixel: float  # a clip's frame: its instant picture, the optical flow both ways, the warp


@dataclass(frozen=True)
class Capacity:
    """What this device measured: its pace and the memory a run could still take."""

    seconds_per_megapixel_step: float  # measured now, the best of several probes (the first plan of the waits)
    free_mib: float | None  # None: not known on this platform (no memory bound then)
    mib_per_megapixel: float
    device_words: str  # "this server's CPU (2 cores)", "this server's GPU"
    planning_pace: float | None = None  # s per megapixel-step the largest size is planned at; None: the measured
    # s a step costs besides its pixels, measured with the pace (SMALL_PROBE_SIZE) on a CPU; None on a GPU, whose
    # steps replay CUDA graphs where the probe launches every kernel (its small probe measures the launches)
    overhead_seconds: float | None = None

    @property
    def size_pace(self) -> float:
        return self.planning_pace or self.seconds_per_megapixel_step


def largest_size(capacity: Capacity, max_seconds: float, steps: int, ceiling: int = HARD_MAX_SIZE) -> tuple[int, str]:
    """The largest size (a multiple of :data:`SIZE_STEP`, at least ``MIN_SIZE``) within both bounds and
    ``ceiling``, and a sentence saying what set it."""
    size, reason = MIN_SIZE, ""
    for candidate in range(MIN_SIZE, ceiling + 1, SIZE_STEP):
        config = TransferConfig(size=candidate, steps=steps)
        shape = (candidate, round(candidate * PHOTO_SHAPE[1] / PHOTO_SHAPE[0]))
        seconds = capacity.size_pace * megapixel_steps(config, shape)
        if seconds > max_seconds:
            reason = f"larger ones would take {capacity.device_words} over {max_seconds:g} s, its limit per run"
            break
        need = capacity.mib_per_megapixel * shape[0] * shape[1] / 1e6
        if capacity.free_mib is not None and need > HEADROOM * capacity.free_mib:
            reason = f"larger ones would not fit in the memory {capacity.device_words} has free"
            break
        size = candidate
    return size, reason or "the most this app paints"


def measure(extractor: FeatureExtractor, device: torch.device, cap_gib: float = 0.0) -> Capacity:
    """This device's pace now and the memory free now; on a CPU, also the pace its largest size is planned at.

    The probe is one optimisation step's work (forward and backward through the style layers) at 256x192 px,
    after one warm-up, the best of :data:`PROBES`; it plans the first waits, and real runs then teach the job
    service the pace of the moment. On a CPU the largest size offered is not planned at it: a neighbour busy at
    the moment the server starts (two virtual cores are often one physical core) slowed the probe by up to half
    and the server offered less for its whole life. It is planned at :data:`CPU_PACE_PER_CORE` shared by the
    cores, so every start on the same host offers the same size.
    """
    return _capacity(extractor, device, cap_gib, _probe_both(extractor, device))


def measure_once(extractor: FeatureExtractor, device: torch.device, cap_gib: float = 0.0) -> Capacity:
    """:func:`measure` with the pace probed once per process for each network, device and thread count (a few
    seconds on a CPU), as :func:`measure_instant` is: a server's runtime built again (its caches cleared) plans
    from the same first figures, which real runs then correct. The memory free is read every time."""
    return _capacity(extractor, device, cap_gib, _probe_once(extractor, device, torch.get_num_threads()))


def _capacity(
    extractor: FeatureExtractor, device: torch.device, cap_gib: float, seconds: tuple[float, float]
) -> Capacity:
    large, small = seconds
    pace = PROBE_TO_STEP * large / _megapixels(PROBE_SIZE)
    return Capacity(
        seconds_per_megapixel_step=pace,
        overhead_seconds=max(0.0, PROBE_TO_STEP * small - pace * _megapixels(SMALL_PROBE_SIZE))
        if device.type == "cpu"
        else None,
        free_mib=free_mib(device, cap_gib),
        mib_per_megapixel=MIB_PER_MEGAPIXEL.get((device.type, extractor.dtype), DEFAULT_MIB_PER_MEGAPIXEL),
        device_words="this server's GPU" if device.type == "cuda" else f"this server's {describe(device)}",
        planning_pace=CPU_PACE_PER_CORE[extractor.dtype] / torch.get_num_threads() if device.type == "cpu" else None,
    )


def _megapixels(size: tuple[int, int]) -> float:
    return size[0] * size[1] / 1e6


def _probe_both(extractor: FeatureExtractor, device: torch.device) -> tuple[float, float]:
    """The probe's seconds at :data:`PROBE_SIZE` and at :data:`SMALL_PROBE_SIZE`."""
    return _probe_seconds(extractor, device), _probe_seconds(extractor, device, SMALL_PROBE_SIZE)


def _probe_seconds(extractor: FeatureExtractor, device: torch.device, size: tuple[int, int] = PROBE_SIZE) -> float:
    """One optimisation step's work at ``size``, s: the best of :data:`PROBES` after a warm-up."""
    layers = [CONTENT_LAYER, *STYLE_LAYERS]
    # Drawn on the CPU, as the core draws its noise: the GPU's own random generator is left alone.
    image = torch.rand(1, 3, size[1], size[0]).to(device).requires_grad_(True)
    timings = []
    for _ in range(PROBES + 1):
        started = time.perf_counter()
        features = extractor(image, layers)
        probe: torch.Tensor = torch.stack([feature.float().pow(2).mean() for feature in features.values()]).sum()
        torch.autograd.backward(probe)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        timings.append(time.perf_counter() - started)
    return min(timings[1:])  # the first is the warm-up


@functools.cache
def _probe_once(extractor: FeatureExtractor, device: torch.device, threads: int) -> tuple[float, float]:
    return _probe_both(extractor, device)


@functools.cache
def measure_instant(threads: int | None = None) -> InstantCapacity:
    """The instant network's pace, alone and as an instant clip's frame, the best of :data:`PROBES` after one
    warm-up each, at :data:`PROBE_SIZE` on made-up pictures (the pace barely depends on what is painted);
    measured once per process and thread count (about a second; real jobs then teach the pace of the moment).

    Until the first real job, the waits are planned from these: a clip planned at a guess three times too slow
    told everyone behind it waits 40% too long (``python -m bench.load``).

    Raises:
        WeightsError: the network's files are missing or altered.
    """
    from nst_core.instant import get_network, instant_picture
    from nst_core.video import FramePainter

    network = get_network(threads)
    frames = [_probe_picture(shift) for shift in range(PROBES + 2)]
    style = _probe_picture(0).transpose(Image.Transpose.ROTATE_180)
    config = TransferConfig(init="fast", steps=0)
    megapixels = instant_megapixels(PROBE_SIZE)

    def best(paint: Callable[[Image.Image], object]) -> float:
        timings = []
        for frame in frames[: PROBES + 1]:
            started = time.perf_counter()
            paint(frame)
            timings.append(time.perf_counter() - started)
        return min(timings[1:]) / megapixels

    instant = best(lambda frame: instant_picture(network, frame, [style], config, PROBE_SIZE))
    painter = FramePainter([style], config, "flow")
    painter(frames[-1], None)  # a clip's first frame has no flow: the probe times the frames after it
    frame = best(lambda image: painter(image, None))
    return InstantCapacity(seconds_per_megapixel=instant, frame_seconds_per_megapixel=frame)


def _probe_picture(shift: int) -> Image.Image:
    """A smooth made-up scene of :data:`PROBE_SIZE`, moved ``shift`` px sideways (the flow has something to find)."""
    width, height = PROBE_SIZE
    x = np.arange(width, dtype=np.float32)[None, :] + 2 * shift
    y = np.arange(height, dtype=np.float32)[:, None]
    channels = [np.sin(x / 9) * np.cos(y / 13), np.sin((x + y) / 17), np.cos(x / 23 - y / 7)]
    array = np.stack([np.broadcast_to(channel, (height, width)) for channel in channels], axis=-1)
    return Image.fromarray(np.round(127.5 + 127.5 * array).astype(np.uint8))


def free_mib(device: torch.device, cap_gib: float = 0.0) -> float | None:
    """Memory free now for a run on ``device``, MiB; None where the platform does not say."""
    if device.type == "cuda":
        free = torch.cuda.mem_get_info(device)[0] / 2**20
        if cap_gib:
            free = min(free, cap_gib * 1024 - torch.cuda.memory_reserved(device) / 2**20)
        return free
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def describe(device: torch.device) -> str:
    if device.type == "mps":
        return "Apple GPU"
    cores = usable_cores()
    return f"CPU ({cores} core{'s' if cores > 1 else ''})"
