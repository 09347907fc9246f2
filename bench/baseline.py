"""The report's implementation, written the way the report writes it.

The whole 37-module VGG19 ``features`` forward every step, Adam with lr 0.003
on the ImageNet-normalised image, Gram = F F^T unnormalised, each layer's style
loss divided by d*h*w, content weight 1, style weight 1e6, the target
initialised from the content. Run on the same original weights as ours (the
normalised image is mapped to their caffe input).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from PIL import Image

from nst_core.backbone import FeatureExtractor
from nst_core.images import to_pil, to_tensor

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
LAYERS = {"1": "conv1_1", "6": "conv2_1", "11": "conv3_1", "20": "conv4_1", "22": "conv4_2", "29": "conv5_1"}
STYLE_WEIGHTS = {"conv1_1": 1.0, "conv2_1": 0.75, "conv3_1": 0.2, "conv4_1": 0.2, "conv5_1": 0.2}


def get_features(image: torch.Tensor, extractor: FeatureExtractor) -> dict[str, torch.Tensor]:
    pixels = image * STD + MEAN
    x = extractor.preprocess(pixels)
    features = {}
    for name, layer in extractor.features._modules.items():
        assert layer is not None
        x = layer(x)
        if name in LAYERS:
            features[LAYERS[name]] = x
    return features


def gram(tensor: torch.Tensor) -> torch.Tensor:
    _, d, h, w = tensor.size()
    tensor = tensor.view(d, h * w)
    return torch.mm(tensor, tensor.t())


def run_baseline(
    content: Image.Image,
    style: Image.Image,
    extractor: FeatureExtractor,
    steps: int = 300,
    every: int = 25,
    on_checkpoint: Callable[[int, float, Image.Image], None] | None = None,
) -> float:
    """Returns the seconds the optimisation took; calls ``on_checkpoint(step, seconds, image)``."""
    content_t = (to_tensor(content) - MEAN) / STD
    style_t = (to_tensor(style.resize(content.size)) - MEAN) / STD
    with torch.no_grad():
        content_features = get_features(content_t, extractor)
        style_features = get_features(style_t, extractor)
        style_grams = {layer: gram(style_features[layer]) for layer in style_features}
    target = content_t.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([target], lr=0.003)
    content_weight, style_weight = 1, 1e6
    started = time.perf_counter()
    paused = 0.0
    for step in range(1, steps + 1):
        target_features = get_features(target, extractor)
        content_loss = torch.mean((target_features["conv4_2"] - content_features["conv4_2"]) ** 2)
        style_loss = torch.zeros(())
        for layer, layer_weight in STYLE_WEIGHTS.items():
            target_feature = target_features[layer]
            target_gram = gram(target_feature)
            _, d, h, w = target_feature.shape
            layer_style_loss = layer_weight * torch.mean((target_gram - style_grams[layer]) ** 2)
            style_loss = style_loss + layer_style_loss / (d * h * w)
        total_loss = content_weight * content_loss + style_weight * style_loss
        optimizer.zero_grad()
        total_loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        if on_checkpoint is not None and (step % every == 0 or step == steps):
            pause = time.perf_counter()
            on_checkpoint(step, pause - started - paused, to_pil(target.detach() * STD + MEAN))
            paused += time.perf_counter() - pause
    return time.perf_counter() - started - paused
