"""The page through Streamlit's AppTest, with the real model at tiny size and few steps."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from nst_core.gate import shared_gate
from nst_core.images import read_recipe
from tests.conftest import ROOT, encode

APP = str(ROOT / "streamlit_app.py")


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch) -> Iterator[None]:
    monkeypatch.setenv("NST_MAX_SIZE", "128")
    monkeypatch.setenv("NST_MAX_STEPS", "4")
    st.cache_resource.clear()  # the runtime reads the environment when first built
    yield
    st.cache_resource.clear()


def new_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception
    return at


def paint(at: AppTest) -> AppTest:
    at.slider(key="size").set_value(64)
    at.slider(key="steps").set_value(2)
    at.form_submit_button[0].click()
    at.run()
    return at


def result_images(at: AppTest) -> list:
    captions = [getattr(image, "caption", "") for image in at.image]
    return captions


def assert_painted(at: AppTest) -> dict:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.subheader.values[-1] in ("Result", "This session's paintings")
    downloads = at.get("download_button")
    assert [d.proto.label for d in downloads] == ["Download PNG", "Download recipe (JSON)"]
    entry = at.session_state["gallery"][0]
    assert entry.image.size == (64, 48) or max(entry.image.size) == 64
    recipe = read_recipe(entry.png)
    assert recipe is not None and recipe["size"] == 64 and recipe["steps"] == 2
    json.loads(json.dumps(entry.recipe))
    return recipe


def test_examples_happy_path_shows_three_images_downloads_and_recipe():
    at = paint(new_app())
    recipe = assert_painted(at)
    assert recipe["weights"] == "original"
    # Photo, painting and result side by side, after the example thumbnails and style previews.
    assert len(at.image) >= 3 + 5 + 1


def test_uploaded_files_run_and_a_bad_upload_gives_an_error_then_recovers(content_image, style_image):
    at = new_app()
    at.radio(key="content_source").set_value("Upload")
    at.run()
    at.file_uploader(key="content_upload").set_value(("notes.png", b"this is not an image", "image/png"))
    at.run()
    assert not at.exception
    assert any("not an image" in e.value for e in at.error)
    at.file_uploader(key="content_upload").set_value(("photo.png", encode(content_image), "image/png"))
    at.multiselect(key="style_examples").set_value([])
    at.file_uploader(key="style_uploads").set_value([("style.jpg", encode(style_image, "JPEG"), "image/jpeg")])
    at.run()
    assert not at.error
    assert_painted(paint(at))


def test_too_large_upload_is_refused_by_our_own_check(monkeypatch, content_image):
    monkeypatch.setenv("NST_MAX_UPLOAD_MB", "0.01")
    at = new_app()
    at.radio(key="content_source").set_value("Upload")
    at.run()
    at.file_uploader(key="content_upload").set_value(("big.png", encode(content_image.resize((400, 300))), "image/png"))
    at.run()
    assert not at.exception
    assert any("too large" in e.value for e in at.error)


def test_empty_file_and_no_painting_are_refused_with_a_sentence():
    at = new_app()
    at.radio(key="content_source").set_value("Upload")
    at.run()
    at.file_uploader(key="content_upload").set_value(("empty.png", b"", "image/png"))
    at.run()
    assert any("empty" in e.value for e in at.error)
    at.radio(key="content_source").set_value("Examples")
    at.multiselect(key="style_examples").set_value([])
    at.run()
    paint(at)
    assert not at.exception
    assert any("Choose at least one painting" in e.value for e in at.error)


def test_a_full_queue_answers_busy_at_once(monkeypatch):
    monkeypatch.setenv("NST_MAX_WAITING", "0")
    gate = shared_gate(1, 0)
    ticket = gate.try_enter("someone-else")
    try:
        at = paint(new_app())
        assert not at.exception
        assert any("busy" in w.value for w in at.warning)
        assert gate.waiting == 0 and gate.inside == 1
    finally:
        gate.release(ticket)
    assert_painted(paint(at))


def test_unreachable_weights_say_so_and_offer_the_original(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    at = new_app()
    at.selectbox(key="weights").set_value("hub")
    paint(at)
    assert not at.exception
    assert any("Original VGG19" in e.value for e in at.error)
    at.selectbox(key="weights").set_value("original")
    assert_painted(paint(at))


def test_use_these_settings_again_restores_the_form():
    at = new_app()
    at.select_slider(key="style_weight").set_value(1000.0)
    paint(at)
    at.select_slider(key="style_weight").set_value(10.0)
    at.run()
    at.button(key="reuse_1").click()
    at.run()
    assert at.select_slider(key="style_weight").value == 1000.0
    assert at.slider(key="size").value == 64


def test_gallery_keeps_this_sessions_runs_and_sessions_are_isolated(content_image):
    first = paint(new_app())
    paint(first)
    assert [entry.number for entry in first.session_state["gallery"]] == [2, 1]
    assert "This session's paintings" in first.subheader.values
    second = new_app()
    assert "gallery" not in second.session_state or not second.session_state["gallery"]
    assert "Result" not in second.subheader.values
