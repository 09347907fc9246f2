"""What the browser tests share: the test server, Debian's chromium driven by Playwright, and the steps a
visitor takes on the page (tests/test_e2e.py: one visitor on each page; tests/test_e2e_visitors.py: several
visitors on one server, through the job service)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from bench.load import BROWSER_ARGS, CHROMIUM, RUNNING, free_port, start_server, told_wait
from nst_core.config import default_steps
from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"
SHARE = 12  # s, the test server's fair turn
TEST_SERVER = {"NST_MAX_SIZE": "96", "NST_MAX_STEPS": "300", "NST_FAIR_SHARE_SECONDS": str(SHARE)}


def _browser_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no browser at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


@contextmanager
def served(env: dict[str, str], *options: str) -> Iterator[str]:
    """``streamlit run`` with these environment variables and options; its address, and the server ended after.
    Skips (fails where ``NST_REQUIRE_BROWSER=1``, as in CI) when there is no browser to drive it."""
    reason = _browser_missing()
    if reason:
        if os.environ.get("NST_REQUIRE_BROWSER") == "1":
            pytest.fail(f"The browser test is required here, but {reason}.")
        pytest.skip(reason)
    port = free_port()
    server = start_server(port, env, *options)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=20)


_shared: list[Any] = []  # [playwright, browser] once started: one browser for the whole test run


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's chromium through Playwright, started once per test run (not once per test: bench/results/suite.md);
    every window and context opened inside is closed at the end, so each test starts with none."""
    if not _shared or not _shared[1].is_connected():
        close_browser()
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        _shared[:] = [playwright, playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)]
    browser = _shared[1]
    before = list(browser.contexts)
    try:
        yield browser
    finally:
        for context in browser.contexts:
            if context not in before:
                context.close()


def close_browser() -> None:
    """End the shared browser and its Playwright (at the end of the test run; nothing if none was started)."""
    if _shared:
        playwright, browser = _shared
        _shared.clear()
        try:
            browser.close()
        finally:
            playwright.stop()


@contextmanager
def open_page(url: str, upload: bool = True) -> Iterator[Any]:
    """The paint page in a desktop window, drawn, with "Upload" chosen for the photo (else the examples)."""
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 2000})
        page.goto(url)
        page.get_by_text("1 · Your photo").wait_for(timeout=60_000)
        if upload:
            choose_upload(page)
        else:
            wait_until_idle(page)
        yield page


def choose_upload(page: Any, label: str = "Upload a photo") -> None:
    """Pick "Upload" for the photo (or the clip: ``label``, the uploader's), once the page is idle; a click
    made while the first script run was still drawing the picker was lost now and then (CI), so it is made
    again until the uploader is there."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    uploader = file_input(page, label)
    for _ in range(3):
        wait_until_idle(page)
        try:
            # The radio's visible option: found by its text alone, now and then a hidden <p>Upload</p> came
            # first and the click waited its whole 10 s for it to show (bench/results/suite.md); an uploader's
            # own "Upload" button is another such text.
            option = page.locator("[data-testid='stRadioOption']").filter(has_text=re.compile(r"^\s*Upload\s*$"))
            option.filter(visible=True).first.click(timeout=10_000)
            uploader.wait_for(state="attached", timeout=15_000)
            return
        except PlaywrightTimeout:
            continue
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "e2e-no-uploader.png"), full_page=True)
    raise AssertionError(f"the uploader {label!r} did not appear after three clicks on Upload")


CONTRAST_JS = (Path(__file__).parent / "contrast.js").read_text()


def assert_readable(page: Any) -> None:
    """Every visible text on the page reaches WCAG AA contrast (4.5:1) against what is drawn behind it, once the
    page is drawn (while a script runs, Streamlit fades what it may replace)."""
    wait_until_idle(page)
    page.wait_for_timeout(300)
    texts = page.evaluate(CONTRAST_JS)
    assert len(texts) > 10  # the check saw the page
    faint = [text for text in texts if text["ratio"] < 4.5]
    assert not faint, [f"{text['text']!r} {text['testid']} {text['ratio']}" for text in faint]


def open_painting_upload(page: Any) -> None:
    """Unfold "…or upload your own" (folded, so a phone reaches the button sooner)."""
    page.get_by_text("…or upload your own").first.click()
    page.wait_for_timeout(300)


def file_input(page: Any, label: str) -> Any:
    """The file input of the uploader whose label starts with `label` (never another one on the page)."""
    uploader = page.locator("[data-testid='stFileUploader']").filter(has_text=label)
    return uploader.locator("[data-testid='stFileUploaderDropzoneInput']")


def wait_until_idle(page: Any) -> None:
    """Until the script's run is over (Streamlit shows its status widget while a script runs)."""
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=60_000)


def wait_until_settled(page: Any) -> None:
    """Until a finished run's page is drawn for good: the script idle and the run's live view (its Stop button,
    progress and pictures) gone. Right after the result appears, the live view of the run before can still be
    on the page for a moment, and a picture measured in it vanished under the test (CI, 2026-11-28)."""
    from playwright.sync_api import expect

    wait_until_idle(page)
    expect(page.get_by_role("button", name="Stop and keep this")).to_have_count(0, timeout=30_000)
    expect(page.locator("[data-testid='stProgress']")).to_have_count(0, timeout=30_000)


def slider_named(page: Any, label: str) -> Any:
    """The slider with this label (its accessible name also holds its value, so it is found by aria-label)."""
    return page.locator(f"input[type='range'][aria-label='{label}']")


def set_steps(page: Any, steps: int) -> None:
    """Move the Steps slider with the keyboard: Home or End, then arrow presses from the nearer end.

    Key presses made while the script is still running can be lost when the slider is drawn again,
    so this waits for an idle page and tries again (at most three times) until the value holds. The slider
    is found by its label, not its place: found as the page's second slider, it read 300 where 3 was asked on
    the compare page (CI, 2026-11-28), which only bounds read from a 0-to-1 slider explain (End pressed).
    """
    slider = slider_named(page, "Steps per scale")
    for _ in range(3):
        wait_until_idle(page)
        slider.focus()
        low, high = int(slider.get_attribute("min")), int(slider.get_attribute("max"))  # an <input type=range>
        if steps - low <= high - steps:
            slider.press("Home")
            presses, key = steps - low, "ArrowRight"
        else:
            slider.press("End")
            presses, key = high - steps, "ArrowLeft"
        for _ in range(presses):
            slider.press(key)
        if holds(slider, str(steps)):
            break
    assert slider.input_value() == str(steps)


def holds(slider: Any, value: str, seconds: float = 3.0) -> bool:
    """Whether the slider shows ``value`` within ``seconds``: a key press is sent before the page has drawn its
    result, and read at once on a loaded host the slider still showed the value before (CI, 2026-11-30)."""
    deadline = time.monotonic() + seconds
    while slider.input_value() != value:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def start_a_long_example_run(page: Any) -> None:
    """An example photo painted with the most steps, until its first previews exist."""
    wait_until_idle(page)
    page.get_by_text("Examples", exact=True).first.click()
    page.get_by_role("button", name="Paint it").wait_for(timeout=30_000)
    set_steps(page, 300)
    no_early_stop(page)
    page.get_by_role("button", name="Paint it").click()
    page.get_by_text("s left").first.wait_for(timeout=60_000)
    page.locator("[data-testid='stImage']").filter(has_text=re.compile(r"^Step \d+$")).first.wait_for(
        timeout=60_000
    )  # a preview exists


def no_early_stop(page: Any) -> None:
    """Untick "Stop when converged" under Advanced, so that a run really runs its steps (checked until it is
    unticked: a click made while the section was still opening was lost once, and the run stopped early, CI
    2026-11-30)."""
    page.get_by_text("Advanced").first.click()
    box = page.get_by_role("checkbox", name="Stop when converged")
    for _ in range(3):
        if not box.is_checked():
            return
        page.get_by_text("Stop when converged").click()
        deadline = time.monotonic() + 3
        while box.is_checked() and time.monotonic() < deadline:
            time.sleep(0.1)
    assert not box.is_checked()


def long_run(page: Any) -> None:
    """A run of 300 steps that does not stop early."""
    page.get_by_role("button", name="Paint it").wait_for(timeout=60_000)
    wait_until_idle(page)  # a click while the first script run still draws can be lost
    page.get_by_text("Optimised from the photo (Gatys)").click()
    # The method's own steps come with the rerun the click starts: set before it lands, 300 became 40 again.
    holds(slider_named(page, "Steps per scale"), str(default_steps("content")), seconds=30)
    set_steps(page, 300)
    no_early_stop(page)
    page.get_by_role("button", name="Paint it").click()


def behind_a_long_run(browser: Any, url: str) -> tuple[Any, Any]:
    """A visitor's long run, and a second visitor who has just pressed Paint behind it.

    The second page is opened and drawn before the run starts: opened after, on a slow host its first drawing
    (beside the run) took most of the run's fair turn, and it was told only "a few seconds" (CI, 2026-11-30)."""
    first, second = browser.new_context().new_page(), browser.new_context().new_page()
    for page in (first, second):
        page.goto(url)
        page.get_by_role("button", name="Paint it").wait_for(timeout=60_000)
    wait_until_idle(second)
    long_run(first)
    first.get_by_text("s left").first.wait_for(timeout=60_000)
    second.get_by_role("button", name="Paint it").click()
    return first, second


def open_window(browser: Any, url: str, width: int, height: int) -> tuple[Any, Any]:
    """The paint page in a window of this size, settled; the page and its Paint button."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url)
    button = page.get_by_role("button", name="Paint it")
    button.wait_for(timeout=60_000)
    wait_until_idle(page)
    page.wait_for_timeout(500)
    return page, button


def in_view(locator: Any, height: int) -> bool:
    """The element's top and middle are inside a window ``height`` px tall, as it is scrolled now."""
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] / 2 <= height


SEEN_JS = r"""() => {
  window.nstSeen = [];
  const note = (text) => { if (!window.nstSeen.includes(text)) window.nstSeen.push(text); };
  new MutationObserver(() => {
    if (document.body.innerText.includes("Instant painting ready")) note("Instant painting ready");
    for (const image of document.querySelectorAll("[data-testid='stImage']")) {
      const caption = image.innerText.trim();
      if (caption === "Instant painting") note(caption);
      if (/^Step \d+$/.test(caption)) note("Step");
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


def follow_the_wait(page: Any, timeout: float = 90.0) -> tuple[list[tuple[float, float]], float]:
    """Every wait a page in line tells (when, how many s), and when its job really starts."""
    figures: list[tuple[float, float]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = page.locator("[data-testid='stMain']").inner_text()
        now = time.monotonic()
        told = told_wait(text)
        if told is not None:
            figures.append((now, told))
        elif RUNNING.search(text) and figures:
            return figures, now
        page.wait_for_timeout(100)
    raise AssertionError(f"the job did not start within {timeout:g} s; told {figures[-3:]}")


def assert_waits_held(figures: list[tuple[float, float]], started: float) -> None:
    """Every figure of at least a few seconds is within 30% of the wait that followed it."""
    checked = [(told, started - at) for at, told in figures if told > 5]
    assert checked, figures
    assert all(abs(told - real) <= 0.3 * real for told, real in checked), checked


def add_painting(page: Any, name: str) -> None:
    """Add an example painting in the "Example paintings" box (its option list opens on a click)."""
    wait_until_idle(page)
    page.locator("[data-testid='stMultiSelect']").first.click()
    page.get_by_role("option", name=name).click()
    page.keyboard.press("Escape")
    wait_until_idle(page)


def regions_canvas(page: Any) -> Any:
    """The drawing's top canvas (Fabric draws on two stacked canvases; strokes go to the upper one), with the
    broad brush."""
    page.get_by_text("Paint by region").first.click()
    canvas = page.locator("canvas.upper-canvas")
    canvas.wait_for(timeout=30_000)
    wait_until_idle(page)
    page.locator("[data-testid='stButtonGroup']").filter(has_text="Broad").get_by_text("Broad").click()
    wait_until_idle(page)
    canvas.scroll_into_view_if_needed()
    return canvas


def choose_brush(page: Any, name: str) -> None:
    """A brush from the "Brush" pills (not the painting's tag above, whose remove button has its name too)."""
    page.locator("[data-testid='stButtonGroup']").filter(has_text="Eraser").get_by_text(name).click()
    wait_until_idle(page)


def paint_strokes(page: Any, canvas: Any, left: float, right: float, finger: bool = False) -> None:
    """Fill the band from ``left`` to ``right`` (shares of the width) with sideways strokes, by mouse or by an
    emulated finger (touch events through the browser's input pipeline, as a phone's screen sends them)."""
    box = canvas.bounding_box()
    assert box is not None
    session = page.context.new_cdp_session(page) if finger else None
    for y in range(16, int(box["height"]), 40):  # the broad brush: 48 px wide, strokes 40 px apart
        points = [(box["x"] + box["width"] * share, box["y"] + y) for share in (left, (left + right) / 2, right)]
        if session is not None:
            for kind, (x, y_at) in zip(("touchStart", "touchMove", "touchMove"), points, strict=True):
                session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y_at}]})
            session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        else:
            page.mouse.move(*points[0])
            page.mouse.down()
            for point in points[1:]:
                page.mouse.move(*point, steps=4)
            page.mouse.up()
        wait_until_idle(page)


def picture(page: Any, caption: str) -> Any:
    """The pixels of the page's image whose caption starts with ``caption``, as served to the browser."""
    import io

    source = page.locator("[data-testid='stImage']").filter(has_text=caption).first.locator("img").get_attribute("src")
    data = page.request.get(source if source.startswith("http") else page.url.rstrip("/") + source).body()
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=float)
