"""Neural style transfer after Gatys et al. (2016): VGG features, content and Gram losses, pixels optimised.

The library never imports Streamlit, never prints and never exits; the page
(``streamlit_app.py`` and ``app/``) and the CLI (``python -m nst_core``) are its consumers.
"""

from .config import TransferConfig
from .errors import BusyError, ConfigError, ImageError, NSTError, WeightsError
from .images import load_image, png_bytes, read_recipe, save_png
from .reports import Progress, TransferResult
from .transfer import stylize
from .version import __version__

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
    "png_bytes",
    "read_recipe",
    "save_png",
    "stylize",
]
