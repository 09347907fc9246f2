"""Paint by region: one mask per painting, white where that painting applies, grey for a soft edge.

Each painting's style is asked for over its own region only (:class:`~nst_core.losses.RegionStyleLoss`); where
no mask applies the photo's content alone is kept. The instant picture is painted once per painting and the
pictures are laid over the photo through the same masks (:func:`composite`).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageFilter

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


def coverage(masks: Sequence[Image.Image], size: tuple[int, int], device: torch.device | str) -> torch.Tensor:
    """(1, 1, H, W): how much of each pixel any painting applies to (the masks summed, at most 1). A run's
    gradient is scaled by it, so where no mask applies the photo stays exactly as it is (the style of a region
    would otherwise reach past its edge through the network's receptive fields: a sky beside a painted region
    took on its strokes) and a soft edge changes in proportion."""
    return mask_tensor(masks, size, device).sum(0, keepdim=True).clamp(max=1.0)


def keep_photo(picture: torch.Tensor, photo: torch.Tensor, cover: torch.Tensor) -> torch.Tensor:
    """The picture where the masks apply and the photo where they do not (the start of each scale: a noise start,
    or a coarser scale's picture brought up to size, would otherwise stay in the uncovered pixels)."""
    return cover * picture + (1.0 - cover) * photo


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
    vectors: Sequence[np.ndarray] | None = None,
) -> Image.Image:
    """The instant picture of each painting, laid over the photo through the masks (:func:`composite`);
    ``vectors``, when given, are :func:`region_vectors`' for this photo."""
    from .instant import get_network, instant_picture

    network = get_network(threads)
    alone = config.replace(style_blend=())
    chosen: list[np.ndarray | None] = list(vectors) if vectors else [None] * len(paintings)
    pictures = [
        instant_picture(network, photo, [painting], alone, size, vector)
        for painting, vector in zip(paintings, chosen, strict=True)
    ]
    return composite(resize(photo, size), pictures, masks)


def region_vectors(
    photo: Image.Image, paintings: Sequence[Image.Image], config: TransferConfig, threads: int | None = None
) -> list[np.ndarray]:
    """Each painting's style vector as :func:`instant_by_region` paints ``photo`` with it."""
    from .instant import get_network, painting_vector

    alone = config.replace(style_blend=())
    return [painting_vector(get_network(threads), photo, [painting], alone) for painting in paintings]


Colour = tuple[int, int, int]
DRAWN = 32  # a drawing's pixel with less alpha than this (of 255) is not drawn on
FEATHER = 1 / 100  # the soft edge a drawn region is given, as a share of the picture's longer side
DATA_URI = "data:image/png;base64,"


def masks_from_strokes(
    strokes: np.ndarray, colours: Sequence[Colour], eraser: Colour, size: tuple[int, int], feather: float = FEATHER
) -> list[Image.Image]:
    """The masks a drawing makes: ``strokes`` (H, W, 4) RGBA, brush strokes of ``colours`` (one per painting,
    the latest stroke on top) and of ``eraser`` (which takes a pixel from every painting). Each drawn pixel goes
    to the colour nearest its own; each mask is resized to ``size`` (the photo's width, height) and given a soft
    edge of ``feather`` x its longer side. A painting with no stroke gets a black mask (see :func:`load_masks`)."""
    rgb, alpha = strokes[..., :3].astype(np.float32), strokes[..., 3]
    palette = np.asarray([*colours, eraser], dtype=np.float32)  # (colours + 1, 3)
    nearest = np.argmin(((rgb[:, :, None, :] - palette) ** 2).sum(-1), axis=-1)
    nearest[alpha < DRAWN] = len(palette)  # not drawn on
    radius = feather * max(size)
    masks = []
    for index in range(len(colours)):
        mask = Image.fromarray(((nearest == index) * 255).astype(np.uint8)).resize(size, Image.Resampling.BILINEAR)
        masks.append(mask.filter(ImageFilter.GaussianBlur(radius)) if radius >= 0.5 else mask)
    return masks


def preview(photo: Image.Image, masks: Sequence[Image.Image], colours: Sequence[Colour],
            opacity: float = 0.6) -> Image.Image:  # fmt: skip
    """The photo with each painting's region tinted in its colour (``colours``: one per mask, or more; where
    regions overlap, their colours share the pixel), the photo as it is where none applies: what a run will
    paint where, before it runs."""
    tints = [Image.new("RGB", photo.size, colour) for colour, _ in zip(colours, masks, strict=False)]
    return composite(photo, tints, [mask.point(lambda level: round(level * opacity)) for mask in masks])


def masks_to_recipe(masks: Sequence[Image.Image], size: tuple[int, int]) -> list[str]:
    """The masks at the picture's ``size`` as PNG data URIs, for a recipe (a painting's regions travel with it)."""
    uris = []
    for mask in masks:
        buffer = io.BytesIO()
        mask.convert("L").resize(size, Image.Resampling.BILINEAR).save(buffer, format="PNG", optimize=True)
        uris.append(DATA_URI + base64.b64encode(buffer.getvalue()).decode("ascii"))
    return uris


def masks_from_recipe(recipe: Mapping[str, Any]) -> list[Image.Image]:
    """The masks a recipe carries (:func:`masks_to_recipe`); [] when it has none or they cannot be read."""
    masks = []
    for uri in recipe.get("masks") or []:
        if not isinstance(uri, str) or not uri.startswith(DATA_URI):
            return []
        try:
            masks.append(Image.open(io.BytesIO(base64.b64decode(uri[len(DATA_URI) :]))).convert("L"))
        except (OSError, ValueError):
            return []
    return masks
