"""A real browser (Debian's chromium, driven by Playwright) against `streamlit run`.

Mandatory in CI (NST_REQUIRE_BROWSER=1); elsewhere it skips, saying why, when
no browser is installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, encode

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.e2e


def _browser_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no browser at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


@pytest.fixture(scope="module")
def browser_ready() -> None:
    reason = _browser_missing()
    if reason:
        if os.environ.get("NST_REQUIRE_BROWSER") == "1":
            pytest.fail(f"The browser test is required here, but {reason}.")
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(browser_ready) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "NST_MAX_SIZE": "96", "NST_MAX_STEPS": "4", "PYTHONUNBUFFERED": "1"}
    log = open(ROOT / "test-artifacts-server.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "streamlit_app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--server.maxUploadSize",
            "1",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail("streamlit did not answer /_stcore/health within 60 s")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
        (ROOT / "test-artifacts-server.log").unlink(missing_ok=True)


def test_upload_paint_and_see_the_result_in_a_real_browser(app_url, tmp_path, content_image, style_image):
    from playwright.sync_api import sync_playwright

    content, style = tmp_path / "photo.png", tmp_path / "painting.jpg"
    content.write_bytes(encode(content_image))
    style.write_bytes(encode(style_image, "JPEG"))
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2000})
        try:
            page.goto(app_url)
            page.get_by_text("1 · Your photo").wait_for(timeout=60_000)
            page.get_by_text("Upload", exact=True).first.click()
            uploaders = page.locator("[data-testid='stFileUploaderDropzoneInput']")
            uploaders.first.wait_for(state="attached", timeout=30_000)
            uploaders.nth(0).set_input_files(str(content))
            page.get_by_text("photo.png").wait_for(timeout=30_000)
            uploaders.nth(1).set_input_files(str(style))
            page.get_by_text("painting.jpg").first.wait_for(timeout=30_000)
            page.get_by_role("button", name="Paint it").click()
            page.get_by_role("button", name="Download PNG").wait_for(timeout=120_000)
            page.screenshot(path=str(ARTIFACTS / "e2e-result.png"), full_page=True)
            result_images = page.locator("[data-testid='stImage']")
            assert result_images.count() >= 3
            assert page.locator("[data-testid='stException']").count() == 0
            assert page.get_by_text("steps ·").count() >= 1
        finally:
            browser.close()


def test_a_bad_upload_shows_a_sentence_and_the_server_stays_up(app_url, tmp_path):
    from playwright.sync_api import sync_playwright

    fake = tmp_path / "fake.png"
    fake.write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        try:
            page.goto(app_url)
            page.get_by_text("1 · Your photo").wait_for(timeout=60_000)
            page.get_by_text("Upload", exact=True).first.click()
            uploader = page.locator("[data-testid='stFileUploaderDropzoneInput']").first
            uploader.wait_for(state="attached", timeout=30_000)
            uploader.set_input_files(str(fake))
            page.get_by_text("not an image we can read").wait_for(timeout=30_000)
            assert page.locator("[data-testid='stException']").count() == 0
        finally:
            browser.close()
    with urllib.request.urlopen(f"{app_url}/_stcore/health", timeout=5) as response:
        assert response.read() == b"ok"


def test_chromium_is_debians(browser_ready):
    assert shutil.which("chromium") == CHROMIUM or Path(CHROMIUM).exists()
