"""Neural style transfer after Gatys et al. (2016): VGG features, content and Gram losses, pixels optimised;
and a feed-forward arbitrary-style network (Ghiasi et al., 2017) for an instant first picture.

The library never imports Streamlit, never prints and never exits; the page
(``streamlit_app.py`` and ``app/``) and the CLI (``python -m nst_core``) are its consumers.
Names are imported on first use, so ``import nst_core`` does not import torch
(the instant path never needs it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .config import TransferConfig
from .errors import BusyError, ConfigError, ImageError, NSTError, WeightsError
from .images import load_image, png_bytes, read_recipe, save_png
from .reports import Progress, TransferResult
from .version import __version__

if TYPE_CHECKING:
    from .instant import paint_instant
    from .transfer import stylize

_LAZY = {"stylize": ".transfer", "paint_instant": ".instant"}

__all__ = [
    "BusyError",
    "ConfigError",
    "ImageError",
    "NSTError",
    "Progress",
    "TransferConfig",
    "TransferResult",
    "WeightsError",
    "__version__",
    "load_image",
    "paint_instant",
    "png_bytes",
    "read_recipe",
    "save_png",
    "stylize",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
