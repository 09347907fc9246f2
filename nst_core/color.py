"""Colour preservation, the two ways of Gatys et al., "Preserving Color in Neural Artistic Style Transfer" (2016).

- ``luminance``: transfer style on luminance only: the result keeps its own
  luminance (Y) and takes the content's chroma (Cb, Cr).
- ``match``: before the run, recolour each style image so its colour mean
  and covariance equal the content's (a linear map in RGB).

Both work on PIL images and import no torch: the instant network uses them too.
"""

from __future__ import annotations

import numpy as np
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


def match_color_statistics(source: Image.Image, reference: Image.Image) -> Image.Image:
    """Recolour ``source`` so its RGB mean and covariance equal ``reference``'s.

    Args:
        source: RGB, for example a painting.
        reference: RGB, for example the photo.

    Returns:
        RGB, the size of ``source``: ``C_r^(1/2) C_s^(-1/2) (x - mu_s) + mu_r``, clipped to [0, 255].
    """
    src = np.asarray(source.convert("RGB"), dtype=np.float64).reshape(-1, 3).T / 255.0
    ref = np.asarray(reference.convert("RGB"), dtype=np.float64).reshape(-1, 3).T / 255.0
    mu_s, mu_r = src.mean(1, keepdims=True), ref.mean(1, keepdims=True)
    cov_s = np.cov(src) + 1e-5 * np.eye(3)
    cov_r = np.cov(ref) + 1e-5 * np.eye(3)
    transform = _matrix_power(cov_r, 0.5) @ _matrix_power(cov_s, -0.5)
    out = (transform @ (src - mu_s) + mu_r).T.reshape(source.height, source.width, 3)
    return Image.fromarray(np.round(np.clip(out, 0.0, 1.0) * 255.0).astype(np.uint8))


def _matrix_power(matrix: np.ndarray, power: float) -> np.ndarray:
    """A symmetric positive-definite matrix raised to ``power``."""
    values, vectors = np.linalg.eigh(matrix)
    result: np.ndarray = vectors @ np.diag(np.clip(values, 1e-8, None) ** power) @ vectors.T
    return result
