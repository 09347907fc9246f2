"""The demo's entry point: page settings, the start-up checks, and the pages of the navigation.

Run with ``streamlit run streamlit_app.py``. Each page is a script in
``app/pages/`` built from the modules of ``app/``; the maths is in ``nst_core``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.runtime import default_model, get_runtime
from app.theme import apply_theme
from nst_core.errors import NSTError

PAGES = Path(__file__).resolve().parent / "app" / "pages"


def main() -> None:
    st.set_page_config(page_title="Neural style transfer", page_icon="🎨", layout="wide")
    apply_theme()
    try:
        runtime = get_runtime()
        default_model(runtime)  # a bad setting or a missing weights file is said before any page
    except NSTError as error:
        st.error(f"The demo cannot start: {error}")
        return
    if runtime.note:
        st.warning(runtime.note)
    pages = [
        st.Page(PAGES / "paint.py", title="Paint a picture", icon=":material/palette:", default=True),
        st.Page(PAGES / "video.py", title="Paint a video", icon=":material/movie:"),
        st.Page(PAGES / "compare.py", title="Compare settings", icon=":material/compare:"),
    ]
    try:
        st.navigation(pages).run()
    except NSTError as error:  # the cluster stopped answering, say: a sentence, never a traceback
        st.error(str(error))


main()
