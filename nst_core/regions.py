"""Paint by region: one mask per painting, white where that painting applies, grey for a soft edge.

Each painting's style is asked for over its own region only (:class:`~nst_core.losses.RegionStyleLoss`); where
no mask applies the photo's content alone is kept. The instant picture is painted once per painting and the
pictures are laid over the photo through the same masks (:func:`composite`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from .config import TransferConfig
from .errors import ConfigError
from .images import ImageSource, load_image, resize

EMPTY = 1 / 255  # a mask whose brightest pixel is below this covers nothing
SHAPE_TOLERANCE = 0.05  # a mask's width/height may differ this much (relatively) from the photo's and be resized


def load_masks(
    masks: Sequence[ImageSource], paintings: int, photo_size: tuple[int, int] | None = None, photo: str = "photo"
) -> list[Image.Image]:
    """The masks as greyscale images, one per painting (any size of the photo's shape: each is resized to the
    picture).

    Raises:
        ConfigError: not one mask per painting, a mask that covers nothing, or (given ``photo_size``) a mask of
            another shape than the photo (``photo`` names it): stretched, its regions would not fall where drawn.
        ImageError: a mask cannot be read.
    """
    if len(masks) != paintings:
        raise ConfigError(f"{paintings} painting(s) need {paintings} mask(s), one each, not {len(masks)}.")
    loaded = [load_image(mask).convert("L") for mask in masks]
    for number, mask in enumerate(loaded, start=1):
        if np.asarray(mask).max() < EMPTY * 255:
            raise ConfigError(f"Mask {number} is black all over: it gives its painting no region to paint.")
        if photo_size is not None and not same_shape(mask.size, photo_size):
            raise ConfigError(f"Mask {number} is {mask.width}×{mask.height} px, another shape than the {photo} "
                              f"({photo_size[0]}×{photo_size[1]} px): its regions would not fall where they were "
                              f"drawn. Make it the {photo}'s shape (any size).")  # fmt: skip
    return loaded


def same_shape(first: tuple[int, int], second: tuple[int, int]) -> bool:
    """Whether two sizes have the same width/height ratio, within :data:`SHAPE_TOLERANCE`."""
    return abs((first[0] / first[1]) / (second[0] / second[1]) - 1) <= SHAPE_TOLERANCE


def mask_tensor(masks: Sequence[Image.Image], size: tuple[int, int], device: torch.device | str) -> torch.Tensor:
    """(paintings, 1, H, W) float32 in [0, 1]: the masks at ``size`` (width, height)."""
    arrays = [np.asarray(resize(mask.convert("RGB"), size).convert("L"), dtype=np.float32) / 255.0 for mask in masks]
    return torch.from_numpy(np.stack(arrays)[:, None]).to(device)


def composite(photo: Image.Image, pictures: Sequence[Image.Image], masks: Sequence[Image.Image]) -> Image.Image:
    """Each painting's picture over the photo through its mask (where masks overlap, their pictures share the
    pixel in proportion; where none applies, the photo)."""
    size = photo.size
    weights = mask_tensor(masks, size, "cpu")[:, 0].numpy()[..., None]  # (paintings, H, W, 1)
    total = weights.sum(0)
    shares = weights / np.maximum(total, 1.0)
    painted = sum(share * np.asarray(resize(picture, size), dtype=np.float32)
                  for share, picture in zip(shares, pictures, strict=True))  # fmt: skip
    kept = (1.0 - np.minimum(total, 1.0)) * np.asarray(photo.convert("RGB"), dtype=np.float32)
    return Image.fromarray(np.clip(np.round(painted + kept), 0, 255).astype(np.uint8))


def instant_by_region(
    photo: Image.Image,
    paintings: Sequence[Image.Image],
    config: TransferConfig,
    size: tuple[int, int],
    masks: Sequence[Image.Image],
    threads: int | None = None,
) -> Image.Image:
    """The instant picture of each painting, laid over the photo through the masks (:func:`composite`)."""
    from .instant import get_network, instant_picture

    network = get_network(threads)
    alone = config.replace(style_blend=())
    pictures = [instant_picture(network, photo, [painting], alone, size) for painting in paintings]
    return composite(resize(photo, size), pictures, masks)
