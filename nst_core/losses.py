"""The losses of Gatys et al., normalised so their weights mean the same at any size.

Departure from the paper (Gatys et al., CVPR 2016, eqs. 1-5): the paper sums
squared errors, so the content term grows with the pixel count and every
weight must be re-tuned when the output size changes. Here each term is
divided by the energy of its own target: content by ||P||^2, each style
layer by (trace A)^2, where A = F F^T / (C H W) is the Gram matrix averaged
over positions (the paper's 1/(4 N^2 M^2) up to a constant, but with each
image's own M). The terms are then dimensionless, independent of the output
size, of the backbone's input scaling (caffe 0-255 or ImageNet mean/std) and
of how busy the style image is, so one "style strength" fits all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from .backbone import FeatureExtractor
from .config import TransferConfig

TV_REFERENCE_SIZE = 256  # px; TV is scaled to what it would be at this size


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix averaged over channels and positions, always in at least fp32.

    Args:
        features: (N, C, H, W) activations, in any float dtype and either
            memory layout (NCHW or channels_last).

    Returns:
        (N, C, C), ``F F^T / (C H W)``; symmetric, positive semi-definite;
        fp32 for bf16/fp16/fp32 features, fp64 for fp64 ones.
    """
    gram: torch.Tensor = _Gram.apply(features)
    return gram


def _positions_by_channels(features: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """A (N, H*W, C) view of channels_last features, else (N, C, H*W); and which one."""
    n, c, h, w = features.shape
    if features.is_contiguous(memory_format=torch.channels_last) and not features.is_contiguous():
        return features.permute(0, 2, 3, 1).reshape(n, h * w, c), True
    return features.reshape(n, c, h * w), False


class _Gram(torch.autograd.Function):
    """``F F^T / (C H W)`` with a layout-aware, single-product backward.

    Autograd's own backward of ``bmm(F, F^T)`` runs two products and, for
    channels_last features, copies them to NCHW and back. Here the forward reads
    the features in their own layout, in fp32 whatever their dtype (the Gram and
    the losses stay fp32 under mixed precision), and the backward is one product,
    ``dF = (dG + dG^T) F / (C H W)``, returned in the features' dtype and layout.
    """

    @staticmethod
    def forward(ctx: Any, features: torch.Tensor) -> torch.Tensor:
        _, c, h, w = features.shape
        flat, channels_last = _positions_by_channels(features)
        precise = flat.to(torch.promote_types(features.dtype, torch.float32))
        if channels_last:
            gram = torch.bmm(precise.transpose(1, 2), precise)
        else:
            gram = torch.bmm(precise, precise.transpose(1, 2))
        ctx.save_for_backward(features)
        return gram / (c * h * w)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (features,) = ctx.saved_tensors
        n, c, h, w = features.shape
        symmetric = ((grad + grad.transpose(1, 2)) / (c * h * w)).to(features.dtype)
        flat, channels_last = _positions_by_channels(features)
        if channels_last:
            return torch.bmm(flat, symmetric).reshape(n, h, w, c).permute(0, 3, 1, 2)
        return torch.bmm(symmetric, flat).reshape(n, c, h, w)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``||F - P||^2 / ||P||^2``: 0 on identical features, 1 on zero features; in fp32 or better."""
    features = features.to(torch.promote_types(features.dtype, target.dtype))
    return (features - target).pow(2).sum() / target.pow(2).sum().clamp_min(1e-12)


def style_loss(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """``||G - A||_F^2 / (tr A)^2`` for the Gram G of ``features`` and a target A."""
    energy = torch.diagonal(target_gram, dim1=-2, dim2=-1).sum(-1).pow(2).clamp_min(1e-12)
    return ((gram_matrix(features) - target_gram).pow(2).sum((-2, -1)) / energy).sum()


def region_gram(features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The Gram matrix of a region: ``(F m)(F m)^T / (C sum(m^2))`` for a soft mask ``m`` (1, 1, h, w) in [0, 1],
    taken down to the features' size by area. On a region of ones it is the Gram of those positions alone, so a
    style means the same in a small region as over the whole picture (Gatys et al. 2017, guided Gram matrices).
    Always fp32 or better."""
    _, c, h, w = features.shape
    if tuple(mask.shape[-2:]) != (h, w):
        mask = torch.nn.functional.adaptive_avg_pool2d(mask, (h, w))
    weights = mask.to(torch.promote_types(features.dtype, torch.float32))
    guided = (features.to(weights.dtype) * weights).reshape(features.shape[0], c, h * w)
    area = weights.pow(2).sum().clamp_min(1e-6)
    return torch.bmm(guided, guided.transpose(1, 2)) / (c * area)


def region_style_loss(features: torch.Tensor, target_gram: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """:func:`style_loss` over a region only: its Gram (:func:`region_gram`) against the painting's."""
    energy = torch.diagonal(target_gram, dim1=-2, dim2=-1).sum(-1).pow(2).clamp_min(1e-12)
    return ((region_gram(features, mask) - target_gram).pow(2).sum((-2, -1)) / energy).sum()


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of neighbouring pixels, scaled to a 256 px image.

    Args:
        image: (N, 3, H, W), values in [0, 1].

    Returns:
        A scalar, 0 on a flat image. Halving the resolution of a smooth
        image quarters the raw value; the ``(max(H, W) / 256)^2`` factor
        undoes that so the weight keeps its meaning at every size.
    """
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    scale = (max(image.shape[-2:]) / TV_REFERENCE_SIZE) ** 2
    return (dx.pow(2).mean() + dy.pow(2).mean()) * scale


def range_penalty(image: torch.Tensor) -> torch.Tensor:
    """Squared distance of pixels outside [0, 1] to the range, summed, scaled to a 256 px image.

    L-BFGS keeps a curvature history that clamping the pixels after each
    step would invalidate (measured: the loss diverges); this smooth penalty
    keeps the pixels within a few percent of the range instead, and the
    output is clamped once at the end.

    Args:
        image: (N, 3, H, W).

    The other terms are normalised (a pixel's share of their gradient falls
    as the pixel count grows), so a plain sum would weigh 16 times more
    against them at 1024 px than at 256 px: measured, at 1024 px it then
    undid the steps that lowered content and style (and the early-stop rule
    read the stall as convergence). Above 256 px the ``(256 / max(H, W))^2``
    factor keeps the balance it has at 256 px; below, it stays the plain sum
    (weaker than that balance, as it always was there: measured, a 64 px
    style-only run from noise with a low style weight was held back by the
    stronger penalty).
    """
    scale = min(1.0, (TV_REFERENCE_SIZE / max(image.shape[-2:])) ** 2)
    return ((image - 1).clamp_min(0).pow(2).sum() + (-image).clamp_min(0).pow(2).sum()) * scale


class ContentLoss(nn.Module):
    """Content loss against target features kept in a buffer."""

    target: torch.Tensor

    def __init__(self, target: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("target", target.detach())

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return content_loss(features, self.target)


class StyleLoss(nn.Module):
    """Style loss against a target Gram matrix kept in a buffer."""

    target: torch.Tensor

    def __init__(self, target_gram: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("target", target_gram.detach())

    @classmethod
    def blended(cls, grams: Sequence[torch.Tensor], blend: Sequence[float]) -> StyleLoss:
        """One loss whose target is the blend-weighted mean of several Grams (as in neural-style)."""
        total = float(sum(blend))
        target = sum((g * (w / total) for g, w in zip(grams, blend, strict=True)), torch.zeros_like(grams[0]))
        return cls(target)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return style_loss(features, self.target)


class RegionStyleLoss(nn.Module):
    """One layer's style loss with a region per painting: each painting's Gram is matched over its own mask only
    (where no mask applies, no style is asked for: the photo's content alone is kept there)."""

    targets: torch.Tensor
    masks: torch.Tensor

    def __init__(self, target_grams: Sequence[torch.Tensor], masks: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("targets", torch.stack([gram.detach() for gram in target_grams]))
        self.register_buffer("masks", masks.detach())  # (paintings, 1, H, W) at the picture's size
        self._at: dict[tuple[int, int], torch.Tensor] = {}  # the masks taken down to a layer's size, once

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        size = (features.shape[-2], features.shape[-1])
        masks = self._at.get(size)
        if masks is None:
            masks = self._at[size] = torch.nn.functional.adaptive_avg_pool2d(self.masks, size)
        return sum(
            (region_style_loss(features, self.targets[index], masks[index : index + 1])
             for index in range(self.targets.shape[0])),
            torch.zeros((), device=features.device),
        )  # fmt: skip


class TemporalLoss(nn.Module):
    """Ruder et al. (2016): the picture held to a target (the previous painted frame, warped by the optical flow)
    on the pixels where that target is trustworthy; ``weight * sum(mask * (x - target)^2) / (3 H W)``."""

    target: torch.Tensor
    mask: torch.Tensor

    def __init__(self, target: torch.Tensor, mask: torch.Tensor, weight: float) -> None:
        super().__init__()
        self.register_buffer("target", target.detach())
        self.register_buffer("mask", mask.detach())
        self.weight = weight

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.weight * (self.mask * (image - self.target).pow(2)).sum() / image[0].numel()


def _lanczos(x: float) -> float:
    if x == 0:
        return 1.0
    if abs(x) >= 3:
        return 0.0
    angle = math.pi * x
    return 3 * math.sin(angle) * math.sin(angle / 3) / (angle * angle)


def lanczos_matrix(source: int, target: int) -> torch.Tensor:
    """(target, source) weights that resample one axis as Pillow's ``Image.resize(..., LANCZOS)`` does
    (the same taps and normalisation; Pillow also rounds to 8 bits between its two passes)."""
    scale = source / target
    stretch = max(scale, 1.0)  # the filter widens when shrinking, so it also smooths
    support = 3 * stretch
    matrix = torch.zeros(target, source, dtype=torch.float64)
    for index in range(target):
        centre = (index + 0.5) * scale
        low, high = max(int(centre - support + 0.5), 0), min(int(centre + support + 0.5), source)
        taps = torch.tensor([_lanczos((x - centre + 0.5) / stretch) for x in range(low, high)], dtype=torch.float64)
        matrix[index, low:high] = taps / taps.sum()
    return matrix.float()


class CoarserView(nn.Module):
    """A picture at a finer scale's size seen at the coarser scale's size: Pillow's Lanczos resize,
    written as one matrix product per axis so that gradients flow through it.

    An earlier try of the same idea, seen through bilinear resizing (a blurrier filter) with the two
    losses averaged, left the large picture seen smaller no more stylised than without it; through
    this filter it is kept (both measured: docs/design.md, "Large pictures").
    """

    rows: torch.Tensor
    columns: torch.Tensor

    def __init__(self, fine: tuple[int, int], coarse: tuple[int, int], device: torch.device | str = "cpu") -> None:
        """``fine``, ``coarse``: (width, height)."""
        super().__init__()
        self.register_buffer("rows", lanczos_matrix(fine[1], coarse[1]).to(device))
        self.register_buffer("columns", lanczos_matrix(fine[0], coarse[0]).t().contiguous().to(device))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) at the finer size to (N, 3, h, w) at the coarser one."""
        return self.rows @ image @ self.columns


class GatysLoss(nn.Module):
    """content_weight * content + style_weight * sum_l w_l style_l + tv_weight * TV."""

    def __init__(
        self,
        content: ContentLoss,
        content_layer: str,
        styles: dict[str, StyleLoss] | dict[str, RegionStyleLoss],
        style_layer_weights: dict[str, float],
        content_weight: float,
        style_weight: float,
        tv_weight: float,
    ) -> None:
        super().__init__()
        self.content = content
        self.content_layer = content_layer
        self.styles = nn.ModuleDict(styles)
        self.style_layer_weights = dict(style_layer_weights)
        self.content_weight = content_weight
        self.style_weight = style_weight
        self.tv_weight = tv_weight

    @property
    def layers(self) -> list[str]:
        """Every layer the loss reads."""
        return [self.content_layer, *self.styles.keys()]

    def forward(
        self, image: torch.Tensor, features: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The three weighted terms (content, style, tv) as 0-dim tensors."""
        content = self.content_weight * self.content(features[self.content_layer])
        style = sum(
            (self.style_layer_weights[name] * loss(features[name]) for name, loss in self.styles.items()),
            torch.zeros((), device=image.device),
        )
        tv = self.tv_weight * total_variation(image) if self.tv_weight > 0 else torch.zeros((), device=image.device)
        return content, self.style_weight * style, tv


StyleGrams = dict[str, list[torch.Tensor]]  # by layer: one (C, C) Gram matrix per painting


def style_grams(extractor: FeatureExtractor, styles: Sequence[torch.Tensor], layers: Sequence[str]) -> StyleGrams:
    """The paintings' Gram matrices at ``layers`` (each painting a (1, 3, h, w) tensor at the size its Gram should
    be taken at), with gradients off."""
    grams: StyleGrams = {name: [] for name in layers}
    with torch.no_grad():
        for style in styles:
            features = extractor(style, list(layers))
            for name in layers:
                grams[name].append(gram_matrix(features[name])[0])
    return grams


def build_gatys_loss(
    extractor: FeatureExtractor,
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    blend: Sequence[float],
    config: TransferConfig,
    masks: torch.Tensor | None = None,
    grams: StyleGrams | None = None,
) -> GatysLoss:
    """The ready loss of one scale: its targets computed once, with gradients off.

    Args:
        extractor: the frozen feature extractor (any precision; targets are kept in fp32).
        content: (1, 3, H, W) photo at the scale's size, values in [0, 1].
        styles: one (1, 3, h, w) painting per style, at the size its Gram should be taken at.
        blend: one weight per painting; the target Gram is their weighted mean.
        config: the layers and weights.
        masks: (paintings, 1, H, W) in [0, 1] at the photo's size: each painting's region (its style is asked for
            there only, at full strength); None: every painting everywhere, blended.
        grams: the paintings' :func:`style_grams` at ``config.style_layers``, taken before (``styles`` is then
            not read); None: taken here.
    """
    if grams is None:
        grams = style_grams(extractor, styles, config.style_layers)
    with torch.no_grad():
        content_features = extractor(content, [config.content_layer])[config.content_layer].float()
    return GatysLoss(
        content=ContentLoss(content_features),
        content_layer=config.content_layer,
        styles=(
            {name: StyleLoss.blended(grams[name], blend) for name in config.style_layers}
            if masks is None
            else {name: RegionStyleLoss(grams[name], masks) for name in config.style_layers}
        ),
        style_layer_weights=dict(zip(config.style_layers, config.style_layer_weights, strict=True)),
        content_weight=config.content_weight,
        style_weight=config.style_weight,
        tv_weight=config.tv_weight,
    )
