"""Colour preservation, the two ways of Gatys et al., "Preserving Color in Neural Artistic Style Transfer" (2016).

- ``luminance``: transfer style on luminance only: the result keeps its own
  luminance (Y) and takes the content's chroma (Cb, Cr).
- ``match``: before the run, recolour each style image so its colour mean
  and covariance equal the content's (a linear map in RGB).
"""

from __future__ import annotations

import torch
from PIL import Image


def keep_content_chroma(result: Image.Image, content: Image.Image) -> Image.Image:
    """The result's luminance with the content's chroma, as RGB.

    ``content`` is resized to the result's size if they differ.
    """
    if content.size != result.size:
        content = content.resize(result.size, Image.Resampling.BICUBIC)
    luma, _, _ = result.convert("YCbCr").split()
    _, cb, cr = content.convert("YCbCr").split()
    return Image.merge("YCbCr", (luma, cb, cr)).convert("RGB")


def match_color_statistics(source: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Recolour ``source`` so its RGB mean and covariance equal ``reference``'s.

    Args:
        source: (1, 3, H, W) in [0, 1], for example the style image.
        reference: (1, 3, H', W') in [0, 1], for example the content image.

    Returns:
        (1, 3, H, W) in [0, 1]: ``C_r^(1/2) C_s^(-1/2) (x - mu_s) + mu_r``, clamped.
    """
    src = source.reshape(3, -1).double()
    ref = reference.reshape(3, -1).double()
    mu_s, mu_r = src.mean(1, keepdim=True), ref.mean(1, keepdim=True)
    eye = torch.eye(3, dtype=torch.float64, device=source.device)
    cov_s = torch.cov(src) + 1e-5 * eye
    cov_r = torch.cov(ref) + 1e-5 * eye
    transform = _matrix_power(cov_r, 0.5) @ _matrix_power(cov_s, -0.5)
    out = transform @ (src - mu_s) + mu_r
    return out.reshape(source.shape).clamp(0, 1).to(source.dtype)


def _matrix_power(matrix: torch.Tensor, power: float) -> torch.Tensor:
    """A symmetric positive-definite matrix raised to ``power``."""
    values, vectors = torch.linalg.eigh(matrix)
    result: torch.Tensor = vectors @ torch.diag(values.clamp_min(1e-8).pow(power)) @ vectors.T
    return result
