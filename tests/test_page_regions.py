"""Paint by region and strength after the fact on the page, through AppTest, with the real models at tiny size.

AppTest does not draw the canvas (a browser component): the drawing is exercised in the browser tests
(``test_e2e.py``); here the regions come from uploaded masks, and from "use these settings again".
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from nst_core.images import load_image, read_recipe
from nst_core.regions import masks_from_recipe
from tests.conftest import CONTENT, encode
from tests.test_app import fresh_caches, new_app, paint  # noqa: F401 (the fixture is autouse here too)


def halves(size: tuple[int, int]) -> list[Image.Image]:
    """White on the left half, and on the right half."""
    width, height = size
    left, right = Image.new("L", size, 0), Image.new("L", size, 0)
    left.paste(255, (0, 0, width // 2, height))
    right.paste(255, (width - width // 2, 0, width, height))
    return [left, right]


def images(at: AppTest) -> dict[str, Image.Image | str]:
    """The page's images by caption (the proto's URL: AppTest keeps the media in memory)."""
    found: dict[str, Image.Image | str] = {}

    def walk(node: object) -> None:
        children = getattr(node, "children", None)
        for child in children.values() if isinstance(children, dict) else children or []:
            if type(child).__name__ == "Image":
                for image in child.proto.imgs:
                    found[image.caption] = image.url
            walk(child)

    walk(at._tree)
    return found


def with_regions(masks: list[Image.Image]) -> AppTest:
    at = new_app()
    at.multiselect(key="style_examples").set_value(["Starry Night", "The Scream"])
    at.toggle(key="regions_on").set_value(True)
    at.run()
    at.radio(key="regions_source").set_value("Upload masks")
    at.run()
    files = [(f"mask-{n}.png", encode(mask), "image/png") for n, mask in enumerate(masks, start=1)]
    at.file_uploader(key="regions_uploads").set_value(files)
    at.run()
    return at


def test_uploaded_masks_are_previewed_painted_by_region_and_kept_in_the_recipe():
    photo = load_image(CONTENT)
    at = with_regions(halves(photo.size))
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "What will be painted where" in images(at)
    assert any("Starry Night" in m.value and "The Scream" in m.value for m in at.markdown)  # the legend
    assert "Blend of the paintings" not in [c.value for c in at.caption]  # not blended: each has its place
    paint(at)
    assert not at.exception and not at.error, [e.value for e in at.error]
    entry = at.session_state["gallery"][0]
    assert "2 regions" in entry.note
    recipe = read_recipe(entry.png())
    assert recipe is not None and recipe["regions"] == 2
    kept = masks_from_recipe(recipe)
    assert [mask.size for mask in kept] == [entry.image.size] * 2
    left = np.asarray(kept[0], float)
    assert left[:, : left.shape[1] // 3].mean() > 250 and left[:, -left.shape[1] // 3 :].mean() < 5


def test_a_painting_without_a_region_or_masks_of_another_shape_are_sentences():
    photo = load_image(CONTENT)
    empty = [halves(photo.size)[0], Image.new("L", photo.size, 0)]
    at = with_regions(empty)
    said = [info.value for info in at.info]
    assert any("The Scream has no region yet" in text for text in said), said
    at.button(key="FormSubmitter:parameters-Paint it").click()
    at.run()
    assert any("The Scream has no region yet" in error.value for error in at.error)
    assert "gallery" not in at.session_state or not at.session_state["gallery"]  # nothing painted
    at = with_regions([mask.resize((100, 100)) for mask in halves(photo.size)])
    assert any("another shape than the photo" in info.value for info in at.info)


@pytest.mark.slow
def test_use_these_settings_again_brings_the_regions_back():
    photo = load_image(CONTENT)
    at = paint(with_regions(halves(photo.size)))
    at.toggle(key="regions_on").set_value(False)
    at.run()
    at.button(key="reuse_1").click()
    at.run()
    assert at.toggle(key="regions_on").value is True
    assert at.radio(key="regions_source").value == "As painting #1"
    assert "What will be painted where" in images(at)
    paint(at)
    again = at.session_state["gallery"][0]
    assert again.number == 2 and read_recipe(again.png())["regions"] == 2


def test_the_strength_slider_blends_the_shown_picture_and_its_download_without_a_run():
    at = paint(new_app())
    entry = at.session_state["gallery"][0]
    full = np.asarray(entry.image, float)
    photo = np.asarray(entry.photo, float)
    at.slider(key="strength_1").set_value(40)
    at.run()
    assert not at.exception
    assert at.session_state["gallery"][0] is entry and len(at.session_state["gallery"]) == 1  # no new run
    caption = next(caption for caption in images(at) if caption.startswith("#1 "))
    assert "strength 40%" in caption
    assert list(entry._pngs) == [(0.4, "photo")]  # the download button was given the blend shown
    png = entry.png(0.4, "photo")
    shown = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), float)
    assert np.abs(shown - (0.4 * full + 0.6 * photo)).max() <= 1.0  # the blend, to rounding
    recipe = read_recipe(png)
    assert recipe["shown_strength"] == 0.4 and recipe["blended_with"] == "photo"
    # A refined painting can be blended with its instant start instead.
    at.radio(key="toward_1").set_value("its instant picture")
    at.run()
    instant = np.asarray(entry.start, float)
    towards_start = np.asarray(entry.shown(0.4, "instant"), float)
    assert np.abs(towards_start - (0.4 * full + 0.6 * instant)).max() <= 1.0
    assert "with its instant picture" in next(c for c in images(at) if c.startswith("#1 "))
    # A second painting takes the slider; the first keeps the strength it was last shown at (its gallery tile).
    paint(at)
    assert not at.exception and at.slider(key="strength_2").value == 100
    assert (entry.strength, entry.toward) == (0.4, "instant")


@pytest.mark.slow
def test_the_video_page_paints_a_clip_by_region(tmp_path):
    """A mask uploaded for the clip's first frame: the left half of every frame painted, the right half kept."""
    from bench.clips import pan_frames, write_clip
    from nst_core.media import read_frames
    from tests.test_app import video_page

    frames = pan_frames(frames=6)
    clip = write_clip(tmp_path / "pan.mp4", frames)
    at = video_page()
    at.radio(key="video_source").set_value("Upload")
    at.run()
    at.file_uploader(key="video_upload").set_value(("pan.mp4", clip.read_bytes(), "video/mp4"))
    at.toggle(key="regions_on").set_value(True)
    at.run()
    at.radio(key="regions_source").set_value("Upload masks")
    at.run()
    at.file_uploader(key="regions_uploads").set_value([("left.png", encode(halves(frames[0].size)[0]), "image/png")])
    at.slider(key="video_size").set_value(96)
    at.run()
    assert "What will be painted where" in images(at)
    at.button(key="FormSubmitter:video-Paint the clip").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    painted = tmp_path / "painted.mp4"
    painted.write_bytes(at.session_state["video_result"].mp4)
    size = frames[0].size
    for frame, source in zip(read_frames(painted, size), read_frames(clip, size), strict=True):
        changed = np.abs(np.asarray(frame, float) - np.asarray(source, float)).mean(-1)
        assert changed[6:-6, 6:40].mean() > 3 * changed[6:-6, 58:-6].mean()
