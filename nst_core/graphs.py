"""One loss-and-gradient evaluation replayed as a CUDA graph.

An evaluation (VGG forward to relu5_1, the losses, the backward to the image)
launches a few hundred small GPU kernels from Python, and launching them can
take longer than running them (``python -m bench.gpu --profile`` measures
both; bench/results/cuda-gpu.md has the figures). Within one scale every evaluation has the same
shapes and reads the same tensors (the image is updated in place), so it can
be captured once and then replayed with one launch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import torch

from .device import cuda_index

Evaluation = Callable[[], torch.Tensor]  # forward + backward: fills image.grad, returns the loss terms

_side_streams: dict[int, torch.cuda.Stream] = {}
_side_streams_lock = threading.Lock()


def side_stream(device: torch.device) -> torch.cuda.Stream:
    """The one warm-up stream of a GPU, made on first use and kept for the process.

    PyTorch keeps a cuBLAS workspace for every stream that runs a matrix product, for the life
    of the process: with a new stream per scale of every run, the memory a process held between
    runs grew with every run, where with this one it stays flat (``python -m bench.gpu_held``;
    figures in docs/design.md).
    """
    index = cuda_index(device)
    with _side_streams_lock:
        if index not in _side_streams:
            _side_streams[index] = torch.cuda.Stream(index)  # type: ignore[no-untyped-call]
        return _side_streams[index]


def free_the_generator(device: torch.device) -> None:
    """After a capture that failed: the GPU's default random generator, working again.

    A capture marks that generator as capturing, and (in the PyTorch releases we run on) only a
    capture that ends well takes the mark off: every later random draw on the GPU, anywhere in the
    process, then raises "Offset increment outside graph capture encountered unexpectedly". The
    generator is given a fresh state with the same seed and offset.
    """
    index = cuda_index(device)
    generator = torch.cuda.default_generators[index]
    fresh = torch.Generator(device=torch.device("cuda", index))
    fresh.set_state(generator.get_state())
    generator.graphsafe_set_state(fresh)


class GraphedEvaluation:
    """Calls ``evaluate`` eagerly ``warmup`` times, then captures it and replays the graph.

    The warm-up calls run on a side stream (as PyTorch's CUDA-graph notes ask:
    cuDNN autotuning and other lazy set-up happen there, outside the capture),
    the same one for every scale and run on a GPU (``side_stream``).
    After the capture ``image.grad`` is the graph's own gradient tensor, which
    every replay overwrites; the tensor returned is likewise the graph's own.
    If the capture fails (an operation that cannot be captured), the evaluation
    stays eager for the rest of the scale, and the process's GPU random
    generator is freed (``free_the_generator``). The capture is thread-local: another
    thread's CUDA work (the page loading a model for another visitor) neither
    breaks it nor is refused.

    With ``capture=False`` (off the GPU, or turned off) every call is eager.

    Args:
        evaluate: computes the loss terms and their gradient for ``image``.
        image: the leaf tensor optimised in place.
        capture: whether to capture at all (only on CUDA).
        warmup: eager calls before the capture.
    """

    def __init__(self, evaluate: Evaluation, image: torch.Tensor, capture: bool = True, warmup: int = 2) -> None:
        self.evaluate = evaluate
        self.image = image
        self.capture = capture
        self.warmup = warmup
        self.calls = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.output: torch.Tensor | None = None
        self.failed: str | None = None

    def __call__(self) -> torch.Tensor:
        self.calls += 1
        if self.graph is not None:
            self.graph.replay()
            assert self.output is not None
            return self.output
        if not self.capture or self.failed is not None:
            return self._eager()
        if self.calls <= self.warmup:
            current = torch.cuda.current_stream(self.image.device)
            side = side_stream(self.image.device)
            side.wait_stream(current)
            with torch.cuda.stream(side):
                values = self._eager()
            current.wait_stream(side)
            return values
        return self._capture()

    def _eager(self) -> torch.Tensor:
        self.image.grad = None
        return self.evaluate()

    def _capture(self) -> torch.Tensor:
        self.image.grad = None  # the backward in the capture allocates it from the graph's pool
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph, capture_error_mode="thread_local"):
                output = self.evaluate()
        except RuntimeError as error:
            self.failed = str(error)
            del graph
            torch.cuda.synchronize(self.image.device)
            free_the_generator(self.image.device)
            return self._eager()
        self.graph, self.output = graph, output
        graph.replay()
        return output

    def release(self) -> None:
        """Free the graph and its memory pool (the scale is done)."""
        self.graph = None
        self.output = None
        self.image.grad = None
