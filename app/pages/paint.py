"""The page "Paint a picture": a photo and paintings in, the painting forming live, the result kept."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from app.form import render_controls, render_method
from app.inputs import render_inputs
from app.jobs import show_fair_share_rule
from app.regions import render_regions
from app.results import render_downloads, render_gallery, render_picture
from app.run import keep_pictures, submit_picture, watch_picture
from app.runtime import Runtime, default_model, get_runtime
from app.scroll import scroll_here
from app.session import gallery, next_number
from nst_core.device import describe_device, describe_precision


def render_header(runtime: Runtime) -> None:
    st.title("Neural style transfer")
    st.caption(
        "A photo painted in the manner of a painting: a first picture in about a second, then refined while you "
        f"watch. Up to {runtime.limits.max_size} px ({runtime.limits.size_reason})."
    )


def render_about(runtime: Runtime) -> None:
    """The method and this server, at the foot of the page (read once; the button comes first)."""
    model = default_model(runtime)
    limits = runtime.limits
    with st.expander("About"):
        st.markdown(
            "The refinement is the method of Gatys, Ecker and Bethge (CVPR 2016): the picture's pixels are optimised "
            "so that a VGG19 network sees the photo's content and the painting's textures (Gram matrices). The "
            "first picture comes from a feed-forward arbitrary-style network (Ghiasi et al. 2017, Magenta). "
            + (
                f"Painted on the Ray cluster at {runtime.cluster}, by {limits.max_concurrent} painters at most. "
                if model is None
                else f"Running on {describe_device(runtime.device)}, convolutions in "
                f"{describe_precision(model.dtype)}; {model.description}. "
            )
            + f"At most {limits.max_steps} steps per scale and {limits.max_seconds:g} s per run."
        )


def main() -> None:
    runtime = get_runtime()
    keep_pictures(runtime)  # pictures finished (or stopped) since this visitor's last look
    render_header(runtime)
    inputs = render_inputs(runtime.limits)
    styles = inputs.styles
    regions = render_regions(inputs.content, styles, runtime.limits)
    entries = gallery()
    st.subheader("3 · How to paint it")
    method = render_method(runtime.limits)
    with st.form("parameters"):
        canvas: list[DeltaGenerator] = []

        def button() -> bool:
            pressed = st.form_submit_button("Paint it", type="primary", width="stretch")
            show_fair_share_rule(runtime, pressed=pressed)
            # The run paints right under the button, where the visitor is looking, and its result stays there.
            canvas.append(st.container())
            return pressed

        config, submitted = render_controls(runtime.limits, [label for label, _ in styles], button, method=method,
                                            blended=regions is None)  # fmt: skip
        with canvas[0]:
            photo = inputs.photo_to_paint(submitted)
            if photo is not None:
                scroll_here(2 * next_number())  # the forming picture comes into view as the run starts...
                submit_picture(runtime, photo, styles, config, regions)
            if not watch_picture(runtime) and entries:  # this visitor's picture job, until it is done; else the last
                scroll_here(2 * entries[0].number + 1)  # ...and the result when it ends (once: same number, same frame)
                render_picture(entries[0])
    if entries:
        render_downloads(entries[0])
        render_gallery(entries)
    render_about(runtime)


main()
