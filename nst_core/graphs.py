"""One loss-and-gradient evaluation replayed as a CUDA graph.

An evaluation (VGG forward to relu5_1, the losses, the backward to the image)
launches a few hundred small GPU kernels from Python, and launching them can
take longer than running them (``python -m bench.gpu --profile`` measures
both; the README has the figures). Within one scale every evaluation has the same
shapes and reads the same tensors (the image is updated in place), so it can
be captured once and then replayed with one launch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Evaluation = Callable[[], torch.Tensor]  # forward + backward: fills image.grad, returns the loss terms


class GraphedEvaluation:
    """Calls ``evaluate`` eagerly ``warmup`` times, then captures it and replays the graph.

    The warm-up calls run on a side stream (as PyTorch's CUDA-graph notes ask:
    cuDNN autotuning and other lazy set-up happen there, outside the capture).
    After the capture ``image.grad`` is the graph's own gradient tensor, which
    every replay overwrites; the tensor returned is likewise the graph's own.
    If the capture fails (an operation that cannot be captured), the evaluation
    stays eager for the rest of the scale. The capture is thread-local: another
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
            side = torch.cuda.Stream(self.image.device)  # type: ignore[no-untyped-call]
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
            torch.cuda.synchronize(self.image.device)
            return self._eager()
        self.graph, self.output = graph, output
        graph.replay()
        return output

    def release(self) -> None:
        """Free the graph and its memory pool (the scale is done)."""
        self.graph = None
        self.output = None
        self.image.grad = None
