"""The benchmark's two judges of quality.

The VGG judge:

style distance = mean over relu1_1..relu5_1 of ||G_out - G_style||^2 / ||G_style||^2,
content distance = ||F_out - F_content||^2 / ||F_content||^2 at relu4_2,
with G = F F^T / (C H W), the original VGG19 weights, every image resized so its
longest side is EVAL_SIZE. Our optimiser and pastiche's descend losses built on
the same VGG19 features and Gram matrices (with other layer weights and
normalisations), so this judge favours optimised pictures over feed-forward
ones; every quality claim comes with the pictures side by side, and with the
second judge, :class:`VectorJudge`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image

from nst_core.backbone import FeatureExtractor
from nst_core.config import CONTENT_LAYER, STYLE_LAYERS
from nst_core.images import fit_size, resize, to_tensor
from nst_core.losses import gram_matrix

EVAL_SIZE = 256  # px, longest side


@dataclass(frozen=True)
class Distances:
    style: float
    content: float

    def __str__(self) -> str:
        return f"style {self.style:.4f}, content {self.content:.3f}"

    def at_least_as_good_as(self, other: Distances) -> bool:
        return self.style <= other.style and self.content <= other.content


class Judge:
    """Scores outputs against one content and one style image."""

    def __init__(
        self, extractor: FeatureExtractor, content: Image.Image, style: Image.Image, eval_size: int = EVAL_SIZE
    ) -> None:
        self.extractor = extractor
        self.size = fit_size(content.size, eval_size)
        with torch.no_grad():
            self.content_features = extractor(to_tensor(resize(content, self.size)), [CONTENT_LAYER])[CONTENT_LAYER]
            style_features = extractor(to_tensor(resize(style, fit_size(style.size, eval_size))), STYLE_LAYERS)
            self.style_grams = {name: gram_matrix(style_features[name]) for name in STYLE_LAYERS}

    @torch.no_grad()
    def __call__(self, output: Image.Image) -> Distances:
        features = self.extractor(to_tensor(resize(output.convert("RGB"), self.size)), [CONTENT_LAYER, *STYLE_LAYERS])
        style = sum(
            float((gram_matrix(features[n]) - g).pow(2).sum() / g.pow(2).sum()) for n, g in self.style_grams.items()
        ) / len(STYLE_LAYERS)
        content = float(
            (features[CONTENT_LAYER] - self.content_features).pow(2).sum() / self.content_features.pow(2).sum()
        )
        return Distances(style, content)


class VectorJudge:
    """The second judge: the distance between the style vectors that Magenta's predictor gives a picture
    and the painting (Euclidean, over the 100 numbers). The predictor is a MobileNet that no method in the
    benchmark descends, so, unlike the VGG judge, it does not favour optimised pictures."""

    def __init__(self, style: Image.Image) -> None:
        from nst_core.instant import get_network

        self.network = get_network()
        self.target = self.network.style_vector(style)

    def __call__(self, output: Image.Image) -> float:
        import numpy as np

        return float(np.linalg.norm(self.network.style_vector(output.convert("RGB")) - self.target))
