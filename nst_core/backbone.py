"""The frozen VGG feature extractor, built once per process and shared.

It takes images in [0, 1] and does its own preprocessing (caffe or ImageNet,
as its weights expect), so no caller has to know which weights are loaded.
A forward pass stops at the deepest layer asked for.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence

import torch
from torch import nn

from . import vgg
from .weights import IMAGENET_MEAN, IMAGENET_STD, BackboneWeights, load_weights

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)  # on 0-255 values


class FeatureExtractor(nn.Module):
    """VGG ``features`` with named outputs; parameters frozen.

    ``forward(image, layers)`` takes a (N, 3, H, W) RGB tensor with values
    in [0, 1] and returns ``{layer name: activation}`` for the layers asked.
    The preprocessing runs in the image's dtype; the network in ``dtype``
    (see :meth:`at_precision`), so a bf16 extractor returns bf16 activations.
    """

    scale: torch.Tensor
    shift: torch.Tensor

    def __init__(self, weights: BackboneWeights) -> None:
        super().__init__()
        self.arch = weights.arch
        self.preprocessing = weights.preprocessing
        self.description = weights.description
        self.names = vgg.layer_names(weights.arch)
        shapes = vgg.conv_shapes(weights.arch)
        layers: list[nn.Module] = []
        for index, name in enumerate(self.names):
            if name.startswith("conv"):
                out_channels, in_channels = shapes[index]
                # On the meta device: no random initialisation of weights that are replaced at once.
                layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, device="meta"))
            elif name.startswith("relu"):
                layers.append(nn.ReLU(inplace=False))  # keeps conv outputs readable as layers
            else:
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        self.features = nn.Sequential(*layers)
        self.features.load_state_dict(weights.state_dict, strict=True, assign=True)
        if weights.preprocessing == "caffe":
            scale = torch.full((3,), 255.0)
            shift = torch.tensor(CAFFE_MEAN_BGR[::-1])  # RGB order of the BGR mean
        else:
            scale = 1.0 / torch.tensor(IMAGENET_STD)
            shift = torch.tensor(IMAGENET_MEAN) / torch.tensor(IMAGENET_STD)
        self.register_buffer("scale", scale.view(1, 3, 1, 1))
        self.register_buffer("shift", shift.view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()
        self.dtype = torch.float32
        self.memory_format = torch.contiguous_format
        self._variants: dict[torch.dtype, FeatureExtractor] = {}

    def at_precision(self, dtype: torch.dtype) -> FeatureExtractor:
        """This extractor with its convolutions in ``dtype``; made once, then shared.

        Reduced precision (bf16) also switches to the channels_last layout, in
        which oneDNN (AMX on CPU) and cuDNN (tensor cores) run bf16 convolutions
        fastest. The preprocessing buffers stay fp32.
        """
        if dtype == self.dtype:
            return self
        with _variants_lock:
            variant = self._variants.get(dtype)
            if variant is None:
                variants, self._variants = self._variants, {}
                try:
                    variant = copy.deepcopy(self)
                finally:
                    self._variants = variants
                variant.dtype = dtype
                variant.memory_format = torch.channels_last if dtype != torch.float32 else torch.contiguous_format
                for module in variant.features:
                    if isinstance(module, nn.Conv2d):
                        module.to(dtype=dtype)
                        module.to(memory_format=variant.memory_format)
                self._variants[dtype] = variant
            return variant

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        """[0, 1] RGB to what the weights were trained on (caffe: BGR, 0-255, minus mean)."""
        x = image * self.scale - self.shift
        if self.preprocessing == "caffe":
            x = x.flip(1)
        return x

    def forward(self, image: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        wanted = set(layers)
        last = max(vgg.layer_index(name, self.arch) for name in sorted(wanted))  # ValueError names an unknown one
        outputs: dict[str, torch.Tensor] = {}
        x = self.preprocess(image).to(dtype=self.dtype, memory_format=self.memory_format)
        for index in range(last + 1):
            x = self.features[index](x)
            name = self.names[index]
            if name in wanted:
                outputs[name] = x
        return outputs


_cache: dict[tuple[str, str, str], FeatureExtractor] = {}
_cache_lock = threading.Lock()
_variants_lock = threading.Lock()


def get_extractor(
    source: str = "original",
    arch: str = "vgg19",
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> FeatureExtractor:
    """The shared extractor for these weights on this device, loaded on first use.

    Thread-safe: concurrent first calls load the weights once. ``dtype`` picks
    the precision of the convolutions (see :meth:`FeatureExtractor.at_precision`).

    Raises:
        WeightsError: the weights cannot be loaded.
    """
    key = (source, arch, str(torch.device(device)))
    with _cache_lock:
        extractor = _cache.get(key)
        if extractor is None:
            extractor = FeatureExtractor(load_weights(source, arch)).to(device)
            _cache[key] = extractor
    return extractor.at_precision(dtype)


def clear_cache() -> None:
    """Forget every loaded extractor (frees their memory)."""
    with _cache_lock:
        _cache.clear()
