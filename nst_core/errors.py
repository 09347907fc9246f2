"""The exceptions the core raises.

Every message is one sentence a visitor understands; the front-ends show it
as it is (``st.error`` on the page, ``error: ...`` in the CLI).
"""

from __future__ import annotations


class NSTError(Exception):
    """Base class of every error the core raises on purpose."""


class ImageError(NSTError, ValueError):
    """An input image is empty, damaged, not an image, too large or too thin."""


class ConfigError(NSTError, ValueError):
    """A parameter is missing, not a number, or outside its bounds."""


class WeightsError(NSTError, RuntimeError):
    """Network weights cannot be found, downloaded, read or trusted."""


class VideoError(NSTError, ValueError):
    """A video file is empty, damaged, not a video, too long or too large."""


class BusyError(NSTError, RuntimeError):
    """The device queue is full; the caller should try again later."""
