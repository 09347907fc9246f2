"""Invariants of the maths, and the promise that weights mean the same at every size."""

from __future__ import annotations

import pytest
import torch

from nst_core.config import STYLE_LAYERS
from nst_core.images import resize, to_tensor
from nst_core.losses import (
    CoarserView,
    ContentLoss,
    StyleLoss,
    content_loss,
    gram_matrix,
    range_penalty,
    style_loss,
    total_variation,
)


def test_gram_is_symmetric_psd_and_averaged():
    features = torch.randn(1, 8, 5, 7)
    gram = gram_matrix(features)
    assert gram.shape == (1, 8, 8)
    assert torch.allclose(gram, gram.transpose(1, 2))
    assert float(torch.linalg.eigvalsh(gram[0]).min()) > -1e-6
    flat = features.reshape(8, -1)
    assert torch.allclose(gram[0], flat @ flat.T / (8 * 35))


def test_gram_of_a_tiled_map_equals_the_tile_gram():
    # Averaging over positions: the same texture twice as large has the same Gram.
    tile = torch.rand(1, 4, 6, 6)
    assert torch.allclose(gram_matrix(tile), gram_matrix(tile.repeat(1, 1, 2, 2)), atol=1e-6)


def test_content_loss_is_zero_on_identical_features_and_one_on_zeros():
    target = torch.rand(1, 16, 4, 4)
    assert float(content_loss(target.clone(), target)) == 0
    assert float(content_loss(torch.zeros_like(target), target)) == pytest.approx(1.0)


def test_style_loss_is_zero_on_its_own_target():
    features = torch.rand(1, 16, 6, 6)
    assert float(style_loss(features, gram_matrix(features)[0])) == pytest.approx(0.0, abs=1e-7)


def test_tv_is_zero_on_flat_and_scale_free():
    assert float(total_variation(torch.full((1, 3, 32, 32), 0.3))) == 0
    ramp = torch.linspace(0, 1, 64).view(1, 1, 1, 64).expand(1, 3, 64, 64)
    half = torch.nn.functional.interpolate(ramp, size=(32, 32), mode="bilinear", align_corners=True)
    assert float(total_variation(half)) == pytest.approx(float(total_variation(ramp)), rel=0.1)


def test_range_penalty_is_zero_inside_grows_outside_and_means_the_same_at_every_size():
    assert float(range_penalty(torch.rand(1, 3, 8, 8))) == 0
    image = torch.full((1, 3, 192, 256), 0.5)
    image[0, 0, 0, 0], image[0, 1, 5, 5] = 1.5, -0.5
    assert float(range_penalty(image)) == pytest.approx(0.5)  # at 256 px, the plain sum
    # The same share of pixels out of range, twice the size: the same penalty (a plain sum would be 4 times it,
    # while the normalised terms it is weighed against stay put).
    double = torch.nn.functional.interpolate(image, scale_factor=2, mode="nearest")
    assert float(range_penalty(double)) == pytest.approx(0.5)
    # Below 256 px, the plain sum.
    assert float(range_penalty(image[..., :96, :128])) == pytest.approx(0.5)


def test_modules_equal_functions():
    features, target = torch.rand(1, 8, 4, 4), torch.rand(1, 8, 4, 4)
    assert torch.equal(ContentLoss(target)(features), content_loss(features, target))
    gram = gram_matrix(target)[0]
    assert torch.equal(StyleLoss(gram)(features), style_loss(features, gram))


def test_blended_target_is_the_weighted_mean():
    a, b = torch.eye(3), torch.ones(3, 3)
    blended = StyleLoss.blended([a, b], [3.0, 1.0]).target
    assert torch.allclose(blended, 0.75 * a + 0.25 * b)


def test_gradients_are_finite(extractor, content_image, style_image):
    image = to_tensor(content_image).requires_grad_(True)
    features = extractor(image, ["relu4_2", *STYLE_LAYERS])
    style = extractor(to_tensor(style_image), STYLE_LAYERS)
    loss = content_loss(features["relu4_2"], features["relu4_2"].detach() * 0.5)
    for name in STYLE_LAYERS:
        loss = loss + style_loss(features[name], gram_matrix(style[name])[0])
    loss = loss + total_variation(image)
    loss.backward()
    assert image.grad is not None and torch.isfinite(image.grad).all() and image.grad.abs().sum() > 0


def style_distance(extractor, image, style) -> float:
    features = extractor(to_tensor(image), STYLE_LAYERS)
    targets = extractor(to_tensor(style), STYLE_LAYERS)
    return sum(float(style_loss(features[n], gram_matrix(targets[n])[0])) for n in STYLE_LAYERS)


def test_losses_mean_the_same_at_two_sizes(extractor, content_image, style_image):
    # The same pair at 96 px and 192 px: the normalised style loss stays within 35 %,
    # where the paper's unnormalised sum would change by the pixel ratio (4x) or more.
    size = content_image.size
    large = (size[0] * 2, size[1] * 2)
    small_loss = style_distance(extractor, content_image, style_image)
    large_loss = style_distance(
        extractor, resize(content_image, large), resize(style_image, (style_image.width * 2, style_image.height * 2))
    )
    assert large_loss == pytest.approx(small_loss, rel=0.35)


def _reference_gram(features: torch.Tensor) -> torch.Tensor:
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


@pytest.mark.parametrize("channels_last", [False, True])
def test_gram_gradient_is_exact_in_both_layouts(channels_last):
    features = torch.randn(2, 5, 4, 3, dtype=torch.float64)
    if channels_last:
        features = features.contiguous(memory_format=torch.channels_last)
    features.requires_grad_(True)
    assert torch.autograd.gradcheck(gram_matrix, (features,))
    weights = torch.randn(2, 5, 5, dtype=torch.float64)
    (grad,) = torch.autograd.grad((gram_matrix(features) * weights).sum(), features)
    reference = features.detach().clone().requires_grad_(True)
    (expected,) = torch.autograd.grad((_reference_gram(reference) * weights).sum(), reference)
    assert torch.allclose(grad, expected)
    # The gradient keeps the features' layout, so nothing downstream copies it.
    assert grad.is_contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def test_gram_of_bf16_features_is_fp32_and_as_exact_as_fp32():
    features = torch.rand(1, 32, 24, 24).bfloat16().contiguous(memory_format=torch.channels_last)
    gram = gram_matrix(features)
    assert gram.dtype == torch.float32
    # The bf16 values are exact in fp32; the products are accumulated and kept in fp32.
    assert torch.allclose(gram, _reference_gram(features.float()), rtol=1e-5, atol=1e-7)
    features.requires_grad_(True)
    loss = style_loss(features, torch.eye(32) * 0.1)
    assert loss.dtype == torch.float32
    loss.backward()
    assert features.grad is not None and features.grad.dtype == torch.bfloat16


def test_content_loss_of_bf16_features_is_computed_in_fp32():
    target = torch.rand(1, 16, 8, 8)
    features = (target + 0.01 * torch.randn_like(target)).bfloat16()
    loss = content_loss(features, target)
    assert loss.dtype == torch.float32
    assert float(loss) == pytest.approx(float(content_loss(features.float(), target)), rel=1e-6)


def test_the_coarser_view_is_pillows_lanczos_resize(content_image):
    import numpy as np
    from PIL import Image

    image = to_tensor(content_image)
    for size in [(48, 36), (40, 30), (96, 72)]:  # exactly half, another ratio, the same size
        pillow = np.asarray(content_image.resize(size, Image.Resampling.LANCZOS), dtype=np.float32)
        ours = CoarserView(content_image.size, size)(image)[0].permute(1, 2, 0).clamp(0, 1).mul(255).numpy()
        assert ours.shape == pillow.shape and np.abs(ours - pillow).mean() < 0.5, size  # Pillow rounds between passes
    # Gradients flow through it: a pixel's share of the view is its filter weight.
    image.requires_grad_(True)
    CoarserView(content_image.size, (48, 36))(image).sum().backward()
    assert image.grad is not None and float(image.grad.sum()) == pytest.approx(3 * 48 * 36, rel=1e-4)
