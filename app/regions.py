"""Paint by region on the page: the visitor draws where each painting goes on the photo (a brush per painting,
an eraser, undo and clear in the canvas's toolbar) or uploads masks, and sees the regions in the paintings'
colours before the run. The masks themselves are made by :mod:`nst_core.regions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st
from PIL import Image, ImageColor, ImageOps

from app.inputs import Styles, read_upload
from job_service.limits import Limits
from nst_core.errors import ConfigError, ImageError
from nst_core.images import fit_size
from nst_core.regions import Colour, load_masks, masks_from_recipe, masks_from_strokes, preview

# Streamlit's named colours, so the legend's text (":red[■]") shows the brush's own colour.
COLOURS: dict[str, str] = {"red": "#ff4b4b", "blue": "#1c83e1", "green": "#21c354", "orange": "#ffa421",
                           "violet": "#803df5", "yellow": "#faca2b"}  # fmt: skip
ERASER = "#ffffff"
ERASER_LABEL = "Eraser"
MAX_REGIONS = len(COLOURS)
CANVAS_WIDTH = 340  # px: within a phone's column (a 390 px window)
CANVAS_HEIGHT = 400  # px at most: a tall photo is drawn narrower
STROKE_OPACITY = 0.5  # the photo shows through the strokes
BRUSHES = {"Fine": 10, "Medium": 24, "Broad": 48}  # stroke width, canvas px
DRAW, UPLOAD = "Draw", "Upload masks"
KEPT = "regions_kept"  # (painting number, masks) restored by "use these settings again"
DRAWING = "regions_drawing"  # a drawing restored by "use these settings again"
Shape = Literal["photo", "clip"]  # what is painted by region: its masks must have its shape
DRAWN_ON: dict[Shape, str] = {"photo": "the photo", "clip": "the first frame"}
CANVAS_KEY = "regions_canvas_number"  # a new number is a new canvas (a restored drawing is its initial one)


@dataclass(frozen=True)
class Regions:
    """What the visitor chose: one mask per painting, or the sentence that says what is missing."""

    masks: list[Image.Image]
    problem: str | None = None
    drawing: dict[str, Any] | None = None  # the canvas's drawing, to bring back with the settings


def rgb(hex_colour: str) -> Colour:
    red, green, blue = ImageColor.getrgb(hex_colour)[:3]
    return red, green, blue


def legend(names: list[str]) -> str:
    """The paintings' names in their colours (names are plain text already)."""
    return " · ".join(f":{colour}[■] {name}" for colour, name in zip(COLOURS, names, strict=False))


def canvas_size(photo: Image.Image) -> tuple[int, int]:
    """The drawing's size on the page: the photo's shape, at most :data:`CANVAS_WIDTH` by :data:`CANVAS_HEIGHT`."""
    scale = min(CANVAS_WIDTH / photo.width, CANVAS_HEIGHT / photo.height)
    return max(1, round(photo.width * scale)), max(1, round(photo.height * scale))


def render_regions(photo: Image.Image | None, styles: Styles, limits: Limits, shape: Shape = "photo") -> Regions | None:
    """The "paint by region" switch and, when on, the drawing on ``photo`` (for a clip, its first frame: ``shape``
    says which) or the uploads, and the preview; None when off."""
    drawn_on = DRAWN_ON[shape]
    # A short label: on a phone a second line would push the button below the first screen and a half.
    if not st.toggle("Paint by region", key="regions_on",
                     help=f"Choose where each painting goes: draw over {drawn_on} with a brush per painting; the "
                     "picture stays as it is where you draw nothing. Or upload one mask per painting (white where "
                     "it goes)."):  # fmt: skip
        return None
    if photo is None or not styles:
        st.info(f"Choose a {shape} and a painting first; then draw where each painting goes.")
        return Regions([], f"Choose a {shape} and a painting first, then draw their regions.")
    if len(styles) > MAX_REGIONS:
        problem = f"Paint by region takes at most {MAX_REGIONS} paintings; {len(styles)} are chosen."
        st.error(problem)
        return Regions([], problem)
    kept = st.session_state.get(KEPT)
    sources = [DRAW, UPLOAD] + ([f"As painting #{kept[0]}"] if kept else [])
    if st.session_state.get("regions_source") not in sources:
        st.session_state["regions_source"] = DRAW
    source = st.radio("Regions from", sources, horizontal=True, key="regions_source", label_visibility="collapsed")
    names = [name for name, _ in styles]
    left, right = st.columns(2)  # on a phone: the drawing, then its preview under it
    with left:
        if source == DRAW:
            regions = _drawn(photo, names, shape, limits)
        elif source == UPLOAD:
            regions = _uploaded(photo, names, limits, shape)
        else:
            assert kept is not None  # the choice is offered only then
            regions = _checked(photo, names, kept[1], shape=shape)
    with right:
        if regions.masks and regions.problem is None:
            small = ImageOps.contain(photo, (CANVAS_WIDTH, CANVAS_HEIGHT))
            st.image(preview(small, regions.masks, [rgb(colour) for colour in COLOURS.values()]),
                     caption="What will be painted where", width="content")  # fmt: skip
            st.markdown(legend(names) + f" · {drawn_on} as it is where none is drawn")
        elif regions.problem is not None:
            st.info(regions.problem)
    return regions


def _drawn(photo: Image.Image, names: list[str], shape: Shape, limits: Limits) -> Regions:
    from streamlit_drawable_canvas import st_canvas

    brushes = [*names, ERASER_LABEL]
    if st.session_state.get("regions_brush") not in brushes:
        st.session_state["regions_brush"] = brushes[0]
    colour_of = dict(zip(names, COLOURS.values(), strict=False)) | {ERASER_LABEL: ERASER}
    named = dict(zip(names, COLOURS, strict=False))
    brush = st.pills("Brush", brushes, key="regions_brush", format_func=lambda name: (
        f":{named[name]}[■] {name}" if name in named else "▢ Eraser"))  # fmt: skip
    width = st.pills("Brush size", list(BRUSHES), key="regions_width", default="Medium") or "Medium"
    red, green, blue = rgb(colour_of[brush or brushes[0]])
    size = canvas_size(photo)
    result = st_canvas(
        fill_color="rgba(0, 0, 0, 0)",
        stroke_width=BRUSHES[width],
        stroke_color=f"rgba({red}, {green}, {blue}, {STROKE_OPACITY})",
        background_image=photo.resize(size),
        update_streamlit=True,
        width=size[0],
        height=size[1],
        drawing_mode="freedraw",
        initial_drawing=st.session_state.get(DRAWING),
        return_image_data=True,
        key=f"regions_canvas_{st.session_state.get(CANVAS_KEY, 0)}",
    )
    st.caption("Paint with a finger or the mouse; the canvas's toolbar undoes a stroke or clears them all.")
    strokes = result.image_data if result is not None else None
    drawing = result.json_data if result is not None else None
    if strokes is None or strokes.ndim != 3 or not (strokes[..., 3] > 0).any():
        return Regions([], "Draw each painting's region with its brush.", drawing)
    # At the largest size this server paints, not the upload's own (a drawing is made on every stroke's rerun).
    at = fit_size(photo.size, limits.max_size, check=False)
    masks = masks_from_strokes(strokes, [rgb(colour_of[name]) for name in names], rgb(ERASER), at)
    return _checked(photo, names, masks, drawing, shape)


def _uploaded(photo: Image.Image, names: list[str], limits: Limits, shape: Shape) -> Regions:
    files = st.file_uploader(
        f"Masks: one per painting, in their order ({', '.join(names)}); white where it goes, grey for a soft "
        f"edge, the {shape}'s shape",
        type=["png", "jpg", "jpeg", "webp", "bmp"],
        accept_multiple_files=True,
        key="regions_uploads",
    )
    if not files:
        return Regions([], f"Upload {len(names)} mask(s), one per painting.")
    try:
        masks = [read_upload(file, limits).image for file in files]
    except ImageError as error:
        return Regions([], str(error))
    return _checked(photo, names, masks, shape=shape)


def _checked(photo: Image.Image, names: list[str], masks: list[Image.Image],
             drawing: dict[str, Any] | None = None, shape: Shape = "photo") -> Regions:  # fmt: skip
    """The masks, or the sentence that names the painting without a region (or the core's sentence)."""
    try:
        return Regions(load_masks(masks, len(names), photo.size, shape), None, drawing)
    except ConfigError as error:
        message = str(error)
        for number, name in enumerate(names, start=1):  # the core numbers masks; the page names paintings
            if message.startswith(f"Mask {number} is black all over"):
                message = f"{name} has no region yet: draw one with its brush, or take it out of the paintings."
        return Regions([], message, drawing)


def restore(number: int, recipe: dict[str, Any], drawing: dict[str, Any] | None) -> None:
    """Bring a painting's regions back ("use these settings again"): its drawing on a new canvas, else its masks
    (from its recipe); a painting without regions turns paint by region off."""
    masks = masks_from_recipe(recipe)
    st.session_state["regions_on"] = bool(masks)
    if not masks:
        return
    st.session_state[KEPT] = (number, masks)
    st.session_state[DRAWING] = drawing
    st.session_state[CANVAS_KEY] = st.session_state.get(CANVAS_KEY, 0) + 1
    st.session_state["regions_source"] = DRAW if drawing else f"As painting #{number}"
