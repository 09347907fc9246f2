"""The page "Compare settings", for presenters: one picture under several optimisers, backbones or strengths."""

from __future__ import annotations

import streamlit as st

from app.comparison import (
    KEY,
    keep_comparison,
    render_comparison,
    render_dimension,
    render_values,
    submit_comparison,
    watch_comparison,
)
from app.form import DEFAULT_METHOD, render_controls, render_method
from app.inputs import render_inputs
from app.jobs import show_fair_share_rule
from app.runtime import get_runtime
from app.session import kept

COMPARISON_RULE = (
    "a turn lasts {share} s and begins the runs planned to fit it; a run under way at its end keeps its best "
    "picture, and the comparison carries on after their turn"
)


def main() -> None:
    runtime = get_runtime()
    keep_comparison(runtime)  # a comparison finished (or stopped) since this visitor's last look
    st.title("Compare settings")
    st.caption("One photo painted once per value of a setting, with loss curves and a sheet for a slide.")
    inputs = render_inputs(runtime.limits)
    styles = inputs.styles
    dimension = render_dimension()
    method = DEFAULT_METHOD if dimension == "method" else render_method(runtime.limits)
    with st.form("comparison"):
        chosen = render_values(dimension)

        def button() -> bool:
            # The button right under what is compared: on a phone the settings below stack into a long column.
            pressed = st.form_submit_button("Compare", type="primary", width="stretch")
            show_fair_share_rule(runtime, COMPARISON_RULE, pressed)
            st.subheader("3 · Everything else")
            return pressed

        config, submitted = render_controls(runtime.limits, [label for label, _ in styles], button, dimension, method)
    photo = inputs.photo_to_paint(submitted)
    if photo is not None:
        submit_comparison(runtime, photo, styles, config, dimension, chosen)
    view = kept(KEY)
    if not watch_comparison(runtime) and view is not None:
        render_comparison(view)


main()
