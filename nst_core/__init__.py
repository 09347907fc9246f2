"""Neural style transfer after Gatys et al. (2016): VGG features, content and Gram losses, pixels optimised.

The library never imports Streamlit, never prints and never exits; the page
(``streamlit_app.py``) and the CLI (``python -m nst_core``) are its consumers.
"""

__version__ = "0.1.0"

from .config import Limits, TransferConfig
from .errors import BusyError, ConfigError, ImageError, NSTError, WeightsError
from .images import load_image, png_bytes, read_recipe, save_png
from .transfer import Progress, TransferResult, stylize

__all__ = [
    "BusyError",
    "ConfigError",
    "ImageError",
    "Limits",
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
