"""Neural style transfer after Gatys et al. (2016): VGG features, content and Gram losses, pixels optimised.

The library never imports Streamlit, never prints and never exits; the page
(``streamlit_app.py``) and the CLI (``python -m nst_core``) are its consumers.
"""

__version__ = "0.1.0"

from .config import Limits, TransferConfig  # noqa: E402
from .errors import BusyError, ConfigError, ImageError, NSTError, WeightsError  # noqa: E402
from .images import load_image, png_bytes, read_recipe, save_png  # noqa: E402
from .transfer import Progress, TransferResult, stylize  # noqa: E402

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
