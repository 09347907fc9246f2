"""Every class of bad image is refused with a sentence; every odd-but-valid one is read right."""

from __future__ import annotations

import io
import struct
import warnings
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from nst_core.errors import ImageError
from nst_core.images import (
    MIN_SIDE,
    fit_size,
    load_image,
    png_bytes,
    read_recipe,
    save_png,
    to_pil,
    to_tensor,
)
from tests.conftest import CONTENT, encode


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a size but holds almost nothing: a decompression bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_path_bytes_file_object_and_pil_give_the_same_rgb_image():
    data = CONTENT.read_bytes()
    from_path = load_image(CONTENT)
    assert from_path.mode == "RGB"
    for other in (load_image(data), load_image(io.BytesIO(data)), load_image(Image.open(CONTENT))):
        assert other.size == from_path.size
        assert np.array_equal(np.asarray(other), np.asarray(from_path))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"hello, this is plain text and not a picture", "not an image"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>', "not an image"),
        (b"GIF89a\x01", "damaged|not an image"),
    ],
)
def test_non_images_are_refused(data, message):
    with pytest.raises(ImageError, match=message):
        load_image(data)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_files_are_refused(content_image, fmt):
    data = encode(content_image, fmt)
    with pytest.raises(ImageError, match="truncated or damaged"):
        load_image(data[: len(data) // 2])


def test_decompression_bomb_is_refused_before_decoding():
    with pytest.raises(ImageError, match="too large"):
        load_image(png_header_only(30000, 30000))


def test_between_one_and_two_times_pillows_limit_our_own_cap_refuses():
    # Pillow only warns between 1x and 2x MAX_IMAGE_PIXELS; our cap must refuse.
    assert Image.MAX_IMAGE_PIXELS is not None and 2 * Image.MAX_IMAGE_PIXELS > 10000 * 10000
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and Pillow's warning is not passed on to the visitor's terminal
        with pytest.raises(ImageError, match="too large"):
            load_image(png_header_only(10000, 10000))
    with pytest.raises(ImageError, match="too large"):
        load_image(png_header_only(300, 300), max_pixels=50_000)


def test_files_over_the_byte_cap_are_refused(tmp_path, content_image):
    data = encode(content_image)
    with pytest.raises(ImageError, match="file is too large"):
        load_image(data, max_bytes=len(data) - 1)
    path = tmp_path / "big.png"
    path.write_bytes(data)
    with pytest.raises(ImageError, match="file is too large"):
        load_image(path, max_bytes=100)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(ImageError, match="No image file"):
        load_image(tmp_path / "nope.png")


def test_cmyk_jpeg_becomes_plausible_rgb():
    red = Image.new("RGB", (32, 32), (200, 30, 40)).convert("CMYK")
    image = load_image(encode(red, "JPEG", quality=95))
    r, g, b = np.asarray(image).reshape(-1, 3).mean(0)
    assert image.mode == "RGB"
    assert r > 150 and g < 80 and b < 90


def test_palette_with_transparency_is_composited_on_white():
    palette = Image.new("P", (16, 16), 0)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette.paste(1, (0, 0, 8, 16))
    data = encode(palette, "PNG", transparency=0)
    array = np.asarray(load_image(data))
    assert array[0, 0].tolist() == [255, 0, 0]  # opaque red stays
    assert array[0, 15].tolist() == [255, 255, 255]  # transparent black becomes white


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_composited_on_white(mode):
    colour = (0, 0, 0, 0) if mode == "RGBA" else (0, 0)
    image = load_image(encode(Image.new(mode, (8, 8), colour)))
    assert image.mode == "RGB"
    assert np.asarray(image).min() == 255


def test_16_bit_greyscale_is_scaled_not_clipped():
    array = np.full((16, 16), 128 * 257, dtype=np.uint16)
    data = encode(Image.fromarray(array))
    image = load_image(data)
    assert abs(float(np.asarray(image).mean()) - 128) <= 1


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (40, 20), (10, 200, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    upright = load_image(encode(image, "JPEG", exif=exif.tobytes()))
    assert upright.size == (20, 40)


def test_malformed_exif_does_not_refuse_a_good_picture():
    image = Image.new("RGB", (40, 20), (10, 200, 10))
    loaded = load_image(encode(image, "JPEG", exif=b"Exif\x00\x00MM\x00*garbage-garbage"))
    assert loaded.size == (40, 20)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animated_files_give_their_first_frame(fmt):
    frames = [Image.new("RGB", (16, 16), colour) for colour in [(255, 0, 0), (0, 0, 255), (0, 255, 0)]]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0, lossless=True)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3
    r, g, b = np.asarray(load_image(data)).reshape(-1, 3).mean(0)
    assert r > 200 and g < 50 and b < 50


def test_slivers_are_refused_with_a_sentence_and_tiny_images_are_upscaled():
    with pytest.raises(ImageError, match="too thin"):
        fit_size((4000, 6), 256)
    assert fit_size((1, 1), 64) == (64, 64)
    assert fit_size((4000, 400), 256) == (256, 26)
    assert MIN_SIDE == 16


def test_tensor_round_trip_is_exact(content_image):
    tensor = to_tensor(content_image)
    assert tensor.shape == (1, 3, content_image.height, content_image.width)
    assert float(tensor.min()) >= 0 and float(tensor.max()) <= 1
    assert np.array_equal(np.asarray(to_pil(tensor)), np.asarray(content_image))
    assert to_pil(torch.full((3, 4, 4), 2.0)).getpixel((0, 0)) == (255, 255, 255)


def test_recipe_is_embedded_and_read_back(tmp_path, content_image):
    recipe = {"size": 64, "style_weight": 100.0, "seed": 3, "weights": "original"}
    path = save_png(content_image, tmp_path / "out.png", recipe)
    assert read_recipe(path) == recipe
    assert read_recipe(png_bytes(content_image)) is None
    with pytest.raises(ImageError):
        read_recipe(b"not a png")


def test_timelapse_has_one_frame_per_preview(content_image, style_image):
    from nst_core import TransferConfig, stylize
    from nst_core.images import timelapse_gif

    frames: list[Image.Image] = []
    config = TransferConfig(size=48, steps=4, early_stop=False, preview_every=1)
    stylize(content_image, style_image, config, on_progress=lambda p: frames.append(p.preview))
    gif = Image.open(io.BytesIO(timelapse_gif(frames)))
    assert gif.n_frames == 4 and gif.size == (48, 36)
    with pytest.raises(ImageError, match="at least one preview frame"):
        timelapse_gif([])


def display_p3_profile() -> bytes:
    """A Display P3 ICC profile (v2: its primaries adapted to D50, gamma 2.2 curves), as a phone tags photos."""
    import struct

    def fixed(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + bytes(4) + fixed(x) + fixed(y) + fixed(z)

    name = b"Display P3 (test)\0"
    description = b"desc" + bytes(4) + struct.pack(">I", len(name)) + name + bytes(78)
    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, round(2.2 * 256)) + bytes(2)
    tags = [(b"desc", description), (b"cprt", b"text" + bytes(4) + b"none\0"), (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
            (b"rXYZ", xyz(0.5151, 0.2412, -0.0011)), (b"gXYZ", xyz(0.2919, 0.6922, 0.0419)),
            (b"bXYZ", xyz(0.1571, 0.0666, 0.7841)), (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]  # fmt: skip
    offset, table, data = 128 + 4 + 12 * len(tags), b"", b""
    for signature, body in tags:
        body += bytes(-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = struct.pack(">I4sI4s4s4s", offset + len(data), b"lcms", 0x02100000, b"mntr", b"RGB ", b"XYZ ")
    header += bytes(12) + b"acsp" + bytes(28) + fixed(0.9642) + fixed(1.0) + fixed(0.8249) + bytes(48)
    return header + struct.pack(">I", len(tags)) + table + data


def test_a_photo_tagged_display_p3_is_read_in_srgb_and_outputs_are_tagged_srgb():
    from PIL import ImageCms

    from nst_core.images import png_bytes

    colour = (200, 100, 50)
    tagged = encode(Image.new("RGB", (8, 8), colour), "PNG", icc_profile=display_p3_profile())
    read = load_image(tagged).getpixel((0, 0))
    # P3's red is deeper than sRGB's: the same numbers mean a redder colour, more red and less blue in sRGB.
    assert read[0] > colour[0] + 8 and read[2] < colour[2] - 8, read
    assert load_image(encode(Image.new("RGB", (8, 8), colour))).getpixel((0, 0)) == colour  # untagged: as is
    written = Image.open(io.BytesIO(png_bytes(Image.new("RGB", (4, 4)))))
    profile = ImageCms.ImageCmsProfile(io.BytesIO(written.info["icc_profile"]))
    assert "sRGB" in profile.profile.profile_description
