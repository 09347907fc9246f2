"""The page "Paint a video": a short clip in, every frame painted and tied to the one before, MP4 and GIF out."""

from __future__ import annotations

import streamlit as st

from app.inputs import NO_PAINTING, render_style_picker
from app.jobs import show_fair_share_rule
from app.regions import render_regions
from app.runtime import get_runtime
from app.scroll import scroll_here
from app.session import VIDEO_KEY, kept
from app.video import (
    first_frame,
    keep_clip,
    render_clip_picker,
    render_video_controls,
    render_video_result,
    submit_clip,
    watch_clip,
)
from nst_core.errors import NSTError
from nst_core.media import VideoLimits

CLIP_RULE = "a clip pauses after {share} s between two frames, and carries on after their turn"


def main() -> None:
    runtime = get_runtime()
    keep_clip(runtime)  # a clip finished (or stopped) since this visitor's last look
    st.title("Paint a video")
    st.caption("Every frame painted and tied to the one before by the clip's motion, so the strokes move with the "
               "scene instead of flickering. The sound is kept.")  # fmt: skip
    limits = VideoLimits()
    left, right = st.columns(2, gap="large")
    clip, refused = None, set()
    with left:
        try:
            clip = render_clip_picker(limits, runtime.limits.server_upload_mb)
        except NSTError as error:
            st.error(str(error))
            refused.add("clip")
    styles = []
    with right:
        try:
            styles = render_style_picker(runtime.limits)
        except NSTError as error:
            st.error(str(error))
            refused.add("styles")
    with st.form("video"):
        st.subheader("3 · How to paint it")
        # The button first: on a phone the settings below stack into a long column.
        submitted = st.form_submit_button("Paint the clip", type="primary", width="stretch")
        limit = (f"A clip is painted for at most {runtime.limits.max_seconds:g} s; the frames painted by then make "
                 "the video. ")  # fmt: skip
        show_fair_share_rule(runtime, CLIP_RULE, submitted, limit)
        controls = render_video_controls(runtime.limits.max_size, clip[1] if clip else None, limits)
    # Under the settings: on a phone the button stays within the first screen and a half.
    regions = render_regions(first_frame(clip), styles, runtime.limits, "clip")
    runs: int = st.session_state.get("video_runs", 0)
    if submitted and clip is None:
        if "clip" not in refused:  # a refusal already said why
            st.error(f"No clip to paint yet: choose the example, or upload one of up to "
                     f"{runtime.limits.server_upload_mb:g} MB.")  # fmt: skip
    elif submitted and not styles:
        if "styles" not in refused:
            st.error(NO_PAINTING)
    elif submitted and clip is not None:
        st.session_state["video_runs"] = runs = runs + 1
        scroll_here(2 * runs)  # the frames being painted come into view...
        submit_clip(runtime, clip, styles, controls, regions)
    entry = kept(VIDEO_KEY)
    if not watch_clip(runtime) and entry is not None:
        scroll_here(2 * runs + 1)  # ...and the painted clip when it is done (once: the same number, the same frame)
        render_video_result(entry)


main()
