"""On a CUDA machine only (skipped elsewhere): real runs, bf16, and a real out-of-memory.

Run on a lent GPU with ``python -m pytest tests/test_cuda.py``; ``python -m bench.gpu``
measures the same machine.
"""

from __future__ import annotations

import threading

import pytest
import torch

from nst_core import TransferConfig, stylize
from nst_core.backbone import get_extractor
from nst_core.errors import NSTError
from nst_core.graphs import GraphedEvaluation
from nst_core.transfer import stylize_with_retry

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_cuda_run_lowers_the_loss(content_image, style_image, precision):
    config = TransferConfig(size=128, steps=10, early_stop=False, device="cuda", precision=precision)
    reports = []
    result = stylize(content_image, style_image, config, on_progress=reports.append)
    assert result.device.startswith("CUDA") and result.precision == precision
    assert 0 < result.recipe["gpu_peak_mib"] < 8 * 1024  # 128 px: well under a few GB, even with cuDNN autotuning
    assert result.steps == 10 and reports[-1].losses.total < 0.5 * reports[0].losses.total


@pytest.mark.parametrize("color", ["match", "luminance"])
def test_colour_modes_run_on_cuda(content_image, style_image, color):
    result = stylize(content_image, style_image, TransferConfig(size=64, steps=2, color=color, device="cuda"))
    assert result.steps == 2 and result.image.size == (64, 48)


def test_auto_precision_on_a_bf16_gpu_is_bf16(content_image, style_image):
    if not torch.cuda.is_bf16_supported(including_emulation=False):
        pytest.skip("this GPU has no native bf16")
    result = stylize(content_image, style_image, TransferConfig(size=64, steps=2, device="cuda"))
    assert result.precision == "bf16"


def test_a_real_out_of_memory_is_retried_smaller_and_frees_its_memory(content_image, style_image):
    device = torch.device("cuda")
    get_extractor(device=device, dtype=torch.bfloat16)
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    total = torch.cuda.get_device_properties(device).total_memory
    torch.cuda.set_per_process_memory_fraction(2 * 2**30 / total)  # a 2 GiB GPU, as far as the allocator knows
    retries: list[tuple[int, int]] = []
    try:
        config = TransferConfig(size=4096, steps=2, multiscale=False, device="cuda", precision="bf16")
        with pytest.raises(NSTError, match="ran out of memory"):
            stylize_with_retry(content_image, style_image, config, on_retry=lambda a, b: retries.append((a, b)))
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
    assert retries == [(4096, 3072)]
    torch.cuda.synchronize()
    assert torch.cuda.memory_allocated() <= before
    after = stylize(content_image, style_image, TransferConfig(size=128, steps=3, device="cuda"))
    assert after.steps == 3


def test_cuda_graphs_replay_the_same_run_as_eager_launches(content_image, style_image):
    config = TransferConfig(size=128, steps=8, early_stop=False, device="cuda", precision="fp32")
    graphed = stylize(content_image, style_image, config)
    eager = stylize(content_image, style_image, config.replace(cuda_graphs=False))
    assert graphed.recipe["cuda_graphs_used"] is True and "cuda_graphs_used" not in eager.recipe
    assert graphed.steps == eager.steps == 8
    # The same steps, not bit for bit: cuDNN's autotuner may pick other (TF32) algorithms per run,
    # and L-BFGS carries such differences on (measured on an H200: 0.2% after 8 steps).
    for a, b in zip(graphed.history, eager.history, strict=True):
        assert abs(a.losses.total - b.losses.total) <= 0.02 * b.losses.total
    assert graphed.history[-1].losses.total < 0.5 * graphed.history[0].losses.total


def test_a_multiscale_graphed_run_captures_each_scale(content_image, style_image):
    result = stylize(content_image, style_image, TransferConfig(size=400, steps=6, early_stop=False, device="cuda"))
    assert result.recipe["cuda_graphs_used"] is True and result.steps == 12
    assert result.history[-1].losses.total < result.history[6].losses.total


def test_a_capture_is_not_broken_by_another_thread_using_the_gpu(content_image, style_image):
    """The page runs transfers on worker threads while other visitors' requests touch the GPU."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def busy() -> None:
        try:
            while not stop.is_set():
                (torch.full((256, 256), 0.5, device="cuda") @ torch.ones(256, 256, device="cuda")).sum().item()
        except BaseException as error:
            errors.append(error)

    other = threading.Thread(target=busy)
    other.start()
    try:
        config = TransferConfig(size=128, steps=6, early_stop=False, device="cuda")
        results = [stylize(content_image, style_image, config) for _ in range(3)]
    finally:
        stop.set()
        other.join()
    assert not errors
    assert all(result.recipe["cuda_graphs_used"] is True and result.steps == 6 for result in results)


def test_the_memory_held_between_runs_does_not_grow(content_image, style_image):
    """A page serves run after run: what stays allocated between them (models, cuBLAS workspaces) must not
    grow with every run (a new warm-up stream per scale did: each kept its own workspace)."""

    def held() -> int:
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        return torch.cuda.memory_allocated()

    config = TransferConfig(size=128, steps=3, early_stop=False, device="cuda")
    stylize(content_image, style_image, config)
    first = held()
    for size in (96, 160, 400, 112, 144, 300):  # 300 and 400 px run two scales each
        assert stylize(content_image, style_image, config.replace(size=size)).recipe["cuda_graphs_used"] is True
    assert held() - first <= 4 * 2**20


def test_a_capture_that_fails_falls_back_to_eager_launches():
    """An evaluation that cannot be captured (it reads from the GPU) stays eager, and right."""
    image = torch.rand(1, 3, 16, 16, device="cuda", requires_grad=True)

    def evaluate() -> torch.Tensor:
        loss = (image**2).sum()
        loss.backward()
        float(loss)  # a read from the GPU: not allowed inside a capture
        return loss.detach().reshape(1)

    graphed = GraphedEvaluation(evaluate, image)
    expected = float((image.detach() ** 2).sum())
    values = [float(graphed()[0]) for _ in range(5)]
    assert graphed.failed is not None and graphed.graph is None
    assert values == pytest.approx([expected] * 5)
    assert image.grad is not None and torch.allclose(image.grad, 2 * image.detach())
    # The failed capture leaves the GPU's random generator usable (it raised on every draw before).
    assert torch.rand(1000, device="cuda").std() > 0.2


def test_on_a_16_gib_gpu_the_default_and_the_largest_run_need_no_retry(content_image, style_image):
    """A T4-sized host (16 GB, no native bf16, so fp32): the page's default and largest sizes fit without the
    out-of-memory retry, cuDNN's autotuner included (its workspaces come from the capped allocator)."""
    from job_service.capacity import largest_size, measure
    from job_service.limits import Limits
    from nst_core.device import cap_memory

    limits = Limits.for_device("cuda", {})
    device = torch.device("cuda")
    cap_memory(device, 16)
    retries: list[tuple[int, int]] = []
    try:
        # The largest size the page would offer on this capped GPU (measured as at start-up, NST_MAX_SIZE unset).
        extractor = get_extractor(device=device, dtype=torch.float32)
        largest, _ = largest_size(measure(extractor, device, 16), limits.max_seconds, limits.default_steps)
        for size in (limits.default_size, largest):
            torch.cuda.empty_cache()
            config = TransferConfig(size=size, steps=3, early_stop=False, device="cuda", precision="fp32")
            result = stylize_with_retry(
                content_image, style_image, config, on_retry=lambda a, b: retries.append((a, b))
            )
            assert not retries and max(result.image.size) == size
            assert result.recipe["gpu_peak_mib"] < 16 * 1024
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)


def test_a_memory_cap_is_for_a_cuda_gpu_and_above_zero():
    from nst_core.device import cap_memory
    from nst_core.errors import ConfigError

    with pytest.raises(ConfigError):
        cap_memory(torch.device("cuda"), 0)
