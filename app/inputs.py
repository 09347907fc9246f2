"""The photo and painting pickers: bundled examples, uploads and the camera."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from PIL import Image, ImageOps
from streamlit.runtime.uploaded_file_manager import UploadedFile

from app.limits import Limits
from nst_core.config import MAX_STYLES
from nst_core.errors import ConfigError, ImageError
from nst_core.images import load_image

ASSETS = Path(__file__).resolve().parent.parent / "assets"
CONTENT_DIR = ASSETS / "content"
STYLE_DIR = ASSETS / "style"
UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp"]
DEFAULT_CONTENT = "tubingen.jpg"
DEFAULT_STYLE = "Starry Night"
TILE = (240, 180)  # px, the examples' thumbnails

Styles = list[tuple[str, Image.Image]]  # (label, image) per painting


@st.cache_data(show_spinner=False, max_entries=64)
def thumbnail(path: str, size: tuple[int, int] = TILE) -> Image.Image:
    """An example image cropped to a uniform tile, so the gallery lines up."""
    return ImageOps.fit(load_image(path), size)


def example_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"))


def pretty(path: Path) -> str:
    return path.stem.replace("_", " ").replace("-", " ").title()


def read_upload(upload: UploadedFile, limits: Limits) -> Image.Image:
    """An uploaded file as a checked RGB image.

    Raises:
        ImageError: too large, not an image, damaged.
    """
    max_bytes = int(limits.max_upload_mb * 1024 * 1024)
    if upload.size > max_bytes:
        raise ImageError(
            f"{upload.name} is too large ({upload.size / 1e6:.1f} MB); the limit is {limits.max_upload_mb:g} MB."
        )
    try:
        return load_image(
            upload.getvalue(),
            max_bytes=max_bytes,
            max_pixels=int(limits.max_megapixels * 1e6),
            max_side=2 * limits.max_size,
        )
    except ImageError as error:
        raise ImageError(f"{upload.name}: {error}") from None


def render_content_picker(limits: Limits) -> Image.Image | None:
    """The photo, from the examples, an upload or the camera; None until one is chosen.

    Raises:
        ImageError: the uploaded or photographed file cannot be used.
    """
    st.subheader("1 · Your photo")
    source = st.radio(
        "Photo from",
        ["Examples", "Upload", "Camera"],
        horizontal=True,
        key="content_source",
        label_visibility="collapsed",
    )
    if source == "Upload":
        upload = st.file_uploader("Upload a photo (PNG, JPEG or WebP)", type=UPLOAD_TYPES, key="content_upload")
        return read_upload(upload, limits) if upload is not None else None
    if source == "Camera":
        shot = st.camera_input("Take a photo", key="content_camera")
        return read_upload(shot, limits) if shot is not None else None
    return _example_content()


def _example_content() -> Image.Image:
    files = example_files(CONTENT_DIR)
    names = [p.name for p in files]
    choice = st.session_state.get("content_example", DEFAULT_CONTENT)
    choice = choice if choice in names else names[0]
    for column, path in zip(st.columns(len(files)), files, strict=True):
        with column:
            st.image(thumbnail(str(path)), width="stretch")
            selected = path.name == choice
            if st.button(
                ("✓ " if selected else "") + pretty(path),
                key=f"content_pick_{path.stem}",
                type="primary" if selected else "secondary",
                width="stretch",
            ):
                st.session_state["content_example"] = path.name
                st.rerun()
    return load_image(CONTENT_DIR / choice)


def render_style_picker(limits: Limits) -> Styles:
    """The paintings: examples and uploads, each with a label.

    Raises:
        ImageError: an uploaded file cannot be used.
        ConfigError: more paintings than can be blended.
    """
    st.subheader("2 · The painting(s)")
    by_label = {pretty(p): p for p in example_files(STYLE_DIR)}
    picked = st.multiselect(
        "Example paintings",
        list(by_label),
        default=[DEFAULT_STYLE] if DEFAULT_STYLE in by_label else [],
        key="style_examples",
    )
    uploads = st.file_uploader(
        "…or upload your own (several are blended)", type=UPLOAD_TYPES, accept_multiple_files=True, key="style_uploads"
    )
    styles = [(label, load_image(by_label[label])) for label in picked]
    for upload in uploads or []:
        styles.append((upload.name, read_upload(upload, limits)))
    if len(styles) > MAX_STYLES:
        raise ConfigError(f"At most {MAX_STYLES} style images can be blended; {len(styles)} were chosen.")
    if styles:
        columns = st.columns(4)
        for index, (label, image) in enumerate(styles):
            with columns[index % 4]:
                st.image(ImageOps.fit(image, TILE), caption=label, width="stretch")
    return styles


def render_inputs(limits: Limits) -> tuple[Image.Image | None, Styles]:
    """The photo beside the paintings; a file that cannot be used is said in a sentence where it was chosen."""
    left, right = st.columns(2, gap="large")
    content: Image.Image | None = None
    styles: Styles = []
    with left:
        try:
            content = render_content_picker(limits)
        except (ImageError, ConfigError) as error:
            st.error(str(error))
    with right:
        try:
            styles = render_style_picker(limits)
        except (ImageError, ConfigError) as error:
            st.error(str(error))
    return content, styles


def photo_to_paint(submitted: bool, content: Image.Image | None) -> Image.Image | None:
    """The photo once the visitor pressed the button; without one, a sentence instead."""
    if submitted and content is None:
        st.error("Choose or upload a photo first.")
    return content if submitted else None
