"""The page's look: its one style sheet (``page.css``), a constant file never built from visitor text. (Named
theme: in this project a style is a painting.)"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

STYLE_SHEET = Path(__file__).resolve().parent / "page.css"


def apply_theme() -> None:
    """Add the style sheet to the page (Streamlit sends a style-only block without taking up room)."""
    st.html(STYLE_SHEET)
