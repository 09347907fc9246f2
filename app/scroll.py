"""Bring a point of the page into view (Streamlit has no scroll command of its own).

A constant script in a zero-height component frame scrolls that frame, and so the
place it sits in, to the top of the window, leaving room above it for the button
the visitor just pressed. No visitor text ever reaches the script: its only
variable part is an integer, which makes each new scroll a new frame (an
identical frame is not run again on the next rerun).
"""

from __future__ import annotations

import streamlit as st

# scrollMarginTop: the room left above the place, so the button and its caption stay in view.
SCRIPT = """<script>
const frame = window.frameElement;
if (frame) {
  frame.style.scrollMarginTop = "11rem";
  frame.scrollIntoView({behavior: "smooth", block: "start"});
}
</script>
<!-- %d -->"""


def scroll_here(nonce: int) -> None:
    """Scroll the window so that this point of the page is near its top (once per distinct ``nonce``)."""
    if not isinstance(nonce, int):
        raise TypeError("the nonce is an integer, never text")
    st.iframe(SCRIPT % nonce, height=1)
