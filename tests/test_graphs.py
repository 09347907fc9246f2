"""The evaluation wrapper off CUDA: plain eager calls (the capture itself is tested in test_cuda.py)."""

from __future__ import annotations

import torch

from nst_core.graphs import GraphedEvaluation


def test_without_capture_every_call_is_a_fresh_eager_evaluation():
    image = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)

    def evaluate() -> torch.Tensor:
        loss = (image**2).sum()
        loss.backward()
        return loss.detach().reshape(1)

    evaluation = GraphedEvaluation(evaluate, image, capture=False)
    for _ in range(4):
        assert evaluation().item() == 14.0
        assert torch.equal(image.grad, 2 * image.detach())  # not accumulated over calls
    assert evaluation.graph is None and evaluation.failed is None
    evaluation.release()
    assert image.grad is None
