"""Paint by region: each painting over its own mask, the photo kept where none applies, on real weights at
small size; masks that cannot be used give sentences."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from bench.clips import pan_frames, write_clip
from nst_core.cli import EXIT_ERROR, main
from nst_core.compare import distances
from nst_core.config import TransferConfig
from nst_core.errors import ConfigError
from nst_core.images import read_recipe
from nst_core.instant import get_network
from nst_core.media import read_frames
from nst_core.regions import composite, load_masks
from nst_core.transfer import stylize
from tests.conftest import CONTENT, STYLE, STYLE_2, small

CONFIG = TransferConfig(size=96, steps=15, init="fast", early_stop=False, device="cpu")


def mask(size: tuple[int, int], box: tuple[int, int, int, int]) -> Image.Image:
    """White inside ``box`` (left, top, right, bottom), black elsewhere."""
    picture = Image.new("L", size, 0)
    picture.paste(255, box)
    return picture


def judges(picture: Image.Image, photo: Image.Image, painting: Image.Image) -> tuple[float, float]:
    """(the VGG style distance at the picture's own size, the instant network's style-vector distance)."""
    network = get_network()
    vector = float(np.linalg.norm(network.style_vector(picture) - network.style_vector(painting)))
    return distances(picture, photo, [painting], CONFIG)["distance_style"], vector


@pytest.mark.slow
def test_two_paintings_on_two_sides_each_side_nearer_its_own_and_the_middle_kept():
    """Two fifths each side, the fifth between them without a mask (at 128 px: the instant network's style vector
    of a crop a third wide was too unsure to judge by)."""
    photo, starry, scream = small(CONTENT, 128), small(STYLE, 256), small(STYLE_2, 256)
    width, height = photo.size
    third = width * 2 // 5
    masks = [mask(photo.size, (0, 0, third, height)), mask(photo.size, (width - third, 0, width, height))]
    result = stylize(photo, [starry, scream], CONFIG.replace(size=128), masks=masks)
    assert result.recipe["regions"] == 2
    picture = result.image
    left, right = picture.crop((0, 0, third, height)), picture.crop((width - third, 0, width, height))
    photo_left, photo_right = photo.crop((0, 0, third, height)), photo.crop((width - third, 0, width, height))
    for own, other in ((judges(left, photo_left, starry), judges(left, photo_left, scream)),
                       (judges(right, photo_right, scream), judges(right, photo_right, starry))):  # fmt: skip
        assert own[0] < other[0] and own[1] < other[1], (own, other)  # both judges agree
    # The middle third, which no mask covers, keeps the photo away from its edges.
    middle = (third + 6, 6, width - third - 6, height - 6)
    drift = np.abs(np.asarray(picture.crop(middle), float) - np.asarray(photo.crop(middle), float)).mean()
    assert drift < 1, drift  # exactly the photo (the style reached past its region before: 5 levels)


@pytest.mark.slow
def test_a_region_of_a_tenth_of_the_picture_is_painted_as_strongly_as_the_whole():
    photo, starry = small(CONTENT, 96), small(STYLE, 256)
    width, height = photo.size
    box = (width // 2 - 15, height // 2 - 11, width // 2 + 15, height // 2 + 11)  # 30x22 of 96x72: a tenth
    whole = stylize(photo, [starry], CONFIG).image.crop(box)
    region = stylize(photo, [starry], CONFIG, masks=[mask(photo.size, box)]).image.crop(box)
    plain = photo.crop(box)
    strength_whole, _ = judges(whole, plain, starry)
    strength_region, _ = judges(region, plain, starry)
    untouched, _ = judges(plain, plain, starry)
    assert strength_region < untouched * 0.8  # painted, not left as the photo
    assert abs(strength_region / strength_whole - 1) < 0.35, (strength_region, strength_whole)


def test_masks_that_cannot_be_used_give_sentences(tmp_path):
    photo, starry, scream = small(CONTENT, 64), small(STYLE, 64), small(STYLE_2, 64)
    with pytest.raises(ConfigError, match=r"2 painting\(s\) need 2 mask\(s\), one each, not 1"):
        load_masks([mask(photo.size, (0, 0, 10, 10))], 2)
    with pytest.raises(ConfigError, match="Mask 2 is black all over"):
        load_masks([mask(photo.size, (0, 0, 10, 10)), Image.new("L", (5, 5), 0)], 2)
    with pytest.raises(ConfigError, match=r"Mask 1 is 64×64 px, another shape than the photo \(64×48 px\)"):
        load_masks([mask((64, 64), (0, 0, 10, 10))], 1, photo.size)
    assert load_masks([mask((128, 97), (0, 0, 10, 10))], 1, photo.size)  # the photo's shape, another size
    # A mask of another size is resized to the picture; overlapping masks share a pixel; no mask keeps the photo.
    halves = [mask((10, 10), (0, 0, 5, 10)), mask((10, 10), (0, 0, 10, 10))]
    red, blue = Image.new("RGB", photo.size, (255, 0, 0)), Image.new("RGB", photo.size, (0, 0, 255))
    laid = np.asarray(composite(photo, [red, blue], load_masks(halves, 2)), float)
    assert np.allclose(laid[:, :20], [127.5, 0, 127.5], atol=1) and np.allclose(laid[:, -20:], [0, 0, 255], atol=1)
    assert np.array_equal(np.asarray(composite(photo, [red], [Image.new("L", (4, 4), 0)])), np.asarray(photo))
    # On the command line: a sentence and exit status 2, nothing painted.
    paths = []
    for name, picture in (("photo.png", photo), ("a.png", starry), ("b.png", scream), ("m.png", halves[0])):
        picture.save(tmp_path / name)
        paths.append(str(tmp_path / name))
    code = main([paths[0], paths[1], paths[2], "--masks", paths[3], "-o", str(tmp_path / "out.png"), "--quiet"])
    assert code == EXIT_ERROR and not (tmp_path / "out.png").exists()


def test_the_command_line_paints_by_region_and_records_it(tmp_path):
    photo, starry, scream = small(CONTENT, 64), small(STYLE, 64), small(STYLE_2, 64)
    names = {"photo.png": photo, "a.png": starry, "b.png": scream,
             "left.png": mask((8, 6), (0, 0, 4, 6)), "right.png": mask((8, 6), (4, 0, 8, 6))}  # fmt: skip
    for name, picture in names.items():
        picture.save(tmp_path / name)
    out = tmp_path / "out.png"
    argv = [str(tmp_path / n) for n in ("photo.png", "a.png", "b.png")] + [
        "--masks", str(tmp_path / "left.png"), str(tmp_path / "right.png"), "-o", str(out), "--size", "48",
        "--steps", "2", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    assert (read_recipe(out) or {}).get("regions") == 2


def test_a_clip_is_painted_by_region_with_the_same_mask_on_every_frame(tmp_path):
    """The left half painted on every frame (refined, each frame from the one before), the right half kept; a
    mask of another shape than the clip is one sentence."""
    clip = write_clip(tmp_path / "pan.mp4", pan_frames(frames=6))
    left = mask((96, 64), (0, 0, 48, 64))
    left.save(tmp_path / "left.png")
    mask((64, 64), (0, 0, 32, 64)).save(tmp_path / "square.png")
    output = tmp_path / "out.mp4"
    argv = ["video", str(clip), str(STYLE), "-o", str(output), "--size", "96", "--steps", "3", "--no-gif", "--quiet"]
    assert main([*argv, "--masks", str(tmp_path / "left.png")]) == 0
    painted = [np.asarray(frame, float) for frame in read_frames(output, (96, 64))]
    inputs = [np.asarray(frame, float) for frame in read_frames(clip, (96, 64))]
    assert len(painted) == len(inputs) == 6
    for frame, source in zip(painted, inputs, strict=True):
        changed = np.abs(frame - source).mean(-1)
        assert changed[6:-6, 6:40].mean() > 3 * changed[6:-6, 58:-6].mean(), "the left half painted, the right kept"
        assert changed[6:-6, 58:-6].mean() < 8  # within a few levels (the encoder's loss included)
    err = io.StringIO()
    assert main([*argv, "--masks", str(tmp_path / "square.png")], stderr=err) == EXIT_ERROR
    assert "Mask 1 is 64×64 px, another shape than the clip (96×64 px)" in err.getvalue()


def test_a_drawing_becomes_one_mask_per_brush_the_latest_stroke_on_top_and_the_eraser_clears():
    """Half-transparent strokes as the page's canvas returns them (RGBA, straight alpha, composited in order)."""
    from nst_core.regions import masks_from_strokes, preview

    red, blue, white = (255, 75, 75), (28, 131, 225), (255, 255, 255)
    drawing = np.zeros((30, 40, 4), np.float64)

    def stroke(colour: tuple[int, int, int], columns: slice) -> None:  # "source over", alpha 0.5
        under = drawing[:, columns]
        alpha = 0.5 + under[..., 3:] * 0.5
        under[..., :3] = (np.array(colour) * 0.5 + under[..., :3] * under[..., 3:] * 0.5) / alpha
        under[..., 3:] = alpha

    stroke(red, slice(0, 20))
    stroke(blue, slice(15, 40))  # over the red's right edge: blue there
    stroke(white, slice(35, 40))  # the eraser: nobody's
    rgba = np.round(drawing * [1, 1, 1, 255]).astype(np.uint8)
    first, second = (np.asarray(m, float) / 255 for m in masks_from_strokes(rgba, [red, blue], white, (80, 60), 0))
    assert first[:, :28].min() > 0.99 and first[:, 32:].max() < 0.01  # red up to where blue was laid over it
    assert second[:, 32:68].min() > 0.99 and second[:, :28].max() < 0.01 and second[:, 72:].max() < 0.01
    assert masks_from_strokes(np.zeros((30, 40, 4), np.uint8), [red], white, (80, 60))[0].getextrema() == (0, 0)
    tinted = np.asarray(
        preview(Image.new("RGB", (80, 60), (0, 0, 0)), [Image.fromarray((first * 255).astype(np.uint8))], [red])
    )
    assert tuple(tinted[30, 5]) == (153, 45, 45) and tuple(tinted[30, 75]) == (0, 0, 0)  # 60% red; the photo


def test_painted_coarse_to_fine_by_region_the_uncovered_photo_stays_sharp(monkeypatch):
    """Each finer scale starts from the coarser picture brought up to size; where no mask applies it starts from
    the photo at its own size instead (else the upsampled coarse photo stays blurred there)."""
    from nst_core import schedule

    monkeypatch.setattr(schedule, "COARSE_SIZE", 40)  # a 96 px run has two scales: 48 px, then 96 px
    photo, starry = small(CONTENT, 96), small(STYLE, 128)
    width, height = photo.size
    result = stylize(photo, [starry], CONFIG.replace(steps=3), masks=[mask(photo.size, (0, 0, width // 3, height))])
    assert [scale["size"][0] for scale in result.recipe["scales_run"]] == [48, 96]
    kept = (slice(None), slice(width // 2, None))
    change = np.abs(np.asarray(result.image, float)[kept] - np.asarray(photo, float)[kept]).mean()
    assert change < 0.5, change
