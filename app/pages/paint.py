"""The page "Paint a picture": a photo and paintings in, the painting forming live, the result kept."""

from __future__ import annotations

import streamlit as st

from app.form import render_controls
from app.inputs import render_inputs
from app.results import render_gallery, render_result
from app.run import fair_share_rule, run_transfer
from app.runtime import Runtime, default_model, get_runtime
from app.session import collect_interrupted_run, gallery
from nst_core.device import describe_device, describe_precision


def render_header(runtime: Runtime) -> None:
    model = default_model(runtime)
    limits = runtime.limits
    st.title("Neural style transfer")
    st.caption(
        "Turn a photo into a painting in the manner of a painting you choose. A first picture comes in about a "
        "second; then, if you like, it is refined step by step while you watch. "
        f"Pictures up to {limits.max_size} px; one painting at a time on this server (others wait in line)."
    )
    with st.expander("About"):
        st.markdown(
            "The refinement is the method of Gatys, Ecker and Bethge (CVPR 2016): the picture's pixels are optimised "
            "so that a VGG19 network sees the photo's content and the painting's textures (Gram matrices). The "
            "first picture comes from a feed-forward arbitrary-style network (Ghiasi et al. 2017, Magenta). "
            f"Running on {describe_device(runtime.device)}, convolutions in {describe_precision(model.dtype)}; "
            f"{model.description}. At most {limits.max_steps} steps per scale and {limits.max_seconds:g} s per run."
        )


def main() -> None:
    runtime = get_runtime()
    collect_interrupted_run(runtime)
    render_header(runtime)
    inputs = render_inputs(runtime.limits)
    styles = inputs.styles
    with st.form("parameters"):
        st.subheader("3 · How to paint it")

        def button() -> bool:
            pressed = st.form_submit_button("Paint it", type="primary", width="stretch")
            st.caption(fair_share_rule(runtime))
            return pressed

        values, submitted = render_controls(runtime.limits, [label for label, _ in styles], button)
    photo = inputs.photo_to_paint(submitted)
    if photo is not None:
        run_transfer(runtime, photo, styles, values)
    entries = gallery()
    if entries:
        render_result(entries[0])
        render_gallery(entries)


main()
