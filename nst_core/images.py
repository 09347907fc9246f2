"""Reading untrusted images safely, converting them to tensors, saving results.

Importing this module does not import torch (the tensor conversions import it
when called), so the instant path can read images cheaply.

Order of checks in :func:`load_image`: byte cap, ``Image.open`` restricted to
our formats, pixel cap on the header (before any decoding, so a
decompression bomb costs nothing), decoding, EXIF orientation, first frame,
mode normalisation to RGB, colours from an embedded profile to sRGB.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeAlias

import numpy as np
from PIL import Image, ImageCms, ImageOps, PngImagePlugin, UnidentifiedImageError

from .errors import ImageError

if TYPE_CHECKING:
    import torch

FileSource: TypeAlias = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]
ImageSource: TypeAlias = FileSource | Image.Image

ALLOWED_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
MIN_SIDE = 16  # px; the smallest side that survives VGG's four pools down to relu5_1
RECIPE_KEY = "nst_recipe"

_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)


def load_image(
    source: ImageSource,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int | None = None,
) -> Image.Image:
    """Open an image from a path, bytes, a file object or a PIL image, as RGB.

    Args:
        source: the image. A PIL image is only normalised, not size-checked
            against ``max_bytes``.
        max_bytes: refuse files larger than this.
        max_pixels: refuse images whose header declares more pixels than this.
        max_side: if given, JPEG decoding may shrink the image on the fly to
            no less than this longest side (cheap and exact enough for NST).

    Returns:
        A fully loaded ``RGB`` image, EXIF orientation applied, alpha
        composited onto white, 16-bit channels scaled to 8 bits.

    Raises:
        ImageError: empty, too large, not an image, truncated or damaged.
    """
    if isinstance(source, Image.Image):
        _check_pixels(source.size, max_pixels)
        return _normalise(source)
    data = _read_bytes(source, max_bytes)
    try:
        with warnings.catch_warnings():  # Pillow's bomb warning: our own pixel cap, just below, decides
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
    except UnidentifiedImageError:
        raise ImageError("This file is not an image we can read; use PNG, JPEG, WebP, GIF or BMP.") from None
    except Image.DecompressionBombError:
        raise ImageError(f"This image is too large to process; the limit is {max_pixels / 1e6:g} megapixels.") from None
    except _DECODE_ERRORS:
        raise ImageError("This image file is damaged and cannot be read.") from None
    _check_pixels(image.size, max_pixels)
    if max_side is not None and image.format == "JPEG":
        image.draft("RGB", (max_side, max_side))
    try:
        image.load()
    except _DECODE_ERRORS:
        raise ImageError("This image file is truncated or damaged and cannot be decoded.") from None
    return _normalise(image)


def shown_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of an image file as it is shown (its EXIF turn applied), from its header alone; None if
    the header cannot be read."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            turned = image.getexif().get(0x0112) in (5, 6, 7, 8)  # Orientation: a quarter turn
    except (UnidentifiedImageError, *_DECODE_ERRORS):
        return None
    return (height, width) if turned else (width, height)


def _read_bytes(source: FileSource, max_bytes: int) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"No image file at {path}.")
        if path.stat().st_size > max_bytes:
            raise ImageError(_too_large(path.stat().st_size, max_bytes))
        data = path.read_bytes()
    else:
        data = source.read(max_bytes + 1)
    if not data:
        raise ImageError("The file is empty.")
    if len(data) > max_bytes:
        raise ImageError(_too_large(len(data), max_bytes))
    return data


def _too_large(size: int, max_bytes: int) -> str:
    return f"The file is too large ({size / 1e6:.1f} MB); the limit is {max_bytes / 1e6:.1f} MB."


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise ImageError(
            f"This image is too large ({width}x{height} pixels); the limit is {max_pixels / 1e6:g} megapixels."
        )
    if width < 1 or height < 1:
        raise ImageError("This image has no pixels.")


def _normalise(image: Image.Image) -> Image.Image:
    """Any Pillow image to a loaded RGB image (first frame, upright, no alpha)."""
    try:
        if getattr(image, "n_frames", 1) > 1:
            image.seek(0)
        try:
            upright = ImageOps.exif_transpose(image)
            image = upright if upright is not None else image
        except Exception:  # noqa: BLE001 - malformed EXIF must not refuse a good picture
            pass
        return _in_srgb(_to_rgb(image), image.info.get("icc_profile"))
    except _DECODE_ERRORS:
        raise ImageError("This image file is truncated or damaged and cannot be decoded.") from None


def _in_srgb(image: Image.Image, profile: bytes | None) -> Image.Image:
    """An RGB image's colours converted from its embedded profile (a phone's Display P3, say) to sRGB, the space
    the networks were trained in and the output is tagged with; unchanged without a profile, or with an RGB
    profile that cannot be read (its colours are then taken as sRGB)."""
    if not profile:
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        if source.profile.xcolor_space.strip() != "RGB":
            return image
        converted = ImageCms.profileToProfile(image, source, _srgb(), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image
    return converted if converted is not None else image


def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def srgb_profile() -> bytes:
    """The sRGB profile every PNG we write is tagged with."""
    return bytes(_srgb().tobytes())


def _to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image.copy()
    if mode.startswith("I") or mode == "F":
        # 16-bit and float greyscale: scale to 8 bits rather than clip to white.
        array = np.asarray(image, dtype=np.float64)
        if mode == "F":
            peak = 1.0 if array.max(initial=0.0) <= 1.0 else 255.0
        else:
            peak = 65535.0 if array.max(initial=0.0) > 255 or "16" in mode else 255.0
        grey = np.clip(np.round(array * (255.0 / peak)), 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def fit_size(size: tuple[int, int], longest: int, check: bool = True) -> tuple[int, int]:
    """(width, height) scaled so the longest side is ``longest``, aspect kept.

    Raises:
        ImageError: the shorter side would fall under :data:`MIN_SIDE` pixels (unless ``check`` is False).
    """
    width, height = size
    scale = longest / max(width, height)
    new = (max(1, round(width * scale)), max(1, round(height * scale)))
    if check and min(new) < MIN_SIDE:
        raise ImageError(
            f"This image is too thin ({width}x{height}): at {longest} px its shorter side would be "
            f"{min(new)} px, and at least {MIN_SIDE} px are needed. Crop it or choose a larger size."
        )
    return new


def resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Resize with a filter that suits the direction (Lanczos down, bicubic up)."""
    if image.size == size:
        return image
    shrinking = size[0] * size[1] < image.size[0] * image.size[1]
    return image.resize(size, Image.Resampling.LANCZOS if shrinking else Image.Resampling.BICUBIC)


def weaker(picture: Image.Image, base: Image.Image, strength: float) -> Image.Image:
    """``picture`` at ``strength`` in [0, 1]: blended with ``base`` (the photo, say; resized to the picture), 1
    the picture as it is, 0 the base."""
    strength = min(1.0, max(0.0, strength))
    return Image.blend(resize(base.convert("RGB"), picture.size), picture.convert("RGB"), strength)


def to_tensor(image: Image.Image, device: torch.device | str = "cpu") -> torch.Tensor:
    """RGB PIL image to a (1, 3, H, W) float32 tensor, values in [0, 1]."""
    import torch  # here, not at the top: the instant path reads images without importing torch

    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous().to(device)


def to_pil(tensor: torch.Tensor) -> Image.Image:
    """(1, 3, H, W) or (3, H, W) tensor, values in [0, 1], to an RGB PIL image."""
    image = tensor.detach()
    if image.dim() == 4:
        image = image[0]
    array = image.clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(np.ascontiguousarray(array))


def png_bytes(image: Image.Image, recipe: Mapping[str, Any] | None = None) -> bytes:
    """Encode as PNG, with the recipe as JSON in a text chunk."""
    info = PngImagePlugin.PngInfo()
    if recipe is not None:
        info.add_text(RECIPE_KEY, json.dumps(recipe, sort_keys=True))
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG", pnginfo=info, icc_profile=srgb_profile())
    return buffer.getvalue()


def save_png(image: Image.Image, path: str | os.PathLike[str], recipe: Mapping[str, Any] | None = None) -> Path:
    """Write a PNG with its recipe embedded; returns the path written."""
    target = Path(path)
    target.write_bytes(png_bytes(image, recipe))
    return target


def timelapse_gif(frames: Sequence[Image.Image], seconds_per_frame: float = 0.15, hold_last: float = 1.5) -> bytes:
    """An animated GIF of a run's preview frames; the last frame is held a little longer.

    Raises:
        ImageError: no frames.
    """
    if not frames:
        raise ImageError("A time-lapse needs at least one preview frame; set preview_every above 0.")
    size = frames[-1].size
    images = [frame.convert("RGB").resize(size) for frame in frames]
    durations = [round(seconds_per_frame * 1000)] * (len(images) - 1) + [round(hold_last * 1000)]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0)
    return buffer.getvalue()


def read_recipe(source: str | os.PathLike[str] | bytes) -> dict[str, Any] | None:
    """The recipe embedded by :func:`save_png`, or None if the PNG has none.

    Raises:
        ImageError: the file is not a readable PNG.
    """
    data = Path(source).read_bytes() if isinstance(source, (str, os.PathLike)) else source
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            text = getattr(image, "text", {}).get(RECIPE_KEY)
    except (UnidentifiedImageError, *_DECODE_ERRORS):
        raise ImageError("This file is not a PNG written by nst_core.") from None
    if text is None:
        return None
    recipe: dict[str, Any] = json.loads(text)
    return recipe
