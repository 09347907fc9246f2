"""One visitor's state: the gallery of this session's paintings, the last clip, what a page keeps.

Every read and write of ``st.session_state`` for these lives here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import streamlit as st
from PIL import Image

from nst_core.images import png_bytes, timelapse_gif

GALLERY_SIZE = 12  # results kept per session
KEPT_SIDE = 512  # px; the gallery keeps its inputs no larger than this


@dataclass
class Entry:
    """One finished (or stopped) run, kept in this session's gallery."""

    number: int
    image: Image.Image
    content: Image.Image
    styles: list[Image.Image]
    recipe: dict[str, Any]
    seconds: float
    steps: int
    note: str
    history: list[dict[str, float]] = field(default_factory=list)  # loss-chart points
    frames: list[Image.Image] = field(default_factory=list)  # previews, for the time-lapse

    @cached_property
    def png(self) -> bytes:
        """The painting as PNG with its recipe, encoded once (the page reruns on every click)."""
        return png_bytes(self.image, self.recipe)

    @cached_property
    def timelapse(self) -> bytes:
        """The run's previews as an animated GIF, encoded once; empty when there are none."""
        return timelapse_gif([*self.frames, self.image]) if self.frames else b""


@dataclass
class VideoEntry:
    """A painted clip, kept for this session."""

    mp4: bytes
    gif: bytes | None
    frames: int
    fps: float
    width: int
    height: int
    seconds: float
    note: str


VIDEO_KEY = "video_result"  # where the last painted clip is kept


def session_id() -> str:
    """This visitor's id, made on their first script run."""
    if "session_id" not in st.session_state:
        st.session_state["session_id"] = uuid.uuid4().hex
    sid: str = st.session_state["session_id"]
    return sid


def gallery() -> list[Entry]:
    """This session's paintings, newest first."""
    if "gallery" not in st.session_state:
        st.session_state["gallery"] = []
    entries: list[Entry] = st.session_state["gallery"]
    return entries


def next_number() -> int:
    entries = gallery()
    return entries[0].number + 1 if entries else 1


def remember(entry: Entry) -> None:
    """Keep a run in this session's gallery, with its inputs shrunk to what the page shows."""
    entry.content = shrunk(entry.content)
    entry.styles = [shrunk(style) for style in entry.styles]
    entries = gallery()
    entries.insert(0, entry)
    del entries[GALLERY_SIZE:]


def shrunk(image: Image.Image, longest: int = KEPT_SIDE) -> Image.Image:
    """A copy no larger than ``longest`` px, so a session's gallery stays small in memory."""
    small = image.copy()
    small.thumbnail((longest, longest))
    return small


def keep(key: str, value: Any) -> None:
    """Keep a value for this session (a comparison, a setting restored by "use these settings again")."""
    st.session_state[key] = value


def kept(key: str) -> Any:
    """A value kept with :func:`keep`, or None."""
    return st.session_state.get(key)
