"""One visitor's state: the gallery of this session's paintings, the last clip, what a page keeps.

Every read and write of ``st.session_state`` for these lives here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import streamlit as st
from PIL import Image

from nst_core.images import png_bytes, resize, timelapse_gif, weaker

Toward = Literal["photo", "instant"]  # what a painting is blended with when its strength is turned down

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
    start: Image.Image | None = None  # the instant picture a refined painting started from
    drawing: dict[str, Any] | None = None  # the regions as drawn on the page, for "use these settings again"
    photo: Image.Image | None = None  # the photo at the painting's size (set by remember), for the strength
    strength: float = 1.0  # as last shown (1: as painted)
    toward: Toward = "photo"  # what a weaker painting is blended with

    def shown(self, strength: float, toward: Toward) -> Image.Image:
        """The painting at ``strength`` (1: as painted, 0: what it is blended ``toward``), without painting
        again."""
        base = self.start if toward == "instant" and self.start is not None else self.photo
        return self.image if strength >= 1 or base is None else weaker(self.image, base, strength)

    def png(self, strength: float = 1.0, toward: Toward = "photo") -> bytes:
        """The painting as shown, as PNG with its recipe (which says the strength it was blended to); encoded
        once per strength (the page reruns on every click)."""
        key = (round(strength, 3), toward if strength < 1 else "photo")
        if key not in self._pngs:
            recipe = self.recipe if strength >= 1 else {**self.recipe, "shown_strength": key[0], "blended_with": toward}
            self._pngs.clear()  # one kept: the one shown
            self._pngs[key] = png_bytes(self.shown(strength, toward), recipe)
        return self._pngs[key]

    _pngs: dict[tuple[float, str], bytes] = field(default_factory=dict, init=False, repr=False)

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
    """Keep a run in this session's gallery, with its inputs shrunk to what the page shows (and the photo at the
    painting's size, for its strength)."""
    entry.photo = resize(entry.content, entry.image.size)
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
