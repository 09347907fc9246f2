"""The painting with its downloads, its loss curves, and this session's gallery."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import streamlit as st

from app.form import apply_recipe, method_of
from app.regions import restore
from app.session import Entry, Toward
from nst_core.labels import label_of, short

WHOLE_STEPS = {"tickMinStep": 1, "format": "d"}  # a step axis has whole numbers only (it showed 1.2, 1.4)


def loss_chart_spec(points: list[dict[str, float]]) -> dict[str, Any]:
    """A Vega-Lite line chart of the three loss terms against the step (whole steps), log scale."""
    rows = [
        {"step": p["step"], "seconds": p["seconds"], "term": term, "loss": p[term]}
        for p in points
        for term in ("content", "style", "total")
        if p[term] > 0  # a log scale cannot show 0 (the content loss of the first step)
    ]
    return {
        "data": {"values": rows},
        "mark": {"type": "line", "point": False},
        "encoding": {
            "x": {"field": "step", "type": "quantitative", "axis": WHOLE_STEPS},
            "y": {"field": "loss", "type": "quantitative", "scale": {"type": "log"}},
            "color": {"field": "term", "type": "nominal"},
        },
        "height": 220,
    }


def strength_of(entry: Entry) -> tuple[float, Toward]:
    """The strength a painting is shown at and what it is blended with: its slider's values while they are on
    the page, then the last ones it had (kept with the painting, so its gallery tile keeps them)."""
    if f"strength_{entry.number}" in st.session_state:
        entry.strength = st.session_state[f"strength_{entry.number}"] / 100
    if f"toward_{entry.number}" in st.session_state:
        entry.toward = "instant" if st.session_state[f"toward_{entry.number}"] == TOWARD["instant"] else "photo"
    return entry.strength, entry.toward


TOWARD: dict[Toward, str] = {"photo": "the photo", "instant": "its instant picture"}


def render_strength(entry: Entry) -> None:
    """The strength of the painting, turned down after the fact (no new run): the picture above, its gallery
    tile and its download follow at once."""
    left, right = st.columns([3, 2])
    left.slider("Strength of this painting", 0, 100, round(entry.strength * 100), 5, format="%d%%",
                key=f"strength_{entry.number}",
                help="Blends the finished painting with the photo (or, for a refined painting, with the instant "
                "picture it started from), without painting again. The download is the picture as shown; its "
                "recipe says so.")  # fmt: skip
    if entry.start is not None:
        right.radio("Blended with", list(TOWARD.values()), index=list(TOWARD).index(entry.toward),
                    key=f"toward_{entry.number}", horizontal=True,
                    help="The instant picture keeps the painting's colours and strokes, only fewer of the "
                    "refinement's; the photo brings back its own detail.")  # fmt: skip


def render_picture(entry: Entry) -> None:
    """The painting beside its photo and painting; the page draws it right under its button, where the run was
    watched (it may sit in the form: images only)."""
    # The painting first (on a phone the columns stack: the result comes before its inputs), at its own size.
    columns = st.columns([2, 1, 1])
    work = "one pass" if method_of(entry.recipe) == "instant" else f"{entry.steps} steps"
    caption = f"#{entry.number} · {work} · {entry.seconds:.1f} s" + (f" · {entry.note}" if entry.note else "")
    strength, toward = strength_of(entry)
    if strength < 1:
        caption += f" · strength {strength:.0%}" + (" (with its instant picture)" if toward == "instant" else "")
    # At its own size, never wider than its column.
    columns[0].image(entry.shown(strength, toward), caption=caption, width="content")
    columns[1].image(entry.content, caption="Photo", width="stretch")
    columns[2].image(
        entry.styles[0],
        caption="Painting" if len(entry.styles) == 1 else f"Paintings (1 of {len(entry.styles)})",
        width="stretch",
    )


def render_downloads(entry: Entry) -> None:
    """The painting's downloads, "use these settings again" and its loss curves."""
    st.subheader(f"Painting #{entry.number}")
    render_strength(entry)
    buttons = st.columns(4)
    downloads: list[tuple[str, str | bytes | Callable[[], bytes], str, str]] = [
        ("Download PNG", entry.png(*strength_of(entry)), "png", "image/png"),
        ("Download recipe (JSON)", json.dumps(entry.recipe, indent=2, sort_keys=True), "json", "application/json"),
    ]
    if entry.frames:
        # Encoded when it is asked for (Streamlit calls this on the click), not with every finished picture, most
        # never downloaded (docs/design.md, "Figures behind choices in the code").
        downloads.append(("Download time-lapse (GIF)", lambda: entry.timelapse, "gif", "image/gif"))
    for button, (label, data, extension, mime) in zip(buttons, downloads, strict=False):
        button.download_button(
            label,
            data,
            file_name=f"painting-{entry.number}.{extension}",
            mime=mime,
            key=f"download_{extension}_{entry.number}",
            width="stretch",
        )
    buttons[3].button(
        "Use these settings again",
        on_click=use_again,
        args=(entry,),
        key=f"reuse_{entry.number}",
        width="stretch",
    )
    if entry.history:
        with st.expander("Loss curves"):
            st.vega_lite_chart(loss_chart_spec(entry.history), width="stretch")


def use_again(entry: Entry) -> None:
    """Put a painting's settings back into the form, and its regions back into the drawing."""
    apply_recipe(entry.recipe)
    restore(entry.number, entry.recipe, entry.drawing)


def settings(recipe: dict[str, Any]) -> str:
    """What made a painting, in a gallery's caption: only the settings its method used."""
    method = method_of(recipe)
    if method == "instant":
        return f"{label_of(method)} · {short('strength').lower()} {recipe.get('strength', 1.0):g}"
    return f"{label_of(method)} · {short('style_weight').lower()} {recipe.get('style_weight', 0):g} · " + label_of(
        recipe.get("optimizer", "")
    )


def render_gallery(entries: list[Entry]) -> None:
    """This session's earlier paintings, when there is more than one."""
    if len(entries) < 2:
        return
    st.subheader("This session's paintings")
    columns = st.columns(4)
    for index, entry in enumerate(entries):
        caption = f"#{entry.number} · {settings(entry.recipe)} · {entry.seconds:.0f} s"
        columns[index % 4].image(entry.shown(*strength_of(entry)), caption=caption, width="stretch")
