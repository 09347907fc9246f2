from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from nst_core.optimizers import GradientDescent, PixelLBFGS, build_optimizer
from tests.conftest import ROOT


def quadratic(x: torch.Tensor, scale: float) -> torch.Tensor:
    weights = torch.linspace(1, 50, x.numel()).view_as(x)  # condition number 50
    return scale * (weights * (x - 0.3) ** 2).sum()


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_lbfgs_solves_an_ill_conditioned_quadratic_at_any_scale(scale):
    x = torch.full((1, 3, 8, 8), 0.9, requires_grad=True)
    optimizer = PixelLBFGS(x)

    def closure() -> torch.Tensor:
        x.grad = None
        loss = quadratic(x, scale)
        loss.backward()
        return loss

    start = float(quadratic(x.detach(), scale))
    for _ in range(40):
        optimizer.step(closure)
    assert float(quadratic(x.detach(), scale)) < 1e-6 * start


def test_lbfgs_undoes_a_step_that_raises_the_loss():
    x = torch.zeros(4, requires_grad=True)
    optimizer = PixelLBFGS(x, first_step=0.1)
    values = iter([1.0, 5.0])

    def closure() -> torch.Tensor:
        x.grad = None
        loss = (x * 0).sum() + next(values) + x.sum()
        loss.backward()
        return loss

    optimizer.step(closure)  # evaluates at 0, steps away
    moved = x.detach().clone()
    assert not torch.equal(moved, torch.zeros(4))
    optimizer.step(closure)  # loss went up: back to 0, then a shorter step
    assert float(x.detach().abs().max()) < float(moved.abs().max())


def test_lbfgs_never_moves_a_pixel_more_than_max_step():
    x = torch.zeros(10, requires_grad=True)
    optimizer = PixelLBFGS(x, first_step=10.0, max_step=0.25)

    def closure() -> torch.Tensor:
        x.grad = None
        loss = -1000 * x.sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    assert float(x.detach().abs().max()) == pytest.approx(0.25)


def test_build_optimizer_names():
    x = torch.zeros(3, requires_grad=True)
    assert isinstance(build_optimizer("lbfgs", x, 1.0), PixelLBFGS)
    assert isinstance(build_optimizer("adam", x, 0.1), torch.optim.Adam)
    assert isinstance(build_optimizer("gd", x, 0.1), GradientDescent)
    with pytest.raises(ValueError):
        build_optimizer("rmsprop", x, 0.1)


@pytest.mark.slow  # a Python process of its own: 4-5 s, most of it importing torch
def test_a_default_run_does_not_import_torch_dynamo():
    # torch.optim.Optimizer imports torch._dynamo: about 2 s of every process's first step.
    probe = (
        "import sys; from PIL import Image; from nst_core import stylize, TransferConfig; "
        "stylize(Image.new('RGB', (32, 32), 'red'), Image.new('RGB', (32, 32), 'blue'), "
        "TransferConfig(size=32, steps=2)); print('torch._dynamo' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
