"""The VGG architectures by name: which layer sits at which index of ``features``.

Layers are named the way the papers name them (``conv4_2``, ``relu4_2``,
``pool4``); the indices are those of torchvision's ``vgg19().features``, so
``conv4_2`` is ``features[21]`` and its ReLU ``features[22]``.
"""

from __future__ import annotations

from functools import cache

# Convolutions per block, for the five blocks, and each block's width.
CONVS_PER_BLOCK: dict[str, tuple[int, ...]] = {
    "vgg19": (2, 2, 4, 4, 4),
    "vgg16": (2, 2, 3, 3, 3),
}
BLOCK_CHANNELS: tuple[int, ...] = (64, 128, 256, 512, 512)


@cache
def layer_names(arch: str = "vgg19") -> tuple[str, ...]:
    """Every module of ``features`` in order: conv1_1, relu1_1, conv1_2, ..., pool5."""
    names: list[str] = []
    for block, convs in enumerate(CONVS_PER_BLOCK[arch], start=1):
        for conv in range(1, convs + 1):
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
        names.append(f"pool{block}")
    return tuple(names)


def layer_index(name: str, arch: str = "vgg19") -> int:
    """The index of a named layer in ``features``.

    Raises:
        ValueError: no such layer in this architecture.
    """
    try:
        return layer_names(arch).index(name)
    except ValueError:
        raise ValueError(f"{arch} has no layer named {name!r}.") from None


@cache
def conv_shapes(arch: str = "vgg19") -> dict[int, tuple[int, int]]:
    """``{features index: (out_channels, in_channels)}`` for each convolution."""
    shapes: dict[int, tuple[int, int]] = {}
    in_channels = 3
    for index, name in enumerate(layer_names(arch)):
        if name.startswith("conv"):
            out_channels = BLOCK_CHANNELS[int(name[4]) - 1]
            shapes[index] = (out_channels, in_channels)
            in_channels = out_channels
    return shapes


def expected_keys(arch: str = "vgg19") -> set[str]:
    """The state-dict keys of ``features``: ``"0.weight"``, ``"0.bias"``, ..."""
    return {f"{index}.{kind}" for index in conv_shapes(arch) for kind in ("weight", "bias")}
