"""Shared fixtures: the real bundled VGG19 weights and small real images."""

from __future__ import annotations

import functools
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from nst_core.backbone import FeatureExtractor, get_extractor

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
CONTENT = ASSETS / "content" / "tubingen.jpg"
STYLE = ASSETS / "style" / "starry_night.jpg"
STYLE_2 = ASSETS / "style" / "the_scream.jpg"


@pytest.fixture(scope="session", autouse=True)
def components_scanned_once() -> Iterator[None]:
    """Streamlit's ``AppTest`` looks through every installed package for page components on each new app; the
    packages do not change during the suite, so it looks once."""
    from streamlit.components.v2 import manifest_scanner

    scan = manifest_scanner.scan_component_manifests
    manifest_scanner.scan_component_manifests = functools.cache(scan)
    yield
    manifest_scanner.scan_component_manifests = scan


@pytest.fixture(scope="session")
def extractor() -> FeatureExtractor:
    """The shared CPU extractor with the original weights, loaded once."""
    return get_extractor("original", "vgg19", "cpu")


def small(path: Path, longest: int = 96) -> Image.Image:
    image = Image.open(path).convert("RGB")
    image.thumbnail((longest, longest))
    return image


@pytest.fixture(scope="session")
def content_image() -> Image.Image:
    return small(CONTENT)


@pytest.fixture(scope="session")
def style_image() -> Image.Image:
    return small(STYLE)


@pytest.fixture(scope="session")
def style_image_2() -> Image.Image:
    return small(STYLE_2)


def calls_of(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[tuple[object, ...]]:
    """The calls of ``owner.name`` from now on, as their arguments (the function itself still runs)."""
    calls: list[tuple[object, ...]] = []
    function = getattr(owner, name)

    def recorded(*args: object) -> object:
        calls.append(args)
        return function(*args)

    monkeypatch.setattr(owner, name, recorded)
    return calls


def encode(image: Image.Image, fmt: str = "PNG", **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    """The test server of the browser tests (small pictures, a short fair turn), one for the whole run: a fresh
    server's first page takes about 12 s (imports, the network, the device's probes) where a warm one's takes 3.5."""
    from tests.browser import TEST_SERVER, served

    with served(TEST_SERVER, "--server.maxUploadSize", "1") as url:
        yield url


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """End the browser the browser tests shared, if they ran (``tests.browser``)."""
    browser = sys.modules.get("tests.browser")
    if browser is not None:
        browser.close_browser()
