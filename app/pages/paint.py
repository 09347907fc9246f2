"""The page "Paint a picture": a photo and paintings in, the painting forming live, the result kept."""

from __future__ import annotations

import streamlit as st

from app.form import render_controls
from app.inputs import photo_to_paint, render_inputs
from app.results import render_gallery, render_result
from app.run import run_transfer
from app.runtime import Runtime, default_model, get_runtime
from app.session import collect_interrupted_run, gallery
from nst_core.device import describe_device, describe_precision


def render_header(runtime: Runtime) -> None:
    model = default_model(runtime)
    st.title("Neural style transfer")
    st.caption(
        "Paint a photo in the manner of a painting, as Gatys, Ecker and Bethge did in 2016: the pixels are optimised "
        "so that VGG19 sees the photo's content and the painting's textures. "
        f"Running on {describe_device(runtime.device)} ({describe_precision(model.dtype)}) · {model.description} · "
        f"up to {runtime.limits.max_size} px and {runtime.limits.max_steps} steps per scale."
    )


def main() -> None:
    runtime = get_runtime()
    collect_interrupted_run(runtime)
    render_header(runtime)
    content, styles = render_inputs(runtime.limits)
    with st.form("parameters"):
        st.subheader("3 · How to paint it")
        values = render_controls(runtime.limits, [label for label, _ in styles])
        submitted = st.form_submit_button("Paint it", type="primary", width="stretch")
    photo = photo_to_paint(submitted, content)
    if photo is not None:
        run_transfer(runtime, photo, styles, values)
    entries = gallery()
    if entries:
        render_result(entries[0])
        render_gallery(entries)


main()
