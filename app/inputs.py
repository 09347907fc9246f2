"""The photo and painting pickers: bundled examples, uploads and the camera."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import streamlit as st
from PIL import Image, ImageOps
from streamlit.runtime.uploaded_file_manager import UploadedFile

from job_service.limits import Limits
from nst_core.config import MAX_STYLES
from nst_core.errors import ConfigError, ImageError
from nst_core.images import MIN_SIDE, fit_size, load_image, shown_size

ASSETS = Path(__file__).resolve().parent.parent / "assets"
CONTENT_DIR = ASSETS / "content"
STYLE_DIR = ASSETS / "style"
UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp", "gif", "bmp"]  # every format the core reads; a GIF's first frame
MARKDOWN = "\\`*_{}[]()<>#+-.!|~$:"  # characters Streamlit's Markdown would act on
AUTOLINKED = ".@:"  # characters an autolink needs ("www.", "x@y", "http:")
WORD_JOINER = "\u2060"  # zero width, no break: it splits an address without showing
DEFAULT_CONTENT = "tubingen.jpg"
DEFAULT_STYLE = "Starry Night"
TILE = (240, 180)  # px, a thumbnail of an upload
SMALL_TILE = (96, 72)  # px, the examples' thumbnails
ROW_TILE = 60  # px, the width they are shown at: five fit in one row of a phone

Styles = list[tuple[str, Image.Image]]  # (label, image) per painting
NO_PAINTING = "Choose at least one painting."
T = TypeVar("T")


@st.cache_data(show_spinner=False)
def credits() -> dict[str, str]:
    """``"content/tubingen.jpg"`` -> what it is and its licence and credit, from the tables of
    ``assets/SOURCES.md`` (the one list of the examples' credits; the page shows each chosen example's)."""
    found: dict[str, str] = {}
    folder = ""
    for line in (ASSETS / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            folder = line[3:].strip().rstrip("/")
        elif line.startswith("|") and folder:
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if len(cells) == 3 and cells[0] != "file" and not set(cells[0]) <= set("-: "):
                found[f"{folder}/{cells[0]}"] = f"{cells[1]} · {cells[2]}"
    return found


def credit(path: Path) -> str:
    """An example file's credit (empty if SOURCES.md has none; a test keeps every example credited)."""
    return credits().get(f"{path.parent.name}/{path.name}", "")


@st.cache_resource(show_spinner=False, max_entries=32)
def _decoded_example(path: str) -> Image.Image:
    """An example file decoded once per server, shared: never given out, only its copies."""
    return load_image(path)


def example_image(path: Path) -> Image.Image:
    """An example picture, decoded once per server (every rerun of every visitor's page shows the chosen ones);
    the caller's own copy."""
    return _decoded_example(str(path)).copy()


@st.cache_data(show_spinner=False, max_entries=64)
def thumbnail(path: str, size: tuple[int, int] = TILE) -> Image.Image:
    """An example image cropped to a uniform tile, so the gallery lines up."""
    return ImageOps.fit(_decoded_example(path), size)


def example_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"))


def pretty(path: Path) -> str:
    return path.stem.replace("_", " ").replace("-", " ").title()


def examples(folder: Path) -> dict[str, Path]:
    """The example files of a folder by the label the page shows for each."""
    return {pretty(path): path for path in example_files(folder)}


def plain(text: str) -> str:
    """Visitor text (a file's name) as plain text in Streamlit's Markdown: every active character escaped, and
    an invisible word joiner after each ``.``, ``@`` and ``:`` and inside ``www``, so that no address in it
    (``x@example.org``, ``www.example.com``, ``http://...``) is made a link (Markdown's autolinks ignore escapes)."""
    escaped = ("\\" + char if char in MARKDOWN else char for char in text)
    joined = "".join(char + WORD_JOINER if char[-1] in AUTOLINKED else char for char in escaped)
    return re.sub("(?i)w(?=ww)|(?<=w)w(?=w)", lambda w: w.group() + WORD_JOINER, joined)  # "www" starts a link too


@dataclass(frozen=True)
class Upload:
    """An uploaded picture as read (perhaps decoded smaller than the file), and the file's own size as shown."""

    image: Image.Image
    size: tuple[int, int]  # (width, height) of the file, px


def read_upload(upload: UploadedFile, limits: Limits) -> Upload:
    """An uploaded file as a checked RGB image, refused at once if it cannot be painted at any size here.

    Raises:
        ImageError: too large, not an image, damaged, too small or too thin; the file's name is plain text.
    """
    name = plain(upload.name)
    max_bytes = int(limits.max_upload_mb * 1024 * 1024)
    if upload.size > max_bytes:
        raise ImageError(f"{name} is too large ({upload.size / 1e6:.1f} MB); the limit is {limits.max_upload_mb:g} MB.")
    data = upload.getvalue()
    try:
        image = load_image(data, max_bytes=max_bytes, max_pixels=int(limits.max_megapixels * 1e6),
                           max_side=2 * limits.max_size)  # fmt: skip
        size = shown_size(data) or image.size
        shorter = min(fit_size(image.size, limits.max_size, check=False))
        if shorter < MIN_SIDE:  # too thin even at the largest size this server paints: said now, not after a click
            raise ImageError(f"This image is too thin ({size[0]}×{size[1]} px): even at this server's largest size, "
                             f"{limits.max_size} px, its shorter side would be {shorter} px, and at least "
                             f"{MIN_SIDE} px are needed. Crop it to a less elongated shape.")  # fmt: skip
        if min(image.size) < MIN_SIDE:
            raise ImageError(f"This image is only {size[0]}×{size[1]} px; use one at least {MIN_SIDE} px on each side.")
    except ImageError as error:
        raise ImageError(f"{name}: {error}") from None
    return Upload(image, size)


def show_upload(upload: Upload, name: str, max_size: int) -> None:
    """A thumbnail of what was read, with the file's own size, as soon as it is read."""
    width, height = upload.size
    painted = " · painted smaller, at the size chosen below" if max(upload.size) > max_size else ""
    st.image(ImageOps.contain(upload.image, TILE), caption=f"{name} · {width}×{height} px{painted}",
             width="content")  # fmt: skip


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
    if source == "Examples":
        return _example_content()
    if source == "Upload":
        upload = st.file_uploader(
            f"Upload a photo (PNG, JPEG, WebP, GIF or BMP, up to {limits.max_upload_mb:g} MB)",
            type=UPLOAD_TYPES,
            key="content_upload",
        )
    else:
        upload = st.camera_input("Take a photo", key="content_camera")
    if upload is None:
        return None
    read = read_upload(upload, limits)
    show_upload(read, plain(upload.name), limits.max_size)
    return read.image


def chosen_credits() -> list[str]:
    """The credits of the examples chosen in the pickers above (for a sheet that shows them), from their state."""
    chosen = []
    if st.session_state.get("content_source", "Examples") == "Examples":
        label = st.session_state.get("content_example") or pretty(CONTENT_DIR / DEFAULT_CONTENT)
        chosen.append(examples(CONTENT_DIR).get(label))
    paintings = examples(STYLE_DIR)
    chosen += [paintings.get(label) for label in st.session_state.get("style_examples", [])]
    return [credit(path) for path in chosen if path is not None and credit(path)]


def _example_content() -> Image.Image:
    """The example photos as one row of small thumbnails that wraps (columns would stack full-width on a
    phone, pushing the button screens down), chosen with a row of pills."""
    by_label = examples(CONTENT_DIR)
    # One row, even on a phone: the pills below name them, so the thumbnails need no captions of their own.
    st.image([thumbnail(str(path), SMALL_TILE) for path in by_label.values()], width=ROW_TILE)
    default = next((label for label, path in by_label.items() if path.name == DEFAULT_CONTENT), next(iter(by_label)))
    label = st.pills("Example photo", list(by_label), default=default, key="content_example",
                     label_visibility="collapsed") or default  # fmt: skip
    st.caption(credit(by_label[label]))
    return example_image(by_label[label])


def render_style_picker(limits: Limits) -> Styles:
    """The paintings: examples and uploads, each with a label.

    Raises:
        ImageError: an uploaded file cannot be used.
        ConfigError: more paintings than can be blended.
    """
    st.subheader("2 · The painting(s)")
    by_label = examples(STYLE_DIR)
    picked = st.multiselect(
        "Example paintings",
        list(by_label),
        default=[DEFAULT_STYLE] if DEFAULT_STYLE in by_label else [],
        key="style_examples",
    )
    with st.expander("…or upload your own"):  # folded: a phone reaches the button sooner
        uploads = st.file_uploader(
            f"…or upload your own (several are blended; up to {limits.max_upload_mb:g} MB each)",
            type=UPLOAD_TYPES,
            accept_multiple_files=True,
            key="style_uploads",
        )
    styles = [(label, example_image(by_label[label])) for label in picked]
    for upload in uploads or []:
        styles.append((plain(upload.name), read_upload(upload, limits).image))
    if len(styles) > MAX_STYLES:
        raise ConfigError(f"At most {MAX_STYLES} style images can be blended; {len(styles)} were chosen.")
    if styles:
        thumbnails = [ImageOps.fit(image, SMALL_TILE) for _, image in styles]
        st.image(thumbnails, caption=[label for label, _ in styles], width=SMALL_TILE[0])
    if picked:
        st.caption("; ".join(credit(by_label[label]) for label in picked))
    return styles


@dataclass
class Inputs:
    """What the pickers gave: the photo (None until one is usable), the paintings, and which refusals were
    already said (so pressing the button does not add a second sentence about the same file)."""

    content: Image.Image | None
    styles: Styles
    content_refused: bool
    styles_refused: bool
    max_upload_mb: float

    def photo_to_paint(self, submitted: bool) -> Image.Image | None:
        """The photo once the visitor pressed the button with a photo and a painting; else, one sentence that
        says what is missing (none when the pickers already said why)."""
        if not submitted:
            return None
        if self.content is None:
            if not self.content_refused:
                # Streamlit's uploader refuses a file over the server's cap by itself (its note stays under the
                # file's name, and the file never reaches us): this sentence agrees with that note.
                st.error(f"No photo to paint yet: choose an example, or upload a photo of up to "
                         f"{self.max_upload_mb:g} MB.")  # fmt: skip
            return None
        if not self.styles:
            if not self.styles_refused:
                st.error(NO_PAINTING)
            return None
        return self.content


def render_inputs(limits: Limits) -> Inputs:
    """The photo beside the paintings; a file that cannot be used is said in a sentence where it was chosen."""
    left, right = st.columns(2, gap="medium")
    with left:
        content, content_refused = _said(lambda: render_content_picker(limits), None)
    with right:
        nothing: Styles = []
        styles, styles_refused = _said(lambda: render_style_picker(limits), nothing)
    return Inputs(content, styles, content_refused, styles_refused, limits.max_upload_mb)


def _said(picker: Callable[[], T], nothing: T) -> tuple[T, bool]:
    """What a picker gave, or ``nothing`` and True once its refusal was said on the page."""
    try:
        return picker(), False
    except (ImageError, ConfigError) as error:
        st.error(str(error))
        return nothing, True
